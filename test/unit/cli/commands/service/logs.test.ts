// cli/commands/service/logs.ts: flags, the docker-like prefix, and the stream through the real
// cli/bin/shoal against the fake Control service (stdout/stderr split, warnings, -f and Ctrl-C).
import test from 'ava';
import { LogStream, type ServiceLogsMessage } from '../../../../../proto/gen/shoal.js';
import { LogPrinter, serviceLogs } from '../../../../../cli/commands/service/logs.js';
import { NODE1, startFake } from '../../../../helpers/fake-control.js';
import { lines, parseAs, RunningShoal, shoal, usageError } from '../../../../helpers/run-shoal.js';

const TASK2 = 'k3j5x8q1m0abcdefghijklmnop';
const TASK10 = 'zz9yy8xx7ww6vv5uu4tt3ss2rr';

function msg(sources: Array<[string, number, string]>, ls: Array<[string, LogStream, string]>): ServiceLogsMessage {
  return {
    sources: sources.map(([taskId, slot, host]) => ({
      taskId,
      serviceName: 'web',
      slot,
      nodeId: `id-${host}`,
      nodeHostname: host,
    })),
    lines: ls.map(([taskId, stream, text]) => ({
      taskId,
      stream,
      timestamp: '2026-12-07T16:00:00.123456789Z',
      data: Buffer.from(text),
    })),
    warning: '',
  };
}

test('flags: -f, --tail N|all, --since duration|time, -t, --no-task-ids, --no-trunc, --raw', (t) => {
  const o = parseAs(serviceLogs, [
    'service',
    'logs',
    '-f',
    '--tail',
    '2',
    '--since',
    '10m',
    '-t',
    '--no-task-ids',
    'web',
  ]);
  t.is(o.ref, 'web');
  t.true(o.follow);
  t.is(o.tail, 2);
  t.is(o.since, '10m');
  t.deepEqual(o.format, { timestamps: true, taskIds: false, noTrunc: false, raw: false });
  t.is(parseAs(serviceLogs, ['service', 'logs', 'web']).tail, -1, 'default: all');
  t.is(parseAs(serviceLogs, ['service', 'logs', '--tail', 'all', 'web']).tail, -1);
  t.is(
    parseAs(serviceLogs, ['service', 'logs', '--since', '2026-12-07T16:00:00Z', 'web']).since,
    '2026-12-07T16:00:00Z',
  );
  t.regex(usageError(['service', 'logs', '--tail', 'x', 'web']), /^invalid --tail "x": expected a number of lines/);
  t.regex(usageError(['service', 'logs', '--tail', '-3', 'web']), /invalid --tail/);
  t.regex(
    usageError(['service', 'logs', '--since', 'yesterday', 'web']),
    /^invalid --since "yesterday": expected a duration/,
  );
  t.is(usageError(['service', 'logs']), 'service logs requires exactly one SERVICE or TASK');
  t.is(usageError(['service', 'logs', 'a', 'b']), 'service logs requires exactly one SERVICE or TASK');
});

test('prefix like docker: service.slot.taskid@host, padded to the widest; --no-task-ids, --no-trunc, --raw, -t', (t) => {
  const m = msg(
    [
      [TASK2, 2, 'host3'],
      [TASK10, 10, 'host1'],
    ],
    [
      [TASK2, LogStream.STDOUT, 'hello'],
      [TASK10, LogStream.STDERR, 'oops'],
    ],
  );
  const fmt = { timestamps: false, taskIds: true, noTrunc: false, raw: false };
  t.deepEqual(new LogPrinter(fmt).render(m), [
    [LogStream.STDOUT, 'web.2.k3j5x8q1m0ab@host3  | hello'],
    [LogStream.STDERR, 'web.10.zz9yy8xx7ww6@host1 | oops'],
  ]);
  t.deepEqual(new LogPrinter({ ...fmt, taskIds: false }).render(m)[0], [LogStream.STDOUT, 'web.2@host3  | hello']);
  t.deepEqual(new LogPrinter({ ...fmt, noTrunc: true }).render(m)[0]?.[1], `web.2.${TASK2}@host3  | hello`);
  t.deepEqual(new LogPrinter({ ...fmt, raw: true }).render(m)[1], [LogStream.STDERR, 'oops']);
  t.is(
    new LogPrinter({ ...fmt, taskIds: false, timestamps: true }).render(m)[0]?.[1],
    '2026-12-07T16:00:00.123456789Z web.2@host3  | hello',
  );
  const warn = new LogPrinter(fmt).render({
    lines: [],
    sources: [],
    warning: 'warning: incomplete log stream: node host3 is down',
  });
  t.deepEqual(warn, [[LogStream.STDERR, 'warning: incomplete log stream: node host3 is down']]);
});

// ------------------------------------------------------------------ through shoal

test('service logs: stdout lines to stdout, stderr lines and warnings to stderr; the request carries the flags', async (t) => {
  const { fake, host } = await startFake(t, [NODE1]);
  fake.logMessages = [
    msg([[TASK2, 2, 'host3']], [[TASK2, LogStream.STDOUT, 'line 1']]),
    { lines: [], sources: [], warning: 'warning: incomplete log stream: node host2 is down' },
    msg(
      [],
      [
        [TASK2, LogStream.STDERR, 'err 1'],
        [TASK2, LogStream.STDOUT, 'line 2'],
      ],
    ),
  ];
  const r = await shoal(['service', 'logs', '--no-task-ids', '--tail', '5', 'web'], host);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(lines(r.stdout), ['web.2@host3 | line 1', 'web.2@host3 | line 2']);
  t.deepEqual(lines(r.stderr), ['warning: incomplete log stream: node host2 is down', 'web.2@host3 | err 1']);
  t.deepEqual(fake.calls, [
    {
      method: 'serviceLogs',
      request: { ref: 'web', options: { follow: false, tail: 5, sinceMs: 0, timestamps: false } },
    },
  ]);
});

test('service logs --since 10m asks from ten minutes ago; a manager error is one line, exit 1', async (t) => {
  const { fake, host } = await startFake(t, [NODE1]);
  const before = Date.now();
  await shoal(['service', 'logs', '--since', '10m', 'web'], host);
  const req = fake.calls[0]?.request as { options: { sinceMs: number } };
  t.true(Math.abs(req.options.sinceMs - (before - 600_000)) < 5_000, String(req.options.sinceMs));
  fake.failNext('serviceLogs', { code: 5, details: 'no such service or task: nope' }, 1);
  const r = await shoal(['service', 'logs', 'nope'], host);
  t.is(r.code, 1);
  t.is(r.stderr, 'shoal: no such service or task: nope\n');
});

test('service logs -f: lines as they come, Ctrl-C ends it with 0 and cancels the stream', async (t) => {
  const { fake, host } = await startFake(t, [NODE1]);
  fake.logsHold = true;
  fake.logMessages = [msg([[TASK2, 2, 'host3']], [[TASK2, LogStream.STDOUT, 'tick 1']])];
  const run = new RunningShoal(['service', 'logs', '-f', 'web'], host);
  await run.until((out) => out.includes('tick 1'));
  run.kill('SIGINT');
  const r = await run.done;
  t.is(r.code, 0, r.stderr);
  t.deepEqual(lines(r.stdout), ['web.2.k3j5x8q1m0ab@host3 | tick 1']);
  for (let i = 0; i < 50 && !fake.calls.some((c) => c.method === 'serviceLogs:cancelled'); i++)
    await new Promise((res) => setTimeout(res, 20));
  t.true(fake.calls.some((c) => c.method === 'serviceLogs:cancelled'));
});
