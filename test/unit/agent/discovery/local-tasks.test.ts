// This host's tasks for discovery (agent/discovery/local-tasks.ts): the local fast path (a
// task of this host that stops leaves the answers at once) through a running agent, and the
// asker networks by source address.
import test, { type ExecutionContext } from 'ava';
import { AssignmentsMessage_Kind, TaskState, type Endpoint, type Task } from '../../../../proto/gen/shoal.js';
import { Agent } from '../../../../agent/agent.js';
import { EndpointCache } from '../../../../agent/discovery/cache.js';
import { HostAskers, LocalTasks } from '../../../../agent/discovery/local-tasks.js';
import { EndpointsSubscription } from '../../../../agent/discovery/subscription.js';
import type { Controller, Executor, ManagedContainer } from '../../../../agent/exec/executor.js';
import { makeTask, measured, withDesired } from '../../../helpers/agent-support.js';
import { until } from '../../../helpers/until.js';
import { dispatcher, ep, ids } from '../../../helpers/endpoints.js';
import { FakeExecutor } from '../../../helpers/fake-executor.js';

class GatedExecutor implements Executor {
  gate: Promise<void> | undefined;
  constructor(readonly fx: FakeExecutor) {}
  describe() {
    return this.fx.describe();
  }
  listManaged() {
    return this.fx.listManaged();
  }
  controller(task: Task, existing?: ManagedContainer): Controller {
    const inner = this.fx.controller(task, existing);
    const c = Object.create(inner) as Controller;
    const shutdown = inner.shutdown.bind(inner);
    Object.defineProperty(c, 'shutdown', {
      value: async (graceMs: number | undefined) => {
        await this.gate;
        return shutdown.call(c, graceMs);
      },
    });
    return c;
  }
}

async function agentWithDiscovery(t: ExecutionContext) {
  const d = await dispatcher(t);
  d.tasks.set('node1', [makeTask('t1'), makeTask('t2', { slot: 2 })]);
  d.setService({
    name: 'web',
    endpoints: [ep('t1', '10.42.1.2'), ep('t2', '10.42.1.3'), ep('r1', '10.42.2.2')] as Endpoint[],
  });
  const fx = new FakeExecutor();
  const exec = new GatedExecutor(fx);
  const cache = new EndpointCache();
  t.teardown(() => cache.close());
  const agent = new Agent({
    managers: [d.address],
    joinToken: 't',
    hostname: 'host1',
    labels: {},
    executor: exec,
    retryMinMs: 5,
    endpoints: new EndpointsSubscription({ cache, retryMs: 50 }),
    taskObserver: new LocalTasks(cache),
  });
  t.teardown(() => agent.close());
  agent.start();
  await until(
    () => ['t1', 't2'].every((id) => d.updates.some((u) => u.taskId === id && u.status?.state === TaskState.RUNNING)),
    'running',
  );
  await until(() => cache.serviceName('web') === 'web');
  t.deepEqual(ids(await cache.lookup('web')), ['r1', 't1', 't2']);
  return { d, fx, exec, cache };
}

test('local fast path: a killed container of this host leaves the answers at once, and stays out of stale answers', async (t) => {
  const { d, fx, cache } = await agentWithDiscovery(t);
  const start = Date.now();
  fx.exit('t1', 137);
  await until(() => !ids(cache.get('web')).includes('t1'), 't1 dropped');
  measured(t, 'discovery local fast path (container exit -> endpoint dropped)', Date.now() - start);
  t.deepEqual(ids(cache.get('web')), ['r1', 't2'], 'before the manager said anything');
  // A manager answer from before it saw the exit still lists t1: it stays out.
  d.setService({
    name: 'web',
    endpoints: [
      ep('t1', '10.42.1.2'),
      ep('t2', '10.42.1.3'),
      ep('r1', '10.42.2.2'),
      ep('r2', '10.42.2.3'),
    ] as Endpoint[],
  });
  await until(() => ids(cache.get('web')).includes('r2'));
  t.deepEqual(ids(cache.get('web')), ['r1', 'r2', 't2']);
});

test('local fast path: a task told to stop leaves the answers before its container is stopped', async (t) => {
  const { d, exec, cache } = await agentWithDiscovery(t);
  let open!: () => void;
  exec.gate = new Promise((resolve) => (open = resolve));
  d.push('node1', {
    kind: AssignmentsMessage_Kind.INCREMENTAL,
    tasks: [withDesired(makeTask('t2', { slot: 2 }), TaskState.SHUTDOWN, TaskState.RUNNING)],
    secrets: [],
    configs: [],
    renewCertificate: false,
    caPem: '',
    registryCredentials: [],
    removedTaskIds: [],
  });
  await until(() => !ids(cache.get('web')).includes('t2'), 't2 dropped');
  t.false(
    d.updates.some((u) => u.taskId === 't2' && u.status?.state === TaskState.SHUTDOWN),
    'its container is still being stopped',
  );
  open();
  await until(() => d.updates.some((u) => u.taskId === 't2' && u.status?.state === TaskState.SHUTDOWN));
  t.deepEqual(ids(cache.get('web')), ['r1', 't1']);
});

test('local tasks: asker networks by source address (own task, else the lease, else loopback = all)', (t) => {
  const tasks = new LocalTasks();
  const askers = new HostAskers({
    tasks,
    leases: () => [
      { name: 'front', subnet: '10.42.1.0/24' },
      { name: 'back', subnet: '10.43.1.0/24' },
    ],
  });
  tasks.status('t1', 'web', {
    state: TaskState.RUNNING,
    message: '',
    err: '',
    containerId: 'c',
    exitCode: 0,
    timestampMs: 0,
    addresses: [
      { network: 'front', ip: '10.42.1.5' },
      { network: 'back', ip: '10.43.1.5' },
    ],
  });
  t.deepEqual(
    [...(askers.networksOf('10.42.1.5') as Set<string>)].sort(),
    ['back', 'front'],
    'own task: all its networks',
  );
  t.deepEqual([...(askers.networksOf('::ffff:10.42.1.5') as Set<string>)].sort(), ['back', 'front']);
  t.deepEqual([...(askers.networksOf('10.42.1.77') as Set<string>)], ['front'], 'by the lease');
  t.deepEqual([...(askers.networksOf('10.43.1.77') as Set<string>)], ['back']);
  t.is(askers.networksOf('127.0.0.1'), 'all');
  t.deepEqual([...(askers.networksOf('192.168.9.9') as Set<string>)], []);
  tasks.status('t1', 'web', {
    state: TaskState.FAILED,
    message: '',
    err: '',
    containerId: 'c',
    exitCode: 1,
    timestampMs: 0,
    addresses: [],
  });
  t.deepEqual([...(askers.networksOf('10.42.1.5') as Set<string>)], ['front'], 'gone: only the lease is left');
});

/** One UDP query from 127.0.0.1. */
