// The health events stream without an engine: a stub in place of dockerode's getEvents.
import { PassThrough } from 'node:stream';
import test from 'ava';
import type Docker from 'dockerode';
import { LABEL } from '../../../../../proto/naming.js';
import { HealthEvents } from '../../../../../agent/exec/docker/health-events.js';
import { until } from '../../../../helpers/until.js';

interface Opened {
  opts: { since?: number; filters?: unknown; abortSignal?: AbortSignal };
  stream: PassThrough;
}

/** getEvents() hands out a PassThrough the test writes engine events into. */
function stubDocker(failFirst = 0) {
  const opened: Opened[] = [];
  let failures = failFirst;
  const docker = {
    getEvents: async (opts: Opened['opts']) => {
      if (failures-- > 0) throw Object.assign(new Error('connect ENOENT /x.sock'), { code: 'ENOENT' });
      const stream = new PassThrough();
      opts.abortSignal?.addEventListener('abort', () => stream.destroy(), { once: true });
      opened.push({ opts, stream });
      return stream;
    },
  };
  return { docker: docker as unknown as Docker, opened };
}

function event(id: string, status: string, timeNano: number): string {
  return `${JSON.stringify({ status: `health_status: ${status}`, id, Type: 'container', Action: `health_status: ${status}`, Actor: { ID: id, Attributes: {} }, time: Math.floor(timeNano / 1e9), timeNano })}\n`;
}

test('one stream for all watchers, filtered to shoal containers health events; closed with the last watcher', async (t) => {
  const { docker, opened } = stubDocker();
  const ev = new HealthEvents(docker);
  const seen: string[] = [];
  const stopA = ev.watch('aaa', () => seen.push('a'));
  const stopB = ev.watch('bbb', () => seen.push('b'));
  await until(() => opened.length === 1);
  t.deepEqual(opened[0]?.opts.filters, { type: ['container'], event: ['health_status'], label: [LABEL.taskId] });
  t.true((opened[0]?.opts.since ?? 0) <= Date.now() / 1000, 'since: a moment before the watch');

  // An event split across chunks, one for another container, one not about health.
  const line = event('aaa', 'healthy', 1_700_000_000_500_000_000);
  opened[0]?.stream.write(line.slice(0, 20));
  opened[0]?.stream.write(line.slice(20) + event('ccc', 'unhealthy', 1_700_000_001e9));
  opened[0]?.stream.write(`${JSON.stringify({ Action: 'die', Actor: { ID: 'bbb' } })}\n`);
  // A last event for b: once it is seen, everything written before it was handled (in order).
  opened[0]?.stream.write(event('bbb', 'healthy', 1_700_000_002e9));
  await until(() => seen.includes('b'));
  t.deepEqual(seen, ['a', 'b'], "only each watched container's health events, each once");

  stopA();
  t.true(ev.isOpen, 'still watched by b');
  stopB();
  t.false(ev.isOpen);
  t.true(opened[0]?.opts.abortSignal?.aborted);
  t.is(ev.watching, 0);
});

test('a broken stream is reopened from the last event seen, and every watcher looks again', async (t) => {
  const { docker, opened } = stubDocker();
  const lines: string[] = [];
  const ev = new HealthEvents(docker, { log: (l) => lines.push(l) });
  let woken = 0;
  const stop = ev.watch('aaa', () => woken++);
  await until(() => opened.length === 1);
  opened[0]?.stream.write(event('aaa', 'healthy', 1_700_000_123_400_000_000));
  await until(() => woken === 1);
  opened[0]?.stream.end(); // the engine restarted
  await until(() => opened.length === 2, 'reopened');
  t.is(opened[1]?.opts.since, 1_700_000_123, 'from the last event seen (whole seconds)');
  await until(() => woken === 2, 'watchers told to look again');
  t.regex(lines.join('\n'), /health events stream: ended by the engine \(reopening in 250 ms\)/);
  stop();
});

test('an engine that is away: the stream is retried with backoff until it opens', async (t) => {
  const { docker, opened } = stubDocker(2);
  const lines: string[] = [];
  const ev = new HealthEvents(docker, { log: (l) => lines.push(l) });
  let woken = 0;
  const stop = ev.watch('aaa', () => woken++);
  await until(() => opened.length === 1, 'opened after two failures');
  t.deepEqual(
    lines.map((l) => /\(reopening in (\d+) ms\)$/.exec(l)?.[1]),
    ['250', '500'],
    'after each failure a pause, doubling from 250 ms',
  );
  await until(() => woken === 1, 'watchers told to look again');
  stop();
  t.false(ev.isOpen);
});

test('close(): the stream ends for good (idempotent); a later watch opens nothing', async (t) => {
  const { docker, opened } = stubDocker();
  const ev = new HealthEvents(docker);
  ev.watch('aaa', () => {});
  await until(() => opened.length === 1);
  await ev.close();
  await ev.close();
  t.false(ev.isOpen);
  t.true(opened[0]?.opts.abortSignal?.aborted);
  const unwatch = ev.watch('bbb', () => {});
  t.false(ev.isOpen, 'closed: the controller inspects on its own instead');
  t.is(ev.watching, 0);
  unwatch();
  t.is(opened.length, 1);
});
