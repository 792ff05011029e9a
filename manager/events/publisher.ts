// Publishes cluster changes on NATS. Event delivery is best effort: while NATS is away,
// events are dropped and nothing else waits for it.
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, JSONCodec, type NatsConnection } from 'nats';
import { natsOptions, type NatsAuth } from '../config/connections.js';
import { AvailabilityToJSON, NodeStatusToJSON } from './enum-names.js';
import { PublishMode, type Task } from '../../proto/gen/shoal.js';
import type { EndpointEvent } from '../discovery/catalog.js';
import { TaskState, stateName } from '../../proto/task-state.js';
import type { Change, ClusterState } from '../store/cluster-state.js';
import { subjects } from './subjects.js';

const codec = JSONCodec();
const CONNECT_TIMEOUT_MS = 2_000;
/** Between first-connection attempts while NATS is not there (events are best effort). */
const CONNECT_RETRY_MS = 1_000;

export class EventPublisher {
  private nc: NatsConnection | undefined;
  private closed = false;
  /** Aborted by close(): ends the wait between connection attempts. */
  private readonly closing = new AbortController();
  published = 0;

  constructor(
    private readonly url: string,
    private readonly log: (line: string) => void = () => {},
    /** The server's credentials (config/connections.ts): user/password, TLS or a .creds file. */
    private readonly auth?: NatsAuth,
  ) {}

  /** Connects in the background, retrying forever; never blocks the manager's start. */
  connect(): void {
    void this.connectLoop();
  }

  /** Publishes the changes of this state (a leader term's) until the returned unsubscribe is called. */
  followState(state: ClusterState): () => void {
    return state.onChange((c) => this.observe(c));
  }

  /**
   * Publishes endpoint registrations as the catalog sees them committed, while `active()`
   * (the leader's catalog publishes; every manager has one). Returns the unsubscribe.
   */
  followEndpoints(
    catalog: { onEndpoint(l: (e: EndpointEvent) => void): () => void },
    active: () => boolean,
  ): () => void {
    return catalog.onEndpoint((e) => {
      if (!active()) return;
      const ep = e.endpoint;
      this.publish(subjects.endpoint(ep.serviceName), {
        type: e.type,
        service: ep.serviceName,
        task: ep.taskId,
        slot: ep.slot,
        nodeId: ep.nodeId,
        node: ep.nodeName,
        addresses: ep.addresses.map((a) => ({ network: a.network, ip: a.ip })),
        ports: ep.ports.map((p) => ({
          protocol: p.protocol || 'tcp',
          targetPort: p.targetPort,
          publishedPort: p.publishedPort,
          publishMode: p.publishMode === PublishMode.HOST ? 'host' : 'ingress',
        })),
      });
    });
  }

  /**
   * One connection attempt at a time until one succeeds (then nats.js reconnects by
   * itself). Not nats.js's waitOnFirstConnect: its pending attempts cannot be cancelled,
   * so a manager stopped before NATS answered would be kept alive by them.
   */
  private async connectLoop(): Promise<void> {
    let reported = false;
    while (!this.closed) {
      try {
        const nc = await connect({
          ...natsOptions(this.auth),
          servers: this.url,
          reconnect: true,
          maxReconnectAttempts: -1,
          timeout: CONNECT_TIMEOUT_MS,
          name: 'shoal-manager',
        });
        if (this.closed) {
          await nc.close();
          return;
        }
        this.nc = nc;
        this.log(`events: connected to NATS at ${this.url}`);
        return;
      } catch (err) {
        if (this.closed) return;
        if (!reported) this.log(`events: cannot connect to NATS at ${this.url}: ${(err as Error).message} (retrying)`);
        reported = true;
        await sleep(CONNECT_RETRY_MS, undefined, { signal: this.closing.signal }).catch(() => {});
      }
    }
  }

