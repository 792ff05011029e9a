// Prints the top self-time functions (and files) of a V8 .cpuprofile (node --cpu-prof).
//
//   node --import=tsx bench/cpuprofile-top.ts FILE.cpuprofile [--top 25] [--from S] [--to S] [--timeline]
//
// --from/--to keep only the samples taken that many seconds after the profile began (e.g.
// the placement window, without start-up and shutdown); --timeline prints how busy (not
// idle) each 2 s of the profile was, to find that window.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const { values, positionals } = parseArgs({
  options: {
    top: { type: 'string', default: '25' },
    from: { type: 'string', default: '0' },
    to: { type: 'string', default: '' },
    timeline: { type: 'boolean', default: false },
  },
  allowPositionals: true,
});
const file = positionals[0];
if (!file) {
  process.stderr.write('usage: cpuprofile-top.ts FILE.cpuprofile [--top N]\n');
  process.exit(2);
}
const top = Number(values.top);
const prof = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const byId = new Map<number, ProfileNode>();
for (const n of prof.nodes) byId.set(n.id, n);
const fromUs = Number(values.from) * 1e6;
const toUs = values.to ? Number(values.to) * 1e6 : Infinity;
const selfUs = new Map<number, number>();
const BUCKET_US = 2e6;
const busyByBucket: number[] = [];
let at = 0;
let total = 0;
for (let i = 0; i < prof.samples.length; i++) {
  const id = prof.samples[i]!;
  const dt = prof.timeDeltas[i] ?? 0;
  at += dt;
  const b = Math.floor(at / BUCKET_US);
  if (byId.get(id)?.callFrame.functionName !== '(idle)') busyByBucket[b] = (busyByBucket[b] ?? 0) + dt;
  if (at < fromUs || at >= toUs) continue;
  total += dt;
  selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
}
if (values.timeline) {
  process.stdout.write('busy per 2 s since the profile began:\n');
  for (let b = 0; b * BUCKET_US < at; b++)
    process.stdout.write(
      `${String(b * 2).padStart(5)} s ${'#'.repeat(Math.round((50 * (busyByBucket[b] ?? 0)) / BUCKET_US))} ${Math.round((100 * (busyByBucket[b] ?? 0)) / BUCKET_US)} %\n`,
    );
  process.stdout.write('\n');
}

function short(url: string): string {
  const i = url.indexOf('/work/main/');
  if (i >= 0) return url.slice(i + '/work/main/'.length);
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm);
  return url.replace(/^file:\/\//, '') || '(native)';
}

const byFn = new Map<string, number>();
const byFile = new Map<string, number>();
for (const [id, us] of selfUs) {
  const n = byId.get(id)!;
  const f = n.callFrame;
  const where = short(f.url);
  const key = `${f.functionName || '(anonymous)'}  ${where}${f.url ? `:${f.lineNumber + 1}` : ''}`;
  byFn.set(key, (byFn.get(key) ?? 0) + us);
  const pkg = where.startsWith('node_modules/')
    ? where
        .split('/')
        .slice(0, where.startsWith('node_modules/@') ? 3 : 2)
        .join('/')
    : where;
  byFile.set(pkg, (byFile.get(pkg) ?? 0) + us);
}

const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)} %`;
const ms = (us: number) => `${(us / 1000).toFixed(0).padStart(7)} ms`;
process.stdout.write(
  `${file}: ${(total / 1e6).toFixed(1)} s profiled, ${prof.samples.length} samples\n\ntop self time by function:\n`,
);
for (const [k, us] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top))
  process.stdout.write(`${pct(us)} ${ms(us)}  ${k}\n`);
process.stdout.write('\ntop self time by file / package:\n');
for (const [k, us] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, Math.min(15, top)))
  process.stdout.write(`${pct(us)} ${ms(us)}  ${k}\n`);
