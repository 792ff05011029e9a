// `service logs` options, checked the same way by the CLI (its flags) and the manager (the
// request): --tail N|all and --since DURATION|TIMESTAMP, as docker takes them.
import type { LogOptions } from './gen/shoal.js';
import { DURATION_EXAMPLES, parseDuration } from './duration.js';
import { InputError } from './spec-rules.js';

/** Lines per task from the end, at most (docker has no bound; a few MB per task at most). */
export const MAX_LOG_TAIL = 100_000;

/** `LogOptions.tail` for "every line". */
export const TAIL_ALL = -1;

/** Refuses options outside their ranges (one line naming the flag). */
export function checkLogOptions(o: Pick<LogOptions, 'tail' | 'sinceMs'>, now: number): void {
  if (!Number.isSafeInteger(o.tail) || o.tail < TAIL_ALL || o.tail > MAX_LOG_TAIL)
    throw new InputError(`invalid --tail ${o.tail}: expected a number of lines from 0 to ${MAX_LOG_TAIL}, or all`);
  if (!Number.isSafeInteger(o.sinceMs) || o.sinceMs < 0)
    throw new InputError(`invalid --since: expected a time after 1970, got ${o.sinceMs} ms`);
  if (o.sinceMs > now + 60_000)
    throw new InputError(`invalid --since: ${new Date(o.sinceMs).toISOString()} is in the future`);
}

/** `--tail all|N` -> LogOptions.tail. */
export function parseTail(text: string): number {
  if (text === 'all') return TAIL_ALL;
  if (!/^\d{1,9}$/.test(text) || Number(text) > MAX_LOG_TAIL)
    throw new InputError(`invalid --tail "${text}": expected a number of lines from 0 to ${MAX_LOG_TAIL}, or all`);
  return Number(text);
}

/**
 * `--since 10m` (that long before `now`) or `--since 2026-12-07T16:00:00Z` (RFC 3339, a date
 * alone is midnight UTC) -> milliseconds since the epoch.
 */
export function parseSince(text: string, now: number): number {
  const d = parseDuration(text);
  if (d !== undefined) return Math.max(0, now - d);
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/.test(text)) {
    const dateOnly = text.length === 10;
    const ms = Date.parse(dateOnly ? `${text}T00:00:00Z` : text);
    if (Number.isFinite(ms) && ms >= 0) return ms;
  }
  throw new InputError(
    `invalid --since "${text}": expected a duration like ${DURATION_EXAMPLES} or a time like 2026-12-07T16:00:00Z`,
  );
}
