// Typed executor errors. Each executor converts its engine's errors into these once, in its
// adapter, so the task runner decides on `retryable` and `name`, never on engine details.

export interface ExecErrorOptions {
  cause?: unknown;
  retryable?: boolean;
}

export class ExecError extends Error {
  override name = 'ExecError';
  readonly retryable: boolean;
  constructor(message: string, options: ExecErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.retryable = options.retryable ?? false;
  }
}

/** The container (or image) asked for does not exist. */
export class NotFoundError extends ExecError {
  override name = 'NotFoundError';
}

/** The image cannot be pulled or is invalid: the task cannot run on this node. */
export class ImageError extends ExecError {
  override name = 'ImageError';
}

/** The engine refused because of a conflicting object (name in use, removal in progress). */
export class ConflictError extends ExecError {
  override name = 'ConflictError';
}

/** The engine cannot be reached right now; the same call may work later. */
export class UnavailableError extends ExecError {
  override name = 'UnavailableError';
  constructor(message: string, options: ExecErrorOptions = {}) {
    super(message, { ...options, retryable: true });
  }
}

/** The work was abandoned because its AbortSignal fired. */
export class AbortedError extends ExecError {
  override name = 'AbortedError';
}

export function isRetryable(err: unknown): boolean {
  return err instanceof ExecError && err.retryable;
}

/** One line for a report or a log: the message, without stack. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
