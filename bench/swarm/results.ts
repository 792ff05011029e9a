// The Swarm benchmark's figures: per case and column (lower bound, shoal, Swarm), every
// run's time; the markdown table of medians and ratios that bench/README.md quotes.
import { median } from '../lib/stats.js';

export type CaseName = 'deploy' | 'scale' | 'recovery' | 'heal';
export type Column = 'lower' | 'lowerNet' | 'shoal' | 'swarm';
export type Results = Record<Column, Record<CaseName, number[]>>;

export function emptyResults(): Results {
  return {
    lower: { deploy: [], scale: [], recovery: [], heal: [] },
    lowerNet: { deploy: [], scale: [], recovery: [], heal: [] },
    shoal: { deploy: [], scale: [], recovery: [], heal: [] },
    swarm: { deploy: [], scale: [], recovery: [], heal: [] },
  };
}

export const sec = (ms: number | undefined) => (ms === undefined ? '—' : `${(ms / 1000).toFixed(2)} s`);
const cell = (xs: number[]) =>
  xs.length === 0 ? '—' : `${sec(median(xs))} (${xs.map((x) => (x / 1000).toFixed(2)).join(', ')})`;
const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? '—' : (a / b).toFixed(2);

/** The markdown table: per case, the median of each column (with every run) and the ratios. */
export function resultsTable(results: Results, replicas: number, victim: string): string {
  const rows: Array<[string, CaseName]> = [
    [`deploy: create --replicas ${replicas} -> ${replicas} running`, 'deploy'],
    [`scale ${replicas} -> ${2 * replicas}`, 'scale'],
    [`recovery: partition ${victim} -> ${2 * replicas} running on the others`, 'recovery'],
    [`after heal: back to exactly ${2 * replicas} (stale copies gone)`, 'heal'],
  ];
  const out = [
    "| case | lower bound | shoal | Swarm | shoal/Swarm | shoal/lower bound | lower bound on shoal's network | shoal/that |",
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const [title, c] of rows) {
    const lo = median(results.lower[c]);
    const ln = median(results.lowerNet[c]);
    const sh = median(results.shoal[c]);
    const sw = median(results.swarm[c]);
    out.push(
      `| ${title} | ${cell(results.lower[c])} | ${cell(results.shoal[c])} | ${cell(results.swarm[c])} | ${ratio(sh, sw)} | ${ratio(sh, lo)} ` +
        `| ${cell(results.lowerNet[c])} | ${ratio(sh, ln)} |`,
    );
  }
  return out.join('\n');
}
