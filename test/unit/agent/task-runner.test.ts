// A task whose network is not ready on this host waits in PREPARING ("waiting for network
// X"), then runs and reports its addresses; the Docker controller's waiting rules.
import test from 'ava';
import type Docker from 'dockerode';
import { TaskState, type NetworkAddress } from '../../../proto/gen/shoal.js';
import type { Controller } from '../../../agent/exec/executor.js';
import { DockerController, addressesOf } from '../../../agent/exec/docker/controller.js';
import type { HealthEvents } from '../../../agent/exec/docker/health-events.js';
import { containerConfig } from '../../../agent/exec/docker/spec.js';
import type { NetworkAttachments } from '../../../agent/network/controller.js';
import { TaskRunner } from '../../../agent/task-runner.js';
import { FakeExecutor } from '../../helpers/fake-executor.js';
import { makeTask, RecordingReporter, until } from '../../helpers/agent-support.js';

class Attachments implements NetworkAttachments {
  unsupported = false;
  readonly ready = new Map<string, string>();
  private wake: Array<() => void> = [];
  dockerNetwork(name: string): string | undefined {
    return this.ready.get(name);
  }
  changed(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      this.wake.push(resolve);
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }
  set(name: string): void {
    this.ready.set(name, `shoal-${name}`);
    const w = this.wake;
    this.wake = [];
    for (const f of w) f();
  }
}

/** The fake executor's controller, waiting on `nets` like the Docker one, with addresses. */
function waitingController(inner: Controller, nets: Attachments, names: string[]): Controller {
  const c = Object.create(inner) as Controller;
  Object.defineProperties(c, {
    waitingFor: {
      value: () =>
        names
          .map((n) => (nets.dockerNetwork(n) === undefined ? `waiting for network ${n}` : undefined))
          .find((m) => m !== undefined),
    },
    waitChange: { value: (signal: AbortSignal) => nets.changed(signal) },
    addresses: {
      get: (): NetworkAddress[] => (c.containerId === undefined ? [] : [{ network: 'a', ip: '10.42.1.2' }]),
    },
  });
  return c;
}

test('a task waits in PREPARING "waiting for network a" until it is ready, then runs with its address', async (t) => {
  const fx = new FakeExecutor();
  const nets = new Attachments();
  const task = makeTask('t1', { spec: { networks: ['a'] } });
  const reporter = new RecordingReporter();
  const runner = new TaskRunner({
    task,
    controller: waitingController(fx.controller(task), nets, ['a']),
    report: (id, s) => reporter.report(id, s),
  });
  await until(() => reporter.reports.some((r) => r.status.message === 'waiting for network a'));
  await new Promise((r) => setTimeout(r, 50));
  const last = reporter.reports[reporter.reports.length - 1]!.status;
  t.is(last.state, TaskState.PREPARING, 'still PREPARING, not REJECTED');
  t.is(last.message, 'waiting for network a');
  nets.set('a');
  await until(() => reporter.reports.some((r) => r.status.state === TaskState.RUNNING));
  const running = reporter.reports.find((r) => r.status.state === TaskState.RUNNING)!.status;
  t.deepEqual(running.addresses, [{ network: 'a', ip: '10.42.1.2' }]);
  t.deepEqual(reporter.backwards, []);
  await runner.close();
});

test('Docker controller: waits only for networks it joins; none when the manager has no networks', (t) => {
  const nets = new Attachments();
  const d = {} as Docker;
  const ev = {} as HealthEvents;
  const on = (networks: string[]) =>
    new DockerController(d, ev, makeTask('t', { spec: { networks } }), undefined, nets);
  t.is(on(['a', 'b']).waitingFor(), 'waiting for network a');
  nets.set('a');
  t.is(on(['a', 'b']).waitingFor(), 'waiting for network b');
  t.is(on([]).waitingFor(), undefined, 'a task that joins no network never waits');
  t.is(
    new DockerController(d, ev, makeTask('t', { spec: { networks: ['x'] } })).waitingFor(),
    undefined,
    'no network support: as before',
  );
  nets.unsupported = true;
  t.is(on(['b']).waitingFor(), undefined, 'manager without networks: runs as before');
});

test('container config: created on its first network; addresses of shoal networks only', (t) => {
  t.is(containerConfig(makeTask('t'), 'shoal-a').HostConfig?.NetworkMode, 'shoal-a');
  t.is(containerConfig(makeTask('t')).HostConfig?.NetworkMode, undefined);
  t.deepEqual(addressesOf({ 'shoal-b': '10.43.1.2', bridge: '10.214.1.2', 'shoal-a': '10.42.1.3' }), [
    { network: 'a', ip: '10.42.1.3' },
    { network: 'b', ip: '10.43.1.2' },
  ]);
});
