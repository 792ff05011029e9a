// agent/bin/shoal-agent as a process: flags, signals, node id kept in --state-dir, and (with
// SHOAL_TEST_DOCKER_HOST) a restart that adopts its containers.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import Docker from 'dockerode';
import { AssignmentsMessage_Kind, TaskState } from '../../../proto/gen/shoal.js';
import { LABEL, newId } from '../../../proto/naming.js';
import { dockerSocketPath } from '../../../agent/config.js';
import { FakeDispatcher } from './_fake-dispatcher.js';
import { makeTask, until, withDesired } from './_support.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../agent/bin/shoal-agent');
const dockerHost = process.env.SHOAL_TEST_DOCKER_HOST;
const IMAGE = process.env.SHOAL_TEST_IMAGE ?? 'shoal-test/busybox:latest';

interface Proc {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exit: Promise<number | null>;
}

function agent(args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out: () => out, err: () => err, exit };
}

test('bad flags: one line on stderr, exit 1', async (t) => {
  for (const args of [['--bogus'], ['--join-token', 'x'], ['--manager', 'nope', '--join-token', 'x']]) {
    const p = agent(args);
    t.is(await p.exit, 1, args.join(' '));
    t.regex(p.err(), /^shoal-agent: [^\n]+\n$/, args.join(' '));
  }
});

test('--help prints usage and exits 0', async (t) => {
  const p = agent(['--help']);
  t.is(await p.exit, 0);
  t.regex(p.out(), /^usage: shoal-agent --manager/);
});

test('SIGTERM stops it with exit 0, even while the engine is unreachable', async (t) => {
  const p = agent(['--manager', '127.0.0.1:1', '--join-token', 'x', '--docker-host', 'unix:///nonexistent/docker.sock']);
  await until(() => p.out().includes('starting'), 10_000, 'agent started');
  p.child.kill('SIGTERM');
  t.is(await p.exit, 0);
  t.regex(p.out(), /SIGTERM, stopping/);
});

const withDocker = dockerHost ? test.serial : test.skip;

withDocker('runs tasks on Docker, keeps its node id, and a restart adopts its containers', async (t) => {
  const docker = new Docker({ socketPath: dockerSocketPath(dockerHost ?? '') });
  const service = `maintest-${newId().slice(0, 8)}`;
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'shoal-agent-state-'));
  const d = new FakeDispatcher();
  await d.start();
  t.teardown(async () => {
    d.stop();
    rmSync(stateDir, { recursive: true, force: true });
    for (const c of await docker.listContainers({ all: true, filters: { label: [`${LABEL.serviceName}=${service}`] } })) {
      await docker.getContainer(c.Id).remove({ force: true });
    }
  });
  const task = { ...makeTask(newId(), { image: IMAGE, spec: { name: service, command: ['sleep', '300'], stopGracePeriodMs: 1_000 } }), serviceName: service };
  d.tasks.set('node1', [task]);
  const args = ['--manager', d.address, '--join-token', 'tok', '--name', 'bedhost', '--docker-host', dockerHost ?? '', '--label', 'zone=a', '--state-dir', stateDir];
  const running = () => d.updates.some((u) => u.taskId === task.id && u.status?.state === TaskState.RUNNING);

  const first = agent(args);
  await until(running, 20_000, 'task RUNNING');
  t.is(readFileSync(path.join(stateDir, 'node-id'), 'utf8').trim(), 'node1');
  t.like(d.registrations[0]?.description, { hostname: 'bedhost', labels: { zone: 'a' } });
  t.true((d.registrations[0]?.description?.resources?.nanoCpus ?? 0) >= 1e9);
  const [c] = await docker.listContainers({ filters: { label: [`${LABEL.taskId}=${task.id}`] } });
  t.truthy(c);
  const startedAt = (await docker.getContainer(c?.Id ?? '').inspect()).State.StartedAt;

  first.child.kill('SIGTERM');
  t.is(await first.exit, 0);
  t.is((await docker.getContainer(c?.Id ?? '').inspect()).State.Running, true, 'SIGTERM leaves containers running');

  d.tasks.set('node1', [withDesired(task, TaskState.RUNNING, TaskState.RUNNING)]);
  const before = d.updates.length;
  const second = agent(args);
  await until(() => d.registrations.length === 2, 20_000, 'second registration');
  t.is(d.registrations[1]?.nodeId, 'node1', 'node id read back from --state-dir');
  await until(() => d.updates.length > before, 20_000, 'adopted status');
  const adopted = d.updates.slice(before).find((u) => u.taskId === task.id);
  t.is(adopted?.status?.state, TaskState.RUNNING);
  t.is(adopted?.status?.containerId, c?.Id);
  t.is((await docker.getContainer(c?.Id ?? '').inspect()).State.StartedAt, startedAt, 'not restarted');
  t.is((await docker.listContainers({ all: true, filters: { label: [`${LABEL.taskId}=${task.id}`] } })).length, 1);

  // The manager removes the service: desired REMOVE -> SHUTDOWN, container removed.
  d.push('node1', { kind: AssignmentsMessage_Kind.INCREMENTAL, tasks: [withDesired(task, TaskState.REMOVE, TaskState.RUNNING)], removedTaskIds: [] });
  await until(() => d.updates.some((u) => u.taskId === task.id && u.status?.state === TaskState.SHUTDOWN), 20_000, 'SHUTDOWN');
  const deadline = Date.now() + 10_000;
  while ((await docker.listContainers({ all: true, filters: { label: [`${LABEL.taskId}=${task.id}`] } })).length > 0) {
    if (Date.now() > deadline) t.fail('container not removed within 10 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  second.child.kill('SIGTERM');
  t.is(await second.exit, 0);
});
