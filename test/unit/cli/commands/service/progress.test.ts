// cli/commands/service/progress.ts: docker's progress lines, and following an update to its
// outcome on a manual clock (a failed poll retried, a tty redrawn in place).
import test from 'ava';
import { ServiceSpec, UpdateState, type Service, type Task } from '../../../../../proto/gen/shoal.js';
import { TaskState } from '../../../../../proto/task-state.js';
import { followUpdate, progressLines, taskLine } from '../../../../../cli/commands/service/progress.js';
import { ManagerError } from '../../../../../cli/errors.js';
import { ManualClock } from '../../../../helpers/manual-clock.js';

const spec = (image: string) => ({ ...ServiceSpec.fromPartial({ name: 'web', image, replicas: 3 }) });
const service = (state: UpdateState, message = ''): Service => ({
  id: 's1',
  spec: spec('b:2'),
  specVersion: 2,
  createdAtMs: 0,
  updatedAtMs: 10,
  updateStatus: { state, startedAtMs: 10, completedAtMs: 0, message },
  previousVersions: [],
  hasRegistryAuth: false,
});
const task = (slot: number, image: string, state: TaskState, createdAtMs = slot): Task => ({
  id: `t${slot}${image}`,
  serviceId: 's1',
  serviceName: 'web',
  slot,
  nodeId: 'n1',
  spec: spec(image),
  specVersion: 2,
  desiredState: TaskState.RUNNING,
  status: { state, message: '', err: '', containerId: '', exitCode: 0, timestampMs: 0, addresses: [] },
  createdAtMs,
  restartHistoryMs: [],
});

test('task lines and the overall line count the tasks of the new spec only', (t) => {
  t.is(taskLine('1/6', TaskState.RUNNING), `1/6: running   [${'='.repeat(49)}>]`);
  t.is(taskLine('2/6', undefined), `2/6: new       [${' '.repeat(50)}]`);
  const p = progressLines(service(UpdateState.UPDATING), [
    task(1, 'b:2', TaskState.RUNNING),
    task(2, 'b:1', TaskState.RUNNING),
    task(3, 'b:2', TaskState.PREPARING),
  ]);
  t.is(p.lines[0], 'overall progress: 1 out of 3 tasks');
  t.is(p.lines.length, 4);
  t.regex(p.lines[3]!, /^3\/3: preparing \[=+>\s+\]$/);
  const many = { ...service(UpdateState.UPDATING), spec: { ...spec('b:2'), replicas: 21 } };
  t.is(progressLines(many, []).lines.length, 1, 'no per-task lines above 20 tasks');
});

test('followUpdate: plain changed lines, a retry, the verify wait, then converged', async (t) => {
  const clock = new ManualClock({ auto: true });
  const out: string[] = [];
  const err: string[] = [];
  const states = [UpdateState.UPDATING, UpdateState.UPDATING, UpdateState.UPDATING, UpdateState.COMPLETED];
  let polls = 0;
  const code = await followUpdate(
    service(UpdateState.UPDATING),
    {},
    {
      getService: async () => {
        polls++;
        if (polls === 2) throw new ManagerError('no leader', 14, true);
        return service(states.shift()!);
      },
      listTasks: async () => (polls < 3 ? [] : [1, 2, 3].map((s) => task(s, 'b:2', TaskState.RUNNING))),
      clock,
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      tty: false,
    },
  );
  t.is(code, 0);
  t.deepEqual(err, ['retrying: no leader']);
  t.is(
    out.filter((l) => l === 'overall progress: 0 out of 3 tasks').length,
    1,
    'an unchanged line is not printed again',
  );
  t.true(out.includes('overall progress: 3 out of 3 tasks'));
  t.true(out.includes('verify: Waiting 5 seconds to verify that tasks are stable...'));
  t.is(out.at(-1), 'verify: Service converged');
});

test('followUpdate: a pause exits 1 with the message; a tty block is redrawn in place', async (t) => {
  const clock = new ManualClock({ auto: true });
  const out: string[] = [];
  const err: string[] = [];
  const states = [UpdateState.UPDATING, UpdateState.PAUSED];
  const why = 'update paused due to failure or early termination of task web.2: no suitable node';
  const code = await followUpdate(
    service(UpdateState.UPDATING),
    {},
    {
      getService: async () => service(states.shift()!, why),
      listTasks: async () => [],
      clock,
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      tty: true,
    },
  );
  t.is(code, 1);
  t.deepEqual(err, [`service update paused: ${why}`]);
  t.true(out[1]!.startsWith('\x1b[4A'), 'the second draw moves up over the first');
});
