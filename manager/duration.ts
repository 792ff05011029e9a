// "1s", "500ms", "1m30s" -> milliseconds.
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

export function parseDuration(text: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (const m of text.matchAll(re)) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    matched += m[0].length;
  }
  if (matched === 0 || matched !== text.length) throw new Error(`invalid duration "${text}" (e.g. 500ms, 1s, 1m30s)`);
  return Math.round(total);
}
