// What NATS task events (shoal.events.task.>) say about the tasks, for the placement
// benchmark: which run where, per service, and when each was created. O(1) per event.

export interface TaskEvent {
  type: string;
  task: string;
  service: string;
  nodeId: string;
  state: string;
  desiredState: string;
}

/** What the events say about the tasks (O(1) per event). */
export class TaskTracker {
  /** task id -> node id, for tasks seen RUNNING and desired RUNNING */
  readonly running = new Map<string, string>();
  readonly runningByService = new Map<string, number>();
  readonly created = new Map<string, number>(); // task id -> when its 'created' event arrived
  events = 0;
  /** Called when a task starts running (task id, service, node, now). */
  onRunning: (task: string, service: string, nodeId: string, at: number) => void = () => {};

  handle(e: TaskEvent, at: number): void {
    this.events++;
    if (e.type === 'created') this.created.set(e.task, at);
    const isRunning = e.type !== 'deleted' && e.state === 'running' && e.desiredState === 'running';
    const was = this.running.has(e.task);
    if (isRunning && !was) {
      this.running.set(e.task, e.nodeId);
      this.runningByService.set(e.service, (this.runningByService.get(e.service) ?? 0) + 1);
      this.onRunning(e.task, e.service, e.nodeId, at);
    } else if (!isRunning && was) {
      this.running.delete(e.task);
      this.runningByService.set(e.service, (this.runningByService.get(e.service) ?? 0) - 1);
    }
  }
}
