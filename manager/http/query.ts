// Query parameters of Consul's HTTP API, each refusal naming the parameter.
import { DURATION_EXAMPLES, parseDuration } from '../../proto/duration.js';

/** Consul's defaults: a blocking query waits 5 minutes unless told, never more than 10. */
export const DEFAULT_WAIT_MS = 5 * 60_000;
export const MAX_WAIT_MS = 10 * 60_000;

export class QueryError extends Error {
  override name = 'QueryError';
}

export interface BlockingParams {
  /** undefined: not a blocking query (answer at once). */
  index: number | undefined;
  /** How long to block when `index` is given, already clamped to MAX_WAIT_MS. */
  waitMs: number;
}

/**
 * `?index=N&wait=D`. As in Consul: an empty value is no value, `wait` is checked even without
 * `index`, and a wait above 10m is clamped, not refused.
 */
export function blockingParams(q: URLSearchParams): BlockingParams {
  let waitMs = DEFAULT_WAIT_MS;
  const wait = q.get('wait');
  if (wait !== null && wait !== '') {
    const parsed = parseDuration(wait);
    if (parsed === undefined)
      throw new QueryError(`invalid wait "${wait}": expected a duration like ${DURATION_EXAMPLES}`);
    waitMs = parsed;
    // Consul: 0 means "the default", more than the maximum means the maximum.
    waitMs = waitMs <= 0 ? DEFAULT_WAIT_MS : Math.min(waitMs, MAX_WAIT_MS);
  }
  const raw = q.get('index');
  if (raw === null || raw === '') return { index: undefined, waitMs };
  if (!/^\d{1,15}$/.test(raw)) throw new QueryError(`invalid index "${raw}": expected a non-negative integer`);
  return { index: Number(raw), waitMs };
}

/** A flag such as `?passing` or `?pretty`: present without a value (or `=true`, `=1`) is on. */
export function flag(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  if (v === null) return false;
  const s = v.toLowerCase();
  if (s === '' || s === 'true' || s === '1' || s === 't') return true;
  if (s === 'false' || s === '0' || s === 'f') return false;
  throw new QueryError(`invalid ${name} "${v}": expected true or false (or no value)`);
}
