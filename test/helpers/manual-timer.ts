// A timer and clocks that tests drive instead of waiting for them: the dispatcher's
// heartbeat check runs when the test calls fire(), and "now" is what the test says.
import type { CheckTimer } from '../../manager/dispatcher/heartbeat.js';

export class ManualTimer implements CheckTimer {
  private readonly periodic = new Set<() => void>();
  private monotonicMs = 0;

  every(_ms: number, fn: () => void): () => void {
    const entry = () => fn();
    this.periodic.add(entry);
    return () => {
      this.periodic.delete(entry);
    };
  }

  monotonic(): number {
    return this.monotonicMs;
  }

  /** Runs every periodic function once, `sinceLastMs` after the previous run (a check this late is "stalled" past 500 ms). */
  fire(sinceLastMs = 0): void {
    this.monotonicMs += sinceLastMs;
    for (const fn of [...this.periodic]) fn();
  }

  /** Periodic functions not stopped yet. */
  get running(): number {
    return this.periodic.size;
  }
}

/** A wall clock that only moves when told. */
export class ManualClock {
  constructor(public ms = 1_000_000) {}
  readonly now = (): number => this.ms;
  advance(ms: number): number {
    this.ms += ms;
    return this.ms;
  }
}
