// The agent's secrets and configs in memory: taken from the Assignments messages before their
// tasks (whose controllers read them), replaced by a complete set, forgotten when no assigned
// task uses them (as the manager forgets it sent them).
import test from 'ava';
import { AssignmentsMessage_Kind, type AssignmentsMessage, type Task } from '../../../../proto/gen/shoal.js';
import type { PayloadLookup } from '../../../../agent/exec/payloads.js';
import type { Controller, ManagedContainer } from '../../../../agent/exec/executor.js';
import { Worker } from '../../../../agent/worker.js';
import { FakeExecutor } from '../../../helpers/fake-executor.js';
import { makeTask, RecordingReporter } from '../../../helpers/agent-support.js';

const ref = (id: string) => ({ secretId: id, secretName: `name-${id}`, target: undefined });

function msg(kind: AssignmentsMessage_Kind, over: Partial<AssignmentsMessage>): AssignmentsMessage {
  return {
    kind,
    tasks: [],
    removedTaskIds: [],
    secrets: [],
    configs: [],
    renewCertificate: false,
    caPem: '',
    registryCredentials: [],
    ...over,
  };
}

/** A fake executor that records what each controller could read when it was made. */
class SeeingExecutor extends FakeExecutor {
  readonly seen = new Map<string, string | undefined>();
  override controller(task: Task, existing?: ManagedContainer, payloads?: PayloadLookup): Controller {
    const id = task.spec?.secrets[0]?.secretId;
    if (id !== undefined) this.seen.set(task.id, payloads?.secret(id)?.toString());
    return super.controller(task, existing);
  }
}

test('payloads arrive with their tasks, are read by the controller, and leave with the last task using them', async (t) => {
  const fx = new SeeingExecutor();
  const worker = new Worker({ executor: fx, reporter: new RecordingReporter(), retryMinMs: 2 });
  await worker.start();
  const a = makeTask('a', { spec: { secrets: [ref('s1')] } });
  const b = makeTask('b', { slot: 2, spec: { secrets: [ref('s1')] } });
  worker.handle(
    msg(AssignmentsMessage_Kind.COMPLETE, {
      tasks: [a],
      secrets: [{ id: 's1', data: Buffer.from('one') }],
      configs: [{ id: 'c-unused', data: Buffer.from('x') }],
    }),
  );
  t.is(fx.seen.get('a'), 'one', 'the controller of the task in the same message reads it');
  t.is(worker.payloads.config('c-unused'), undefined, 'what no task uses is not kept');
  worker.handle(msg(AssignmentsMessage_Kind.INCREMENTAL, { tasks: [b] }));
  t.is(fx.seen.get('b'), 'one', 'a later task finds what an earlier message brought');
  worker.handle(msg(AssignmentsMessage_Kind.INCREMENTAL, { removedTaskIds: ['a'] }));
  t.is(worker.payloads.secret('s1')?.toString(), 'one', 'b still uses it');
  worker.handle(msg(AssignmentsMessage_Kind.INCREMENTAL, { removedTaskIds: ['b'] }));
  t.is(worker.payloads.secret('s1'), undefined);
  t.is(worker.payloads.size, 0);
  await worker.settled();
  await worker.close();
});

test('a complete set replaces every payload held', async (t) => {
  const worker = new Worker({ executor: new FakeExecutor(), reporter: new RecordingReporter(), retryMinMs: 2 });
  await worker.start();
  const a = makeTask('a', { spec: { secrets: [ref('s1')] } });
  worker.handle(
    msg(AssignmentsMessage_Kind.COMPLETE, { tasks: [a], secrets: [{ id: 's1', data: Buffer.from('old') }] }),
  );
  worker.handle(
    msg(AssignmentsMessage_Kind.COMPLETE, { tasks: [a], secrets: [{ id: 's1', data: Buffer.from('new') }] }),
  );
  t.is(worker.payloads.secret('s1')?.toString(), 'new');
  worker.handle(msg(AssignmentsMessage_Kind.COMPLETE, { tasks: [] }));
  t.is(worker.payloads.size, 0);
  await worker.settled();
  await worker.close();
});
