// dockerode / Docker Engine errors -> agent/exec/errors.ts, converted once, here.
import { AbortedError, ConflictError, ExecError, ImageError, NotFoundError, UnavailableError } from '../errors.js';

/** Socket-level failures: the engine is restarting or not there yet; try again later. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EAGAIN', 'EHOSTUNREACH']);

interface DockerodeError {
  name?: string;
  code?: string;
  statusCode?: number;
  json?: unknown;
  message?: string;
}

/** The engine's own message ("No such container: ..."), without dockerode's prefix. */
export function dockerMessage(err: unknown): string {
  const e = (err ?? {}) as DockerodeError;
  const json = e.json;
  if (json !== null && typeof json === 'object' && 'message' in json && typeof json.message === 'string') {
    return json.message.trim();
  }
  if (typeof json === 'string' && json.trim() !== '') return json.trim();
  const msg = e.message ?? String(err);
  // "(HTTP code 404) no such container - No such container: abc "
  const m = /^\(HTTP code \d+\) [^-]*- (.*)$/s.exec(msg);
  return (m?.[1] ?? msg).trim();
}

/** `what` names the operation, e.g. `start container 3f2a1b`. */
export function fromDocker(err: unknown, what: string): ExecError {
  if (err instanceof ExecError) return err;
  const e = (err ?? {}) as DockerodeError;
  const cause = err;
  if (e.name === 'AbortError' || e.code === 'ABORT_ERR') return new AbortedError(`${what}: aborted`, { cause });
  if ((e.code !== undefined && UNREACHABLE.has(e.code)) || /socket hang up/i.test(e.message ?? '')) {
    return new UnavailableError(`${what}: docker engine unreachable (${e.code ?? 'socket hang up'})`, { cause });
  }
  const msg = `${what}: ${dockerMessage(err)}`;
  switch (e.statusCode) {
    case 404:
      return new NotFoundError(msg, { cause });
    case 409:
      return new ConflictError(msg, { cause });
    case 503:
      return new UnavailableError(msg, { cause });
    default:
      return new ExecError(msg, { cause });
  }
}

/** A failed pull: the image cannot be had (not found, registry down, ...) unless the engine is away. */
export function fromPull(err: unknown, image: string): ExecError {
  const e = fromDocker(err, `image "${image}"`);
  if (e.retryable || e instanceof AbortedError) return e;
  return new ImageError(e.message, { cause: err });
}

/** Docker answers 304 when a container is already started / stopped. */
export function isNotModified(err: unknown): boolean {
  return (err as DockerodeError | undefined)?.statusCode === 304;
}

export function isNotFound(err: unknown): boolean {
  return (err as DockerodeError | undefined)?.statusCode === 404;
}
