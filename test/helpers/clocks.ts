// Clocks for the agent's unit tests (agent/clock.ts): a manual one that moves only when the
// test says, and a real one that records every delay asked of it. Either way a test asserts
// the delay chosen and the order of what happened, not the speed of the machine.
import { systemClock, type Cancel, type Clock } from '../../agent/clock.js';

interface Pending {
  due: number;
  seq: number;
  ms: number;
  fn: () => void;
}

/** Time stands still until advance(); due timers then fire in order, each at its own time. */
export class ManualClock implements Clock {
  /** Every delay asked for, in order (fired, pending or cancelled). */
  readonly scheduled: number[] = [];
  private time = 0;
  private seq = 0;
  private timers: Pending[] = [];

  now(): number {
    return this.time;
  }

  after(ms: number, fn: () => void): Cancel {
    const p: Pending = { due: this.time + ms, seq: this.seq++, ms, fn };
    this.timers.push(p);
    this.scheduled.push(ms);
    return () => {
      this.timers = this.timers.filter((x) => x !== p);
    };
  }

  /** The delays of the timers not yet fired (as asked), soonest first. */
  pending(): number[] {
    return this.sorted().map((p) => p.ms);
  }

  /** Time until the next timer fires (undefined: none pending). */
  next(): number | undefined {
    const p = this.sorted()[0];
    return p === undefined ? undefined : p.due - this.time;
  }

  /** Move time on by `ms`, firing every timer that falls due meanwhile (also ones set by them). */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const p = this.sorted()[0];
      if (p === undefined || p.due > end) break;
      this.timers = this.timers.filter((x) => x !== p);
      this.time = p.due;
      p.fn();
    }
    this.time = end;
  }

  private sorted(): Pending[] {
    return [...this.timers].sort((a, b) => a.due - b.due || a.seq - b.seq);
  }
}

/** Real time; records the delays asked for and counts the timers still pending. */
export class RecordingClock implements Clock {
  readonly scheduled: number[] = [];
  private live = 0;

  now(): number {
    return systemClock.now();
  }

  after(ms: number, fn: () => void, opts?: { unref?: boolean }): Cancel {
    this.scheduled.push(ms);
    this.live++;
    let done = false;
    const settle = () => {
      if (done) return false;
      done = true;
      this.live--;
      return true;
    };
    const cancel = systemClock.after(
      ms,
      () => {
        if (settle()) fn();
      },
      opts,
    );
    return () => {
      if (settle()) cancel();
    };
  }

  /** Timers asked for and neither fired nor cancelled yet. */
  get pendingCount(): number {
    return this.live;
  }
}
