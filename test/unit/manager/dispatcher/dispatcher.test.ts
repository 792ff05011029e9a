// The dispatcher over a real grpc-js server on 127.0.0.1:0, with a memory store:
// registration, the assignment stream, status reports.
import test from 'ava';
import type { ClientReadableStream } from '@grpc/grpc-js';
import type { AssignmentsMessage } from '../../../../proto/gen/shoal.js';
import { AssignmentsMessage_Kind, NodeStatus } from '../../../../proto/gen/shoal.js';
import { TaskState } from '../../../../proto/task-state.js';
import { JOIN_TOKEN, nodeDescription, serveDispatcher } from '../../../helpers/dispatcher.js';
import { makeSpec } from '../../../helpers/fixtures.js';
import { until } from '../../../helpers/until.js';

function collect(stream: ClientReadableStream<AssignmentsMessage>): AssignmentsMessage[] {
  const got: AssignmentsMessage[] = [];
  stream.on('data', (m: AssignmentsMessage) => got.push(m));
  stream.on('error', () => {});
  return got;
}

test('register rejects a bad join token', async (t) => {
  const { client, call, close } = await serveDispatcher();
  const err = await t.throwsAsync(
    call((cb) => client.register({ joinToken: 'wrong', nodeId: '', description: nodeDescription('h1') }, cb)),
  );
  t.regex(err.message, /invalid join token/);
  await close();
});

test('full assignment set, then incremental changes, then status reports', async (t) => {
  const { core, client, call, register, close } = await serveDispatcher();
  const reg = await register('h1');
  t.is(core.state.nodes.get(reg.nodeId)?.status, NodeStatus.READY);
  await core.api.createService({ spec: makeSpec('web', { replicas: 2 }) });
  await until(
    () => core.live('web').every((x) => x.status?.state === TaskState.ASSIGNED) && core.live('web').length === 2,
  );

  const stream = client.assignments({ nodeId: reg.nodeId, sessionId: reg.sessionId });
  const got = collect(stream);
  await until(() => got.length >= 1);
  t.is(got[0]!.kind, AssignmentsMessage_Kind.COMPLETE);
  t.is(got[0]!.tasks.length, 2);

  await core.api.scaleService({ ref: 'web', replicas: 3 });
  await until(() => got.length >= 2);
  t.is(got[1]!.kind, AssignmentsMessage_Kind.INCREMENTAL);
  t.is(got[1]!.tasks.length, 1);
  t.is(got[1]!.tasks[0]!.slot, 3);

  const task = got[1]!.tasks[0]!;
  const status = (state: TaskState) => ({
    state,
    message: '',
    err: '',
    containerId: 'c1',
    exitCode: 0,
    timestampMs: 0,
    addresses: [],
  });
  await call((cb) =>
    client.updateTaskStatus(
      {
        nodeId: reg.nodeId,
        sessionId: reg.sessionId,
        updates: [{ taskId: task.id, status: status(TaskState.RUNNING) }],
      },
      cb,
    ),
  );
  t.is(core.state.tasks.get(task.id)?.status?.state, TaskState.RUNNING);
  // A late report that would go backwards is ignored.
  await call((cb) =>
    client.updateTaskStatus(
      {
        nodeId: reg.nodeId,
        sessionId: reg.sessionId,
        updates: [{ taskId: task.id, status: status(TaskState.STARTING) }],
      },
      cb,
    ),
  );
  t.is(core.state.tasks.get(task.id)?.status?.state, TaskState.RUNNING);

  // Status reports are not echoed back to the agent: the next message it gets (the stream
  // keeps order) is the removal that follows them.
  await core.api.removeService({ ref: 'web' });
  await until(() => got.length >= 3);
  t.is(got[2]!.kind, AssignmentsMessage_Kind.INCREMENTAL);
  t.true(got[2]!.tasks.every((x) => x.desiredState === TaskState.REMOVE));
  stream.cancel();
  await close();
});

test('a second agent with a connected node name is refused; a restarted one gets its node back', async (t) => {
  const { core, client, call, register, close } = await serveDispatcher();
  const first = await register('h1');
  const err = await t.throwsAsync(
    call((cb) => client.register({ joinToken: JOIN_TOKEN, nodeId: '', description: nodeDescription('h1') }, cb)),
  );
  t.regex(err.message, /a node named "h1" is already connected/);
  const again = await register('h1', first.nodeId);
  t.is(again.nodeId, first.nodeId);
  t.is(core.state.nodes.size, 1);
  await close();
});
