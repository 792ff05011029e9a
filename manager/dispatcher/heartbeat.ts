// Node health from heartbeats: the period agents are told (stretched so that all nodes
// together send at most MAX_HEARTBEATS_PER_S), and a periodic check that marks a node
// down after MISSED_HEARTBEATS_FOR_DOWN periods without hearing from its agent (a status
// report counts as a heartbeat). The check runs on an injected clock (proto/clock.ts) and
// judges by an injected wall clock, so tests drive time instead of waiting for it.
import type { Clock } from '../../proto/clock.js';
import { NodeStatus } from '../../proto/gen/shoal.js';
import type { ClusterState } from '../store/cluster-state.js';
import type { Session, Sessions } from './session.js';

/** A node is down after this many missed heartbeat periods. */
export const MISSED_HEARTBEATS_FOR_DOWN = 3;
/**
 * After a manager starts leading, nodes get this long to reconnect before they can be
 * marked down: an agent's reconnect backoff reaches 1 s (plus a 1 s connect timeout per
 * dead address), and a new leader must not reschedule the work of nodes that are fine.
 */
export const STARTUP_GRACE_MS = 5_000;
/**
 * A node whose agent closed its connection (an agent restart: its containers keep running)
 * is down only after this long without a new session, not after 3 missed heartbeats: the
 * agent process needs a moment to start again, and its host is fine.
 */
export const RECONNECT_GRACE_MS = 5_000;
const HEARTBEAT_CHECK_MS = 100;
/**
 * Heartbeat calls the leader takes per second at most, over all nodes (Nomad's
 * max_heartbeats_per_second): with more nodes than the configured period allows, every
 * agent is told a longer period (1,000 nodes: 1 s; 5,000: 5 s). Detection then takes longer
 * in proportion, and the leader's heartbeat work stays bounded.
 */
export const MAX_HEARTBEATS_PER_S = 1_000;
/**
 * A check that runs this much later than planned means the manager's event loop was held
 * (a long pass, a GC): heartbeats that arrived meanwhile are still queued behind the timer,
 * so that check marks nothing down; the next one, after I/O, sees them.
 */
const STALLED_CHECK_MS = 500;

export interface HeartbeatOptions {
  /** The configured period (--heartbeat-period). */
  periodMs: number;
  /** Wall-clock time of heartbeats and status messages (Date.now). */
  now: () => number;
  /** Runs the periodic check; its monotonic now() tells a late check. */
  clock: Clock;
  log: (line: string) => void;
  /** The node was marked down: its session ends with it. */
  onDown: (session: Session) => void;
}

export class HeartbeatMonitor {
  /** The period agents are told (see periodMsFor()). */
  private periodMs: number;
  private readonly startedAt: number;
  private lastCheckAt = 0;
  private stop: (() => void) | undefined;

  constructor(
    private readonly state: ClusterState,
    private readonly sessions: Sessions,
    private readonly opts: HeartbeatOptions,
  ) {
    this.periodMs = opts.periodMs;
    this.startedAt = opts.now();
  }

  start(): void {
    if (this.stop) return;
    // Checking often costs O(nodes) per tick and makes "down" exact to HEARTBEAT_CHECK_MS.
    this.lastCheckAt = this.opts.clock.now();
    this.stop = this.opts.clock.every(
      Math.min(HEARTBEAT_CHECK_MS, Math.max(20, Math.floor(this.opts.periodMs / 4))),
      () => this.check(),
      { unref: true },
    );
  }

  async close(): Promise<void> {
    this.stop?.();
  }

  /**
   * The period agents are told: the configured one, longer once there are more live
   * sessions than MAX_HEARTBEATS_PER_S allows. It only grows while this dispatcher lives, so
   * an agent still on an earlier (shorter) period is never judged by a shorter window.
   */
  heartbeatPeriodMs(): number {
    const needed = Math.ceil((this.sessions.size * 1000) / MAX_HEARTBEATS_PER_S);
    if (needed > this.periodMs) this.periodMs = needed;
    return this.periodMs;
  }

  downAfterMs(): number {
    return this.periodMs * MISSED_HEARTBEATS_FOR_DOWN;
  }

  /** The agent of a live session was heard from (a Heartbeat, or a status report). */
  beat(s: Session, now: number): void {
    s.lastBeat = now;
    const node = this.state.nodes.get(s.nodeId);
    if (node && node.status !== NodeStatus.READY) {
      this.state.putNode({ ...node, status: NodeStatus.READY, statusMessage: '', updatedAtMs: now });
      this.opts.log(`node ${node.description?.hostname} is ready again`);
    }
  }

  private check(): void {
    const checkedAt = this.opts.clock.now();
    const stalled = checkedAt - this.lastCheckAt > STALLED_CHECK_MS;
    this.lastCheckAt = checkedAt;
    if (stalled) return;
    const now = this.opts.now();
    for (const node of this.state.nodes.values()) {
      if (node.status === NodeStatus.DOWN) continue;
      const session = this.sessions.get(node.id);
      const last = session?.lastBeat ?? this.startedAt;
      const allowed = !session
        ? Math.max(this.downAfterMs(), STARTUP_GRACE_MS)
        : session.disconnectedAt !== undefined
          ? Math.max(this.downAfterMs(), RECONNECT_GRACE_MS)
          : this.downAfterMs();
      if (now - last < allowed) continue;
      this.state.putNode({
        ...node,
        status: NodeStatus.DOWN,
        statusMessage: `no heartbeat for ${((now - last) / 1000).toFixed(1)}s`,
        updatedAtMs: now,
      });
      this.opts.log(`node ${node.description?.hostname} is down (no heartbeat for ${now - last} ms)`);
      // The session ends with it: a heartbeat held up in the network (a healed partition
      // delivers them late) must not bring the node back; the agent registers again.
      if (session) this.opts.onDown(session);
    }
  }
}
