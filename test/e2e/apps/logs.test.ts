// `shoal service logs` on the 3-host bed: 6 busybox replicas (2 per host) print their
// container hostname and a counter once a second to stdout, and a line to stderr. Lines from
// all 3 hosts come back with task prefixes, stdout and stderr apart; --tail 2 gives 2 lines
// per task; -f shows lines printed after it started; with a host partitioned the command
// warns about that host, still shows the others, and returns.
import { spawn } from 'node:child_process';
import path from 'node:path';
import test from 'ava';
import {
  HOSTS,
  IMAGE,
  REPO,
  SHOAL_CERT_PATH,
  SHOAL_HOST,
  countPerHost,
  each,
  localCluster,
  localClusterOk,
  removeService,
  shoal,
  shoalOk,
  uniqueName,
  waitFor,
  waitForValue,
  waitNodesReady,
} from '../../helpers/bed.js';

const LOOP = 'i=0; while true; do i=$((i+1)); echo "$(hostname) out $i"; echo "$(hostname) err $i" >&2; sleep 1; done';
const VICTIM = HOSTS[HOSTS.length - 1]!;
/** `name.slot.taskid@host | text` */
const LINE = /^(\S+)\.(\d+)\.([0-9a-z]{12})@(\S+?)\s+\| (.*)$/;

interface Parsed {
  task: string;
  host: string;
  text: string;
}

function parse(out: string): Parsed[] {
  return out
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('warning:'))
    .map((l) => {
      const m = LINE.exec(l);
      if (!m) throw new Error(`not a log line: ${JSON.stringify(l)}`);
      return { task: `${m[2]}.${m[3]}`, host: m[4]!, text: m[5]! };
    });
}

const hostsOf = (ls: Parsed[]) => [...new Set(ls.map((l) => l.host))].sort();

const name = uniqueName('logs');

test.before(async () => {
  await waitNodesReady();
  await shoalOk(
    'service',
    'create',
    '--name',
    name,
    '--replicas',
    '6',
    '--stop-grace-period',
    '1s',
    IMAGE,
    'sh',
    '-c',
    LOOP,
  );
  await waitForValue(() => countPerHost(name), each(2), 30_000);
});

test.after.always(async () => {
  await localCluster('heal', VICTIM);
  await removeService(name).catch(() => {});
});

test.serial(
  'service logs: lines from all 3 hosts with task prefixes, stdout and stderr apart; --tail 2 is 2 lines per task',
  async (t) => {
    // Every task has printed a few lines.
    const r = await waitFor(
      async () => {
        const res = await shoalOk('service', 'logs', name);
        const out = parse(res.stdout);
        const tasks = new Set(out.map((l) => l.task));
        return tasks.size === 6 && out.length >= 12 ? res : undefined;
      },
      20_000,
      'lines from 6 tasks',
    );
    const out = parse(r.stdout);
    const err = parse(r.stderr);
    t.deepEqual(hostsOf(out), [...HOSTS], 'stdout lines from every host');
    t.deepEqual(hostsOf(err), [...HOSTS], 'stderr lines from every host');
    t.true(
      out.every((l) => / out \d+$/.test(l.text)),
      'stdout has only the stdout lines',
    );
    t.true(
      err.every((l) => / err \d+$/.test(l.text)),
      'stderr has only the stderr lines',
    );

    const tail = await shoalOk('service', 'logs', '--tail', '2', name);
    const perTask = new Map<string, number>();
    for (const l of [...parse(tail.stdout), ...parse(tail.stderr)]) perTask.set(l.task, (perTask.get(l.task) ?? 0) + 1);
    t.is(perTask.size, 6);
    t.deepEqual([...perTask.values()], [2, 2, 2, 2, 2, 2], '--tail 2: exactly 2 lines per task');

    const ts = await shoalOk('service', 'logs', '--tail', '1', '-t', '--no-task-ids', name);
    // The last line of a task may be its stderr line.
    t.regex(
      `${ts.stdout}${ts.stderr}`.split('\n')[0] ?? '',
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z \S+\.\d+@host\d\s*\| /,
    );
  },
);

test.serial('service logs -f: a line printed after it started arrives; Ctrl-C ends it with 0', async (t) => {
  const started = Date.now();
  const child = spawn(path.join(REPO, 'cli/bin/shoal'), ['service', 'logs', '-f', '--tail', '0', name], {
    env: { ...process.env, SHOAL_HOST, SHOAL_CERT_PATH },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.resume();
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  try {
    const complete = () => parse(stdout.slice(0, stdout.lastIndexOf('\n') + 1));
    const ms = await waitFor(
      () => (hostsOf(complete()).length === HOSTS.length ? Date.now() - started : undefined),
      20_000,
      'followed lines from every host',
      50,
    );
    t.log(`-f: first lines from all ${HOSTS.length} hosts ${ms} ms after starting the CLI`);
    // Then a line each task prints a second later arrives, on every host.
    const counter = (l: Parsed) => Number(/ out (\d+)$/.exec(l.text)?.[1] ?? 0);
    const seen = new Map<string, number>();
    for (const l of complete()) seen.set(l.task, Math.max(seen.get(l.task) ?? 0, counter(l)));
    const from = Date.now();
    const next = await waitFor(
      () => {
        const later = complete().filter((l) => seen.has(l.task) && counter(l) > seen.get(l.task)!);
        return hostsOf(later).length === HOSTS.length ? Date.now() - from : undefined;
      },
      5_000,
      'a newer line from every host',
      50,
    );
    t.log(`-f: the next printed line from every host arrived within ${next} ms`);
    t.true(next < 3_000, `a line printed 1 s later arrives (took ${next} ms)`);
  } finally {
    child.kill('SIGINT');
  }
  t.is(await exited, 0);
});

test.serial(
  `service logs with ${VICTIM} partitioned: one warning about it, lines from the others, and it returns`,
  async (t) => {
    await localClusterOk('partition', VICTIM);
    try {
      const started = Date.now();
      const r = await shoal('service', 'logs', '--tail', '1', name);
      const ms = Date.now() - started;
      t.log(
        `returned in ${ms} ms; stderr warnings: ${r.stderr
          .split('\n')
          .filter((l) => l.startsWith('warning'))
          .join(' / ')}`,
      );
      t.is(r.code, 0, r.stderr);
      t.true(ms < 20_000, `returned within 20 s (took ${ms} ms)`);
      const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning: incomplete log stream'));
      t.true(warnings.length >= 1 && warnings.every((w) => w.includes(VICTIM)), r.stderr);
      const others = HOSTS.filter((h) => h !== VICTIM);
      t.deepEqual(
        hostsOf(parse(`${r.stdout}${r.stderr}`)).filter((h) => h !== VICTIM),
        others,
        'lines from the other hosts',
      );
    } finally {
      await localCluster('heal', VICTIM);
    }
  },
);
