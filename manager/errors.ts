// Errors the manager returns over gRPC: a status code and a one-line message for users.
import { status, type ServiceError } from '@grpc/grpc-js';
import { Metadata } from '@grpc/grpc-js';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
  }
}

export const invalidArgument = (m: string) => new ApiError(status.INVALID_ARGUMENT, m);
export const notFound = (m: string) => new ApiError(status.NOT_FOUND, m);
export const alreadyExists = (m: string) => new ApiError(status.ALREADY_EXISTS, m);
export const failedPrecondition = (m: string) => new ApiError(status.FAILED_PRECONDITION, m);
export const unauthenticated = (m: string) => new ApiError(status.UNAUTHENTICATED, m);
export const unavailable = (m: string) => new ApiError(status.UNAVAILABLE, m);

/** Converts anything thrown in a handler into a gRPC status (internal errors keep their message). */
export function toServiceError(err: unknown): Partial<ServiceError> {
  if (err instanceof ApiError) return { code: err.code, details: err.message, metadata: new Metadata() };
  const message = err instanceof Error ? err.message : String(err);
  return { code: status.INTERNAL, details: `internal error: ${message}`, metadata: new Metadata() };
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
