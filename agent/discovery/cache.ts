// The agent's discovery cache: what the manager's Endpoints stream said, per service name, and
// the cluster's service names. The DNS server and the routing mesh read only this; nothing here
// reads anything remote per query.
//
//   lookup(name)    cached -> the answer at once (and the name stays watched)
//                   not cached -> `watch` on the stream, wait <= WATCH_WAIT_MS for its answer
//                   (undefined then: the manager cannot be reached; DNS answers SERVFAIL)
//   attach(send)    a stream (re)opened: its first request carries every watched name. Its
//                   answers replace whatever an earlier stream said: an entry whose service is
//                   not in its name list goes at once, one it has not refreshed within
//                   STALE_GRACE_MS of its first message goes then. While no stream is up, the
//                   last answers are served (the containers keep running meanwhile).
//   dropTask()      a task of this host stopped (local fast path): its endpoint leaves at once,
//                   and stays out of later answers until one no longer has it (or TOMBSTONE_MS)
//   idle names      a watched name not looked up for WATCH_IDLE_MS is unwatched
import type { EndpointsMessage, ServiceEndpoints } from '../../proto/gen/shoal.js';
import { PublishMode } from '../../proto/gen/shoal.js';
import type { LifecycleState } from '../../proto/lifecycle.js';
import { systemClock, type Cancel, type Clock } from '../../proto/clock.js';
import { silentLog, type Log } from '../log.js';

/** How long a DNS query for a name not yet watched waits for its first answer. */
export const WATCH_WAIT_MS = 500;
/**
 * After a new stream's first message, entries it has not refreshed by then are dropped: the
 * manager answers every name of the first request at once, so this is only a safety margin.
 */
export const STALE_GRACE_MS = 2_000;
/** A watched name nobody looked up for this long is unwatched (keeps a stream's set small). */
export const WATCH_IDLE_MS = 10 * 60_000;
const IDLE_SWEEP_MS = 60_000;
/**
 * A locally stopped task stays out of answers at most this long: by then the manager has the
 * task's report and its own answers no longer hold it.
 */
export const TOMBSTONE_MS = 30_000;

/** Sends watch/unwatch on the current stream. */
export type WatchSender = (req: { watch: string[]; unwatch: string[] }) => void;

/** What the DNS server asks (tests give it a fake). */
export interface EndpointSource {
  /**
   * The service called `name` (case-insensitive; an exact match wins): its name as the cluster
   * spells it, null when no service has it, undefined while the names are not known yet.
   */
  serviceName(name: string): string | null | undefined;
  /** The service's endpoints; when not cached, watched and awaited (undefined: no answer). */
  lookup(name: string): ServiceEndpoints | undefined | Promise<ServiceEndpoints | undefined>;
}

/** What the routing mesh reads. */
export interface ServiceSource {
  get(name: string): ServiceEndpoints | undefined;
  services(): ServiceEndpoints[];
  /** Called with a service name after every change of what is cached for it. */
  onChange(listener: (name: string) => void): () => void;
}

/** True when the service publishes a port on the routing mesh. */
export function hasIngress(se: ServiceEndpoints): boolean {
  return se.exists && se.ports.some((p) => p.publishMode === PublishMode.INGRESS && p.publishedPort > 0);
}

interface Entry {
  se: ServiceEndpoints;
  /** The stream generation that sent it. */
  gen: number;
}

export interface EndpointCacheOptions {
  log?: Log;
  /** Wall-clock time of lookups and local stops (idle names, tombstones). */
  now?: () => number;
  /** The watch wait and the stale grace timers. */
  clock?: Clock;
  watchWaitMs?: number;
  staleGraceMs?: number;
}

export class EndpointCache implements EndpointSource, ServiceSource {
  private readonly log: Log;
  private readonly now: () => number;
  private readonly clock: Clock;
  private readonly watchWaitMs: number;
  private readonly staleGraceMs: number;

