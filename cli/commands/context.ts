// What a command gets to run: the manager API and its outputs (so tests can fake them).
import type { ControlApi } from '../client.js';
import { ManagerError } from '../errors.js';

export interface CommandContext {
  api: ControlApi;
  /** One line (or block) to stdout. */
  out: (text: string) => void;
  /** One line to stderr. */
  err: (text: string) => void;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Aborted on Ctrl-C / SIGTERM for commands that end cleanly on them (`events`). */
  signal: AbortSignal;
}

/** Exit status of a command that ran: 0, or 1 when some of its arguments failed. */
export type ExitCode = 0 | 1;

/**
 * Runs `fn` for each ref, like docker's multi-argument commands: a ref the manager refuses
 * (not found, ...) is reported as `shoal: <details>` and the others still run. Anything
 * else (manager unreachable, a bug) stops at once. Returns the results that succeeded.
 */
export async function forEachRef<T>(
  refs: readonly string[],
  ctx: CommandContext,
  fn: (ref: string) => Promise<T>,
): Promise<{ results: T[]; failed: number }> {
  const results: T[] = [];
  let failed = 0;
  for (const ref of refs) {
    try {
      results.push(await fn(ref));
    } catch (err) {
      if (!(err instanceof ManagerError) || err.retryable) throw err;
      ctx.err(`shoal: ${err.message}`);
      failed++;
    }
  }
  return { results, failed };
}
