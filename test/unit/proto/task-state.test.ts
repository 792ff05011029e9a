import test from 'ava';
import {
  TaskState,
  canTransition,
  isAlive,
  isTerminal,
  stateName,
  transition,
  StateTransitionError,
} from '../../../proto/task-state.js';

test('states are ordered as swarmkit orders them', (t) => {
  const order = [
    TaskState.NEW,
    TaskState.PENDING,
    TaskState.ASSIGNED,
    TaskState.ACCEPTED,
    TaskState.PREPARING,
    TaskState.READY,
    TaskState.STARTING,
    TaskState.RUNNING,
    TaskState.COMPLETE,
    TaskState.SHUTDOWN,
    TaskState.FAILED,
    TaskState.REJECTED,
    TaskState.REMOVE,
    TaskState.ORPHANED,
  ];
  for (let i = 1; i < order.length; i++) t.true(order[i - 1]! < order[i]!);
});

test('transition only moves forward', (t) => {
  t.is(transition(TaskState.ASSIGNED, TaskState.RUNNING), TaskState.RUNNING);
  t.is(transition(TaskState.RUNNING, TaskState.RUNNING), TaskState.RUNNING);
  const err = t.throws(() => transition(TaskState.RUNNING, TaskState.PREPARING), { instanceOf: StateTransitionError });
  t.is(err?.message, 'task state cannot move from running to preparing');
  t.false(canTransition(TaskState.FAILED, TaskState.RUNNING));
});

test('terminal and alive split at COMPLETE', (t) => {
  t.false(isTerminal(TaskState.RUNNING));
  t.true(isAlive(TaskState.RUNNING));
  for (const s of [TaskState.COMPLETE, TaskState.SHUTDOWN, TaskState.FAILED, TaskState.REJECTED, TaskState.ORPHANED]) {
    t.true(isTerminal(s));
    t.false(isAlive(s));
  }
  t.is(stateName(TaskState.PENDING), 'pending');
});