  /** Current stream generation; bumped on every attach. */
  private gen = 0;
  private send: WatchSender | undefined;
  private firstSeen = false;
  private unsupportedValue = false;
  private names: Set<string> | undefined;
  /** Lower-cased name -> the name as spelled (the first in sorted order when several). */
  private folded = new Map<string, string>();
  private readonly entries = new Map<string, Entry>();
  /** Watched names -> when last looked up. */
  private readonly watched = new Map<string, number>();
  private readonly waiters = new Map<string, Set<(se: ServiceEndpoints | undefined) => void>>();
  /** Service name -> task id -> when it stopped here. */
  private readonly tombstones = new Map<string, Map<string, number>>();
  private readonly listeners = new Set<(name: string) => void>();
  private cancelStale: Cancel | undefined;
  private readonly idleTimer: NodeJS.Timeout;
  /** Running from construction; close() stops it for good. */
  private state: LifecycleState = 'running';

  constructor(opts: EndpointCacheOptions = {}) {
    this.log = opts.log ?? silentLog;
    this.now = opts.now ?? Date.now;
    this.clock = opts.clock ?? systemClock;
    this.watchWaitMs = opts.watchWaitMs ?? WATCH_WAIT_MS;
    this.staleGraceMs = opts.staleGraceMs ?? STALE_GRACE_MS;
    this.idleTimer = setInterval(() => this.sweepIdle(), IDLE_SWEEP_MS);
    this.idleTimer.unref();
  }

  /** A stream is up (the subscription's view). */
  get connected(): boolean {
    return this.send !== undefined;
  }

  // ---------------------------------------------------------------- readers

  serviceName(name: string): string | null | undefined {
    if (this.names === undefined) return undefined;
    if (this.names.has(name)) return name;
    return this.folded.get(name.toLowerCase()) ?? null;
  }

  lookup(name: string): ServiceEndpoints | undefined | Promise<ServiceEndpoints | undefined> {
    this.touch(name);
    const e = this.entries.get(name);
    if (e !== undefined) return e.se;
    if (this.unsupportedValue) return undefined;
    return new Promise((resolve) => {
      let set = this.waiters.get(name);
      if (set === undefined) this.waiters.set(name, (set = new Set()));
      const done = (se: ServiceEndpoints | undefined) => {
        cancel();
        set.delete(done);
        if (set.size === 0 && this.waiters.get(name) === set) this.waiters.delete(name);
        resolve(se);
      };
      const cancel = this.clock.after(this.watchWaitMs, () => done(undefined));
      set.add(done);
    });
  }

  get(name: string): ServiceEndpoints | undefined {
    return this.entries.get(name)?.se;
  }

  services(): ServiceEndpoints[] {
    return [...this.entries.values()].map((e) => e.se);
  }

  /** Names currently watched (tests, logs). */
  watchedNames(): string[] {
    return [...this.watched.keys()].sort();
  }

