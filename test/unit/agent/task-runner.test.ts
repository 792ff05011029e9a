// One task runner (agent/task-runner.ts): a task whose network is not ready on this host
// waits in PREPARING ("waiting for network X"), then runs and reports its addresses. (The
// runner's other rules are exercised through the worker in worker.test.ts.)
import test from 'ava';
import { TaskState, type NetworkAddress } from '../../../proto/gen/shoal.js';
import type { Controller } from '../../../agent/exec/executor.js';
import { TaskRunner } from '../../../agent/task-runner.js';
import { makeTask, RecordingReporter } from '../../helpers/agent-support.js';
import { until } from '../../helpers/until.js';
import { Attachments } from '../../helpers/fake-attachments.js';
import { FakeExecutor } from '../../helpers/fake-executor.js';

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
  await runner.whenQuiet(); // it waits for a change of the networks, nothing else
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
