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

/** One-shot timeouts the test fires itself (e.g. the endpoint catalog's blocking-query timeouts). */
export class ManualTimeouts {
  private readonly pending = new Map<number, { ms: number; fn: () => void }>();
  private nextId = 0;
  /** Every timeout asked for, in order (ms). */
  readonly asked: number[] = [];

  readonly after = (ms: number, fn: () => void): (() => void) => {
    const id = this.nextId++;
    this.asked.push(ms);
    this.pending.set(id, { ms, fn });
    return () => {
      this.pending.delete(id);
    };
  };

  /** Timeouts neither fired nor cancelled. */
  get size(): number {
    return this.pending.size;
  }

  /** Fires the pending timeouts that were asked for `ms` (every pending one without `ms`). */
  fire(ms?: number): void {
    for (const [id, p] of [...this.pending]) {
      if (ms !== undefined && p.ms !== ms) continue;
      this.pending.delete(id);
      p.fn();
    }
  }
}