  onChange(listener: (name: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---------------------------------------------------------------- the stream's side

  /** A new stream: returns the names its first request must watch. */
  attach(send: WatchSender): string[] {
    if (this.state !== 'running') return [];
    this.gen++;
    this.send = send;
    this.firstSeen = false;
    this.unsupportedValue = false;
    this.stopStaleTimer();
    return [...this.watched.keys()];
  }

  /** The stream `send` belongs to broke: keep serving what it said until the next one. */
  detach(send: WatchSender): void {
    if (this.send !== send) return;
    this.send = undefined;
    this.stopStaleTimer();
  }

  /** The manager has no Endpoints stream: lookups answer at once (nothing will come). */
  setUnsupported(): void {
    this.unsupportedValue = true;
    for (const [name, set] of [...this.waiters]) {
      this.waiters.delete(name);
      for (const w of [...set]) w(undefined);
    }
  }

  /** A message of the stream `from` (a message of an older stream is ignored). */
  apply(msg: EndpointsMessage, from: WatchSender): void {
    if (from !== this.send) return;
    const changed = new Set<string>();
    if (msg.hasServiceNames) this.setNames(msg.serviceNames, changed);
    for (const se of msg.services) {
      if (se.name === '') continue;
      this.put(se);
      changed.add(se.name);
    }
    if (!this.firstSeen) {
      this.firstSeen = true;
      const gen = this.gen;
      this.stopStaleTimer();
      this.cancelStale = this.clock.after(this.staleGraceMs, () => this.dropStale(gen), { unref: true });
    }
    for (const name of changed) this.notify(name);
  }

  // ---------------------------------------------------------------- local fast path

  /** A task of this host stopped serving: its endpoint leaves the answers now. */
  dropTask(service: string, taskId: string): void {
    let tombs = this.tombstones.get(service);
    if (tombs === undefined) this.tombstones.set(service, (tombs = new Map<string, number>()));
    tombs.set(taskId, this.now());
    const e = this.entries.get(service);
    if (e === undefined || !e.se.endpoints.some((ep) => ep.taskId === taskId)) return;
    e.se = { ...e.se, endpoints: e.se.endpoints.filter((ep) => ep.taskId !== taskId) };
    this.notify(service);
  }

  // ---------------------------------------------------------------- housekeeping

  /** Unwatch names nobody looked up for WATCH_IDLE_MS (also run every minute). */
  sweepIdle(now = this.now()): void {
    const idle: string[] = [];
    for (const [name, used] of this.watched) if (now - used >= WATCH_IDLE_MS) idle.push(name);
    if (idle.length > 0) {
      for (const name of idle) {
        this.watched.delete(name);
        const e = this.entries.get(name);
        // Ingress services come without being watched: the routing mesh still needs them.
        if (e !== undefined && !hasIngress(e.se)) {
          this.entries.delete(name);
          this.notify(name);
        }
      }
      this.send?.({ watch: [], unwatch: idle });
    }
    for (const [service, tombs] of this.tombstones) {
      for (const [id, at] of tombs) if (now - at >= TOMBSTONE_MS) tombs.delete(id);
      if (tombs.size === 0) this.tombstones.delete(service);
    }
  }

  /** Stop (idempotent): timers end, waiting lookups answer undefined, no stream is served. */
  async close(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    clearInterval(this.idleTimer);
    this.stopStaleTimer();
    this.send = undefined;
    this.setUnsupported();
  }

  // ----------------------------------------------------------------

  private stopStaleTimer(): void {
    this.cancelStale?.();
    this.cancelStale = undefined;
  }

  private touch(name: string): void {
    const known = this.watched.has(name);
    this.watched.set(name, this.now());
    if (!known) this.send?.({ watch: [name], unwatch: [] });
  }

  private setNames(list: string[], changed: Set<string>): void {
    const sorted = [...list].sort();
    this.names = new Set(sorted);
    this.folded = new Map();
    for (const n of sorted) {
      const k = n.toLowerCase();
      if (!this.folded.has(k)) this.folded.set(k, n);
    }
    for (const name of [...this.entries.keys()]) {
      if (this.names.has(name)) continue;
      this.entries.delete(name); // the service is gone
      changed.add(name);
    }
  }

  private put(se: ServiceEndpoints): void {
    const tombs = this.tombstones.get(se.name);
    let clean = se;
    if (tombs !== undefined) {
      const now = this.now();
      const ids = new Set(se.endpoints.map((e) => e.taskId));
      // The manager's answer no longer holds a stopped task: it has caught up.
      for (const [id, at] of tombs) if (!ids.has(id) || now - at >= TOMBSTONE_MS) tombs.delete(id);
      if (tombs.size === 0) this.tombstones.delete(se.name);
      else clean = { ...se, endpoints: se.endpoints.filter((e) => !tombs.has(e.taskId)) };
    }
    this.entries.set(se.name, { se: clean, gen: this.gen });
    const set = this.waiters.get(se.name);
    if (set !== undefined) {
      this.waiters.delete(se.name);
      for (const w of [...set]) w(clean);
    }
  }

  /** STALE_GRACE_MS after stream `gen`'s first message: drop what it did not refresh. */
  private dropStale(gen: number): void {
    if (gen !== this.gen || this.send === undefined) return;
    const dropped: string[] = [];
    for (const [name, e] of this.entries) if (e.gen < gen) dropped.push(name);
    for (const name of dropped) {
      this.entries.delete(name);
      this.notify(name);
    }
    // Still wanted: ask again (the manager answers a watched name at once).
    const again = dropped.filter((n) => this.watched.has(n));
    if (again.length > 0) this.send({ watch: again, unwatch: [] });
    if (dropped.length > 0)
      this.log(`discovery: dropped ${dropped.length} answer(s) the new stream did not confirm: ${dropped.join(', ')}`);
  }

  private notify(name: string): void {
    for (const l of [...this.listeners]) {
      try {
        l(name);
      } catch (err) {
        this.log(`discovery: change listener failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}
