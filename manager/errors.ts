// Errors the manager returns over gRPC: a status code and a one-line message for users,
// the error that caused it (`cause`) and whether the same call may work later
// (`retryable`), like the store's errors (store/store.ts) and the agent's executor errors.
// Anything a handler throws is converted once, at the boundary (toServiceError).
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';

export interface ApiErrorOptions {
  cause?: unknown;
  /** The same call may work later; default: true for UNAVAILABLE only. */
  retryable?: boolean;
}

export class ApiError extends Error {
  override name = 'ApiError';
  readonly retryable: boolean;
  constructor(
    readonly code: status,
    message: string,
    options: ApiErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.retryable = options.retryable ?? code === status.UNAVAILABLE;
  }

  /**
   * What a handler threw, as an ApiError: itself, or INTERNAL with the original as its
   * cause (its message kept, its `retryable` marker too when it has one).
   */
  static from(err: unknown): ApiError {
    if (err instanceof ApiError) return err;
    const message = err instanceof Error ? err.message : String(err);
    const retryable = (err as { retryable?: unknown } | null)?.retryable === true;
    return new ApiError(status.INTERNAL, `internal error: ${message}`, { cause: err, retryable });
  }
}

export const invalidArgument = (m: string, o?: ApiErrorOptions) => new ApiError(status.INVALID_ARGUMENT, m, o);
export const notFound = (m: string, o?: ApiErrorOptions) => new ApiError(status.NOT_FOUND, m, o);
export const alreadyExists = (m: string, o?: ApiErrorOptions) => new ApiError(status.ALREADY_EXISTS, m, o);
export const failedPrecondition = (m: string, o?: ApiErrorOptions) => new ApiError(status.FAILED_PRECONDITION, m, o);
export const unauthenticated = (m: string, o?: ApiErrorOptions) => new ApiError(status.UNAUTHENTICATED, m, o);
export const unimplemented = (m: string, o?: ApiErrorOptions) => new ApiError(status.UNIMPLEMENTED, m, o);
export const unavailable = (m: string, o?: ApiErrorOptions) => new ApiError(status.UNAVAILABLE, m, o);

/** Converts anything thrown in a handler into a gRPC status (internal errors keep their message). */
export function toServiceError(err: unknown): Partial<ServiceError> {
  const e = ApiError.from(err);
  return { code: e.code, details: e.message, metadata: new Metadata() };
}

/** Wraps an async unary handler into grpc-js's callback form. */
export function unary<Req, Res>(fn: (req: Req, peer: string) => Promise<Res>) {
  return (
    call: { request: Req; getPeer(): string },
    callback: (err: Partial<ServiceError> | null, res?: Res) => void,
  ) => {
    fn(call.request, call.getPeer()).then(
      (res) => callback(null, res),
      (err) => callback(toServiceError(err)),
    );
  };
}

/** A unary handler for a method that this manager does not serve yet. */
export function notServed(method: string) {
  return unary(async (): Promise<never> => {
    throw unimplemented(`${method} is not served by this manager`);
  });
}
