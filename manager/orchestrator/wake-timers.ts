// One pending wake-up per service: the orchestrator's restart delays and the updater's
// delays and deadlines. A service asked to wake at several times wakes at the earliest one
// still ahead.
export class WakeTimers {
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();

  constructor(
    private readonly now: () => number,
    /** Called with the service once its time has come. */
    private readonly wake: (serviceId: string) => void,
  ) {}

  at(serviceId: string, atMs: number): void {
    const existing = this.timers.get(serviceId);
    if (existing && existing.at <= atMs && existing.at > this.now()) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(
      () => {
        this.timers.delete(serviceId);
        this.wake(serviceId);
      },
      Math.max(0, atMs - this.now()),
    );
    timer.unref();
    this.timers.set(serviceId, { at: atMs, timer });
  }

  /** Cancels every pending wake-up; idempotent. */
  clear(): void {
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
