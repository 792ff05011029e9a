// The leader's decision loop: after any change, run the orchestrator (services -> tasks)
// and the scheduler (pending -> assigned) until neither has work. Passes are coalesced:
// many changes in one tick cost one pass.
import type { ClusterState } from './store/cluster-state.js';
import { Orchestrator } from './orchestrator/orchestrator.js';
import { Scheduler } from './scheduler/scheduler.js';
import { Allocator, type AllocatorOptions } from './allocator/allocator.js';
import { Updater } from './orchestrator/update/updater.js';

/** A pass longer than this is logged: the event loop (heartbeats, etcd deadlines) waits for it. */
const SLOW_PASS_MS = 250;

/**
 * A pass started by a change ends after this long (or a round created or placed this many tasks) and goes on
 * in a later tick: heartbeats, status reports and etcd replies (whose deadlines run
 * meanwhile) get through between passes. Placing 10,000 tasks at once held the loop 0.3-0.8 s.
 */
const PASS_BUDGET_MS = 50;
const MAX_ASSIGN_PER_ROUND = 1_000;

/** Upper bound of orchestrate/schedule rounds in one pass (each round feeds the next). */
const MAX_ROUNDS_PER_PASS = 8;

export class ControlLoop {
  readonly orchestrator: Orchestrator;
  readonly scheduler: Scheduler;
  readonly allocator: Allocator;
  readonly updater: Updater;
  private scheduled = false;
  private enabled = false;
  private readonly off: () => void;
  passes = 0;
  /** Told of a pass that took longer than SLOW_PASS_MS. */
  onSlowPass: (line: string) => void = () => {};

  constructor(state: ClusterState, now: () => number = Date.now, opts: AllocatorOptions = {}) {
    this.orchestrator = new Orchestrator(state, now);
    this.scheduler = new Scheduler(state, now);
    this.allocator = new Allocator(state, now, opts);
    this.updater = new Updater(state, now);
    this.orchestrator.onWake = () => this.kick();
    this.updater.onWake = () => this.kick();
    this.off = state.onChange(() => this.kick());
  }

  /** Starts acting (on becoming leader). */
  enable(): void {
    this.enabled = true;
    this.allocator.ensureDefaultNetwork();
    this.orchestrator.markAll();
    this.updater.markAll();
    this.kick();
  }

  disable(): void {
    this.enabled = false;
  }

  kick(): void {
    if (this.scheduled || !this.enabled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.run(PASS_BUDGET_MS, MAX_ASSIGN_PER_ROUND);
    });
  }

  /** Runs to a fixed point (at most MAX_ROUNDS_PER_PASS rounds); exposed for tests. */
  pass(): void {
    this.run(Infinity, Infinity);
  }

  private run(budgetMs: number, assignLimit: number): void {
    if (!this.enabled) return;
    this.passes++;
    const started = performance.now();
    let a = 0;
    let o = 0;
    let s = 0;
    try {
      for (let round = 0; round < MAX_ROUNDS_PER_PASS; round++) {
        const allocated = this.allocator.hasWork ? this.allocator.run() : 0;
        const orchestrated = this.orchestrator.hasWork ? this.orchestrator.run(assignLimit) : 0;
        const updated = this.updater.hasWork ? this.updater.run() : 0;
        const scheduled = this.scheduler.hasWork ? this.scheduler.run(assignLimit).assigned : 0;
        a += allocated;
        o += orchestrated + updated;
        s += scheduled;
        if (
          allocated + orchestrated + updated + scheduled === 0 &&
          !this.updater.hasWork &&
          !this.orchestrator.hasWork &&
          !this.scheduler.hasWork &&
          !this.allocator.hasWork
        )
          return;
        if (performance.now() - started > budgetMs) break;
      }
      this.kick(); // still busy: continue in a later tick, letting I/O through
    } finally {
      const ms = performance.now() - started;
      if (ms > SLOW_PASS_MS)
        this.onSlowPass(
          `control loop: a pass took ${Math.round(ms)} ms (${a} leases, ${o} services or slots reconciled, ${s} tasks assigned)`,
        );
    }
  }

  /** Stops acting and following the state (in reverse order of creation); idempotent. */
  async close(): Promise<void> {
    this.enabled = false;
    this.off();
    await this.allocator.close();
    await this.scheduler.close();
    await this.updater.close();
    await this.orchestrator.close();
  }
}
