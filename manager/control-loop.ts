// The leader's decision loop: after any change, run the orchestrator (services -> tasks)
// and the scheduler (pending -> assigned) until neither has work. Passes are coalesced:
// many changes in one tick cost one pass.
import type { ClusterState } from './store/cluster-state.js';
import { Orchestrator } from './orchestrator/orchestrator.js';
import { Scheduler } from './scheduler/scheduler.js';
import { Allocator, type AllocatorOptions } from './allocator/allocator.js';

/** Upper bound of orchestrate/schedule rounds in one pass (each round feeds the next). */
const MAX_ROUNDS_PER_PASS = 8;

export class ControlLoop {
  readonly orchestrator: Orchestrator;
  readonly scheduler: Scheduler;
  readonly allocator: Allocator;
  private scheduled = false;
  private enabled = false;
  passes = 0;

  constructor(
    state: ClusterState,
    now: () => number = Date.now,
    opts: AllocatorOptions = {},
  ) {
    this.orchestrator = new Orchestrator(state, now);
    this.scheduler = new Scheduler(state, now);
    this.allocator = new Allocator(state, now, opts);
    this.orchestrator.onWake = () => this.kick();
    state.onChange(() => this.kick());
  }

  /** Starts acting (on becoming leader). */
  enable(): void {
    this.enabled = true;
    this.allocator.ensureDefaultNetwork();
    this.orchestrator.markAll();
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
      this.pass();
    });
  }

  /** Runs to a fixed point; exposed for tests. */
  pass(): void {
    if (!this.enabled) return;
    this.passes++;
    for (let round = 0; round < MAX_ROUNDS_PER_PASS; round++) {
      const allocated = this.allocator.hasWork ? this.allocator.run() : 0;
      const orchestrated = this.orchestrator.hasWork ? this.orchestrator.run() : 0;
      const scheduled = this.scheduler.hasWork ? this.scheduler.run().assigned : 0;
      if (allocated + orchestrated + scheduled === 0 && !this.orchestrator.hasWork && !this.scheduler.hasWork && !this.allocator.hasWork) return;
    }
    this.kick(); // still busy: continue in a later tick, letting I/O through
  }

  close(): void {
    this.enabled = false;
    this.orchestrator.close();
  }
}
