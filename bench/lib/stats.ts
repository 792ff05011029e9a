// Figures for the benchmarks' tables: percentiles, medians and units.

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

export function median(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const fmtS = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
export const fmtMiB = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
