// Durations as docker and Go write them: "500ms", "10s", "1m30s", "1.5h", "0". The one
// parser behind the CLI's flags, the manager's flags and the HTTP API's ?wait=, so every
// side accepts exactly the same text. Callers name the flag or field in their message.

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};

/** What a refusal shows as examples: "expected a duration like 10s, 500ms or 1m30s". */
export const DURATION_EXAMPLES = '10s, 500ms or 1m30s';

/**
 * Milliseconds (rounded) from a Go-style duration: one or more NUMBER+UNIT parts with units
 * ns, us, µs, ms, s, m, h, and a bare "0". No sign, no spaces. Undefined when `text` is not
 * of that shape.
 */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const part = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  while (pos < text.length) {
    part.lastIndex = pos;
    const m = part.exec(text);
    if (!m) return undefined;
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? Number.NaN);
    pos = part.lastIndex;
  }
  if (pos === 0 || !Number.isFinite(total)) return undefined;
  return Math.round(total);
}

/** A whole number of milliseconds as a Go duration the parser reads back: 2160h, 1m, 90s, 250ms. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const)
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}
