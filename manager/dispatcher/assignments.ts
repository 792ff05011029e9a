// The Assignments stream: each agent gets the complete set of its tasks when it opens the
// stream, then one incremental message per tick with the tasks that changed in a way it
// must know (desired state, spec version) and the ones removed. Progress the agent itself
// reported (observed state) is never echoed back. The secrets and configs those tasks use
// travel in the same message, each once per stream (payloads.ts), and so do the registry
// credentials of those tasks' services (only to nodes that run one of their tasks).
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { AssignmentsMessage, AssignmentsRequest, Task } from '../../proto/gen/shoal.js';
import { AssignmentsMessage_Kind } from '../../proto/gen/shoal.js';
import { TaskState } from '../../proto/task-state.js';
import type { ClusterState } from '../store/cluster-state.js';
import type { Session, Sessions } from './session.js';
import type { PayloadSource } from './payloads.js';

function sentKey(t: Task): string {
  return `${t.desiredState}/${t.specVersion}`;
}

/** Tasks the agent must know about: assigned to it by the scheduler (or later). */
export function isAssigned(t: Task): boolean {
  return (t.status?.state ?? TaskState.NEW) >= TaskState.ASSIGNED;
}

export class Assignments {
  constructor(
    private readonly state: ClusterState,
    private readonly sessions: Sessions,
    private readonly payloads: PayloadSource,
  ) {}

  /** The session's new stream: the complete set first (what was queued for the old one is dropped). */
  open(s: Session, call: ServerWritableStream<AssignmentsRequest, AssignmentsMessage>): void {
    s.sent.clear();
    s.queuedUpdates.clear();
    s.queuedRemovals.clear();
    s.sentFiles.clear();
    const tasks = this.state.tasksOnNode(s.nodeId).filter(isAssigned);
    for (const t of tasks) s.sent.set(t.id, sentKey(t));
    call.write({
      kind: AssignmentsMessage_Kind.COMPLETE,
      tasks,
      ...this.payloads.newFor(tasks, s.sentFiles, s.nodeId),
      renewCertificate: false,
      caPem: '',
      removedTaskIds: [],
    });
  }

  /** A task changed in the state: queue what its node's agent must hear. */
  taskChanged(before: Task | undefined, after: Task | undefined): void {
    // A task that moved away from a node (should not happen) or was deleted.
    if (before?.nodeId && (!after || after.nodeId !== before.nodeId)) this.queueRemoval(before.nodeId, before.id);
    if (!after || !after.nodeId || !isAssigned(after)) return;
    const s = this.sessions.get(after.nodeId);
    if (!s?.stream) return;
    if (s.sent.get(after.id) === sentKey(after)) return; // the agent already knows this
    s.sent.set(after.id, sentKey(after));
    s.queuedRemovals.delete(after.id);
    s.queuedUpdates.set(after.id, after);
    this.scheduleFlush(s);
  }

  private queueRemoval(nodeId: string, taskId: string): void {
    const s = this.sessions.get(nodeId);
    if (!s?.stream || !s.sent.has(taskId)) return;
    s.sent.delete(taskId);
    s.queuedUpdates.delete(taskId);
    s.queuedRemovals.add(taskId);
    this.scheduleFlush(s);
  }

  /** Everything changed in one tick goes out in one message. */
  private scheduleFlush(s: Session): void {
    if (s.flushScheduled) return;
    s.flushScheduled = true;
    setImmediate(() => {
      s.flushScheduled = false;
      if (!s.stream || (s.queuedUpdates.size === 0 && s.queuedRemovals.size === 0)) return;
      const tasks = [...s.queuedUpdates.values()];
      const files = this.payloads.newFor(tasks, s.sentFiles, s.nodeId);
      if (s.queuedRemovals.size > 0) this.payloads.retain(this.sentTasks(s), s.sentFiles);
      s.stream.write({
        kind: AssignmentsMessage_Kind.INCREMENTAL,
        tasks,
        ...files,
        renewCertificate: false,
        caPem: '',
        removedTaskIds: [...s.queuedRemovals],
      });
      s.queuedUpdates.clear();
      s.queuedRemovals.clear();
    });
  }

  /** The tasks the agent holds now (sent and not removed). */
  private *sentTasks(s: Session): Iterable<Task> {
    for (const id of s.sent.keys()) {
      const t = s.queuedUpdates.get(id) ?? this.state.tasks.get(id);
      if (t) yield t;
    }
  }
}
