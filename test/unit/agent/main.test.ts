// agent/bin/shoal-agent as a process: flags and signals. (With a Docker engine, the process
// test that runs tasks is in exec/docker/executor.test.ts: one file per engine, run serially.)
import test from 'ava';
import { spawnAgent as agent } from '../../helpers/agent-support.js';
import { until } from '../../helpers/until.js';

test('bad flags: one line on stderr, exit 1', async (t) => {
  for (const args of [['--bogus'], ['--join-token', 'x'], ['--manager', 'nope', '--join-token', 'x']]) {
    const p = agent(t, args);
    t.is(await p.exit, 1, args.join(' '));
    t.regex(p.err(), /^shoal-agent: [^\n]+\n$/, args.join(' '));
  }
});

test('--help prints usage and exits 0', async (t) => {
  const p = agent(t, ['--help']);
  t.is(await p.exit, 0);
  t.regex(p.out(), /^usage: shoal-agent --manager/);
});

test('SIGTERM stops it with exit 0, even while no manager answers its join', async (t) => {
  const p = agent(t, [
    '--manager',
    '127.0.0.1:1',
    '--join-token',
    `SHOAL-1-${'a'.repeat(50)}-${'b'.repeat(25)}`,
    '--docker-host',
    'unix:///nonexistent/docker.sock',
  ]);
  await until(() => p.out().includes('cannot fetch the CA'), 'agent trying to join');
  p.child.kill('SIGTERM');
  t.is(await p.exit, 0);
  t.regex(p.out(), /SIGTERM, stopping/);
});