  /**
   * Queued for the end of this event-loop turn, then published together: the NATS client
   * writes to its socket once per burst it is handed, and a status report handled per
   * gRPC call used to be one socket write each (NATS was ~20 % of the leader's CPU while
   * 100,000 tasks were placed). Order is kept.
   */
  private publish(subject: string, data: unknown): void {
    if (!this.nc) return;
    this.queue.push(subject, data);
    if (this.queue.length === 2) setImmediate(() => this.flush());
  }

  private readonly queue: unknown[] = []; // subject, data, subject, data, ...

  private flush(): void {
    const queue = this.queue.splice(0);
    const nc = this.nc;
    if (!nc || nc.isClosed()) return;
    try {
      for (let i = 0; i < queue.length; i += 2) nc.publish(queue[i] as string, codec.encode(queue[i + 1]));
      this.published += queue.length / 2;
    } catch {
      // disconnected and buffer full: drop, events are best effort
    }
  }

  private observe(c: Change): void {
    if (c.kind === 'task') {
      const t = c.after ?? c.before!;
      const stateBefore = c.before?.status?.state;
      const stateAfter = c.after?.status?.state;
      if (c.after && stateBefore === stateAfter && c.before?.desiredState === c.after.desiredState) return;
      this.publishHealth(c.before, c.after);
      this.publish(subjects.task(t.serviceName), {
        type: c.after ? (c.before ? 'updated' : 'created') : 'deleted',
        task: t.id,
        service: t.serviceName,
        slot: t.slot,
        nodeId: t.nodeId,
        state: stateName(t.status?.state ?? 0),
        desiredState: stateName(t.desiredState),
        error: t.status?.err ?? '',
        containerId: t.status?.containerId ?? '',
      });
    } else if (c.kind === 'node') {
      const n = c.after ?? c.before!;
      if (c.after && c.before && c.before.status === c.after.status && c.before.availability === c.after.availability)
        return;
      this.publish(subjects.node(n.description?.hostname ?? n.id), {
        type: c.after ? (c.before ? 'updated' : 'created') : 'deleted',
        node: n.id,
        hostname: n.description?.hostname ?? '',
        status: NodeStatusToJSON(n.status),
        availability: AvailabilityToJSON(n.availability),
      });
    } else if (c.kind === 'service') {
      const s = c.after ?? c.before!;
      this.publish(subjects.service(s.spec?.name ?? s.id), {
        type: c.after ? (c.before ? 'updated' : 'created') : 'deleted',
        service: s.id,
        name: s.spec?.name ?? '',
        replicas: s.spec?.replicas ?? 0,
      });
    }
  }

  /** Container health, for tasks with a health check: healthy on reaching RUNNING, unhealthy on failing so. */
  private publishHealth(before: Task | undefined, after: Task | undefined): void {
    if (!after) return;
    const test = after.spec?.health?.test ?? [];
    const specHasCheck = test.length > 0 && test[0] !== 'NONE';
    const was = before?.status?.state;
    const now = after.status?.state;
    let health: 'healthy' | 'unhealthy' | undefined;
    // "healthy" only where a check is known to gate RUNNING; "unhealthy" also for an image's own check.
    if (specHasCheck && now === TaskState.RUNNING && was !== TaskState.RUNNING) health = 'healthy';
    else if (now === TaskState.FAILED && was !== TaskState.FAILED && after.status?.err === 'unhealthy')
      health = 'unhealthy';
    if (!health) return;
    this.publish(subjects.health(after.serviceName), {
      task: after.id,
      service: after.serviceName,
      slot: after.slot,
      nodeId: after.nodeId,
      containerId: after.status?.containerId ?? '',
      health,
    });
  }

  /** Hands NATS what is queued and closes the connection; idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.closing.abort();
    this.flush();
    const nc = this.nc;
    this.nc = undefined;
    if (nc && !nc.isClosed()) await nc.drain().catch(() => nc.close());
  }
}
