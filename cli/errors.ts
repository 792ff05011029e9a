// The CLI's error types. run.ts prints any CliError as one line, `shoal: <message>`,
// and the exit status is its exitCode; anything else is a bug and gets a stack trace (exit 70).
import { status } from '@grpc/grpc-js';

export class CliError extends Error {
  override name = 'CliError';
  readonly exitCode: number = 1;
}

/** Bad input found before anything was sent to the manager. */
export class UsageError extends CliError {
  override name = 'UsageError';
}

/** The manager answered with a gRPC error; `message` is its one-line `details`. */
export class ManagerError extends CliError {
  override name = 'ManagerError';
  constructor(
    message: string,
    /** gRPC status code (`status.NOT_FOUND`, ...). */
    readonly code: number,
    /** True when asking again (or asking another manager) may succeed. */
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** No manager address answered. */
export class UnreachableError extends CliError {
  override name = 'UnreachableError';
  readonly retryable = true;
  constructor(
    readonly target: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot reach the manager at ${target} (is it running? set --host or SHOAL_HOST)`, options);
  }
}

/** An error worth asking again about later: no manager reachable, or one answered UNAVAILABLE. */
export function isRetryable(err: unknown): err is ManagerError | UnreachableError {
  return (err instanceof ManagerError || err instanceof UnreachableError) && err.retryable;
}

/** A gRPC status as one line: its details, else the code's name. */
export function statusText(code: number, details: string | undefined): string {
  const text = details || status[code] || `gRPC status ${code}`;
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
