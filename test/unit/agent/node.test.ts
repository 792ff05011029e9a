// AgentNode (agent/node.ts): the parts of one host started in order and closed in reverse,
// with fakes for the engine, the network namespace and the manager (agent/main.ts around it
// is in main.test.ts).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { TaskState } from '../../../proto/gen/shoal.js';
import { parseConfig } from '../../../agent/config.js';
import { AgentNode } from '../../../agent/node.js';
import { makeTask } from '../../helpers/agent-support.js';
import { until } from '../../helpers/until.js';
import { FakeDispatcher } from '../../helpers/fake-dispatcher.js';
import { FakeExecutor } from '../../helpers/fake-executor.js';
import { FakeDockerNetworks, FakeHost } from '../../helpers/fake-host.js';

const PARTS = [
  'network controller',
  'endpoint cache',
  'dns server',
  'dns listen addresses',
  'ingress mesh',
  'endpoints subscription',
  'agent',
];

async function setup(t: ExecutionContext, opts: { stateDir?: string } = {}) {
  const d = new FakeDispatcher();
  await d.start();
  t.teardown(() => d.stop());
  d.tasks.set('node1', [makeTask('t1')]);
  const stateDir = opts.stateDir ?? mkdtempSync(path.join(os.tmpdir(), 'shoal-node-'));
  t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));
  const config = parseConfig(
    [
      ...['--manager', d.address, '--join-token', 'tok', '--name', 'host1'],
      ...['--state-dir', stateDir, '--dns-upstream', '127.0.0.1:9', '--dns-listen', '127.0.0.1:0'],
    ],
    {},
  );
  const fx = new FakeExecutor();
  const lines: string[] = [];
  const node = new AgentNode({
    config,
    log: (l) => lines.push(l),
    executor: fx,
    commands: new FakeHost({ device: 'eth0', address: '10.213.0.11', mtu: 1500 }),
    dockerNetworks: new FakeDockerNetworks(),
    ingressHost: '127.0.0.1',
    obtainIdentity: async () => undefined, // the fake dispatcher is plaintext
  });
  t.teardown(() => node.close());
  return { d, fx, node, lines, stateDir };
}

test('start() brings every part up in order; close() closes exactly those, the given engine stays open', async (t) => {
  const { d, fx, node, lines, stateDir } = await setup(t);
  t.is(node.state, 'new');
  await node.start();
  t.is(node.state, 'running');
  t.deepEqual(node.parts(), PARTS, 'in start order; the executor was given, so it is not the node to close it');
  t.is(node.dnsAddresses().length, 1, 'DNS on --dns-listen');
  t.regex(lines.join('\n'), /dns: upstream resolvers 127\.0\.0\.1:9\n(.*\n)*shoal agent host1 starting: managers /);
  await until(() => d.updates.some((u) => u.taskId === 't1' && u.status?.state === TaskState.RUNNING), 't1 running');
  const kept = path.join(stateDir, 'node-id'); // written aside, then renamed: whole or absent
  await until(() => existsSync(kept) && readFileSync(kept, 'utf8') === 'node1\n', 'node id kept');

  const closing = node.close();
  t.is(node.state, 'stopping');
  await Promise.all([closing, node.close()]);
  t.is(node.state, 'stopped');
  t.deepEqual(node.parts(), [], 'everything it made is closed');
  t.is(node.agent?.state, 'stopped');
  t.deepEqual(node.dnsAddresses(), []);
  t.is(fx.byTask('t1')?.status, 'running', 'containers keep running');
  await t.throwsAsync(node.start(), { message: /cannot start: it is stopped/ });
});

test('a restarted node is the same node: the kept node id is sent at registration', async (t) => {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'shoal-node-'));
  writeFileSync(path.join(stateDir, 'node-id'), 'node7\n');
  const { d, node, lines } = await setup(t, { stateDir });
  await node.start();
  await until(() => d.registrations.length === 1, 'registered');
  t.is(d.registrations[0]?.nodeId, 'node7');
  t.true(lines.some((l) => l.endsWith(', node id node7')));
});

test('a --state-dir that cannot be read: start() rejects with it, nothing is left open', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'shoal-node-'));
  const file = path.join(dir, 'not-a-dir');
  writeFileSync(file, '');
  const { d, node } = await setup(t, { stateDir: file });
  await t.throwsAsync(node.start(), { name: 'StateDirError', message: /^--state-dir: (ENOTDIR|EEXIST)/ });
  t.is(node.state, 'stopped');
  t.deepEqual(node.parts(), []);
  t.is(d.registrations.length, 0);
  rmSync(dir, { recursive: true, force: true });
});

test('close() while starting: the start finishes, the agent never starts, everything made is closed', async (t) => {
  const { d, node } = await setup(t);
  const started = node.start();
  await node.close();
  await started;
  t.is(node.state, 'stopped');
  t.deepEqual(node.parts(), []);
  t.is(node.agent?.state, 'stopped');
  t.is(d.registrations.length, 0, 'no session was opened');
});
