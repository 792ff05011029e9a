// Every manager's discovery cache, for the manager's whole life (not per term): loads the
// endpoint and service keys in one read, then follows them with one etcd watch from that
// revision. Per service name it keeps the service's networks and ports and its endpoints,
// with `index` = the etcd revision of the name's last change (Consul's X-Consul-Index).
// A watch that cannot go on (compaction, cancel) makes it read everything again; names
// whose answer changed across the reload are reported changed.
//
// The watched range runs from /shoal/v1/endpoints/ to the end of /shoal/v1/services/, so
// it also carries networks (for the default network's name) and, unused, leader, leases,
// managers and nodes keys, but never tasks, which sort after services.
import { setTimeout as sleep } from 'node:timers/promises';
import { systemClock, type Clock } from '../../proto/clock.js';
import { PublishMode, type Endpoint, type PortConfig, type ServiceEndpoints } from '../../proto/gen/shoal.js';
import { ENDPOINTS_PREFIX, prefixEnd } from '../store/keys.js';
import type { ChangeSource, KeyChange } from '../store/store.js';
import type { LifecycleState } from '../../proto/lifecycle.js';
import { CatalogContents, NETWORKS_PREFIX, SERVICES_PREFIX, sameEntry } from './contents.js';
import type { EndpointView } from './view.js';

const RANGE_FROM = ENDPOINTS_PREFIX;
const RANGE_TO = prefixEnd(SERVICES_PREFIX);
const RELOAD_RETRY_MS = 500;

export interface EndpointEvent {
  type: 'registered' | 'deregistered';
  endpoint: Endpoint;
}

export interface EndpointCatalogOptions {
  log?: (line: string) => void;
  reloadRetryMs?: number;
  /** What a blocking query's timeout runs on (the system's); tests move it. */
  clock?: Clock;
}

interface Waiter {
  index: number;
  resolve: () => void;
}

export class EndpointCatalog implements EndpointView {
  private c: CatalogContents;
  private lifecycle: LifecycleState = 'new';
  private closing: Promise<void> | undefined;
  private isLoaded = false;
  private revision = 0;
  private loadRevision = 0;
  private namesIndex = 1;
  private namesCache: string[] | undefined;
  private generation = 0;
  private stopWatch: (() => Promise<void>) | undefined;
  private readonly changeListeners = new Set<(name: string) => void>();
  private readonly endpointListeners = new Set<(e: EndpointEvent) => void>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly nameWaiters = new Set<Waiter>();
  private readonly loadWaiters: (() => void)[] = [];
  private readonly log: (line: string) => void;
  private readonly reloadRetryMs: number;
  private readonly clock: Clock;

  constructor(
    private readonly source: ChangeSource,
    opts: EndpointCatalogOptions = {},
  ) {
    this.log = opts.log ?? (() => {});
    this.reloadRetryMs = opts.reloadRetryMs ?? RELOAD_RETRY_MS;
    this.clock = opts.clock ?? systemClock;
    this.c = this.emptyContents();
  }

  private emptyContents(): CatalogContents {
    return new CatalogContents({ log: this.log, emit: (type, endpoint) => this.emitEndpoint(type, endpoint) });
  }

  /** Loads and starts following, in the background (retrying while etcd is away). */
  start(): void {
    if (this.lifecycle !== 'new') return;
    this.lifecycle = 'running';
    void this.follow(++this.generation);
  }

  /** Stops following and answers pending blocking queries; idempotent (a second call waits for the first). */
  close(): Promise<void> {
    this.closing ??= this.stop();
    return this.closing;
  }

  private async stop(): Promise<void> {
    this.lifecycle = 'stopping';
    this.generation++;
    await this.stopWatch?.();
    this.stopWatch = undefined;
    // Blocking queries answer now with what is known.
    for (const set of this.waiters.values()) for (const w of set) w.resolve();
    for (const w of this.nameWaiters) w.resolve();
    this.waiters.clear();
    this.nameWaiters.clear();
    this.lifecycle = 'stopped';
  }

  private get closed(): boolean {
    return this.lifecycle === 'stopping' || this.lifecycle === 'stopped';
  }

  /** Resolves once the first load is in. */
  whenLoaded(): Promise<void> {
    if (this.isLoaded) return Promise.resolve();
    return new Promise((resolve) => this.loadWaiters.push(resolve));
  }

  /** Every endpoint key put for the first time (registered) or deleted (deregistered), as committed. */
  onEndpoint(listener: (e: EndpointEvent) => void): () => void {
    this.endpointListeners.add(listener);
    return () => this.endpointListeners.delete(listener);
  }

  // ------------------------------------------------------------ EndpointView

  get loaded(): boolean {
    return this.isLoaded;
  }

  get index(): number {
    return Math.max(1, this.revision);
  }

  lookup(name: string): ServiceEndpoints {
    const e = this.c.entries.get(name);
    if (!e?.service) {
      const alias = this.aliasLookup(name, e === undefined);
      if (alias !== undefined) return alias;
    }
    if (!e)
      return { name, exists: false, networks: [], ports: [], endpoints: [], index: Math.max(1, this.loadRevision) };
    if (!e.cached) {
      const s = e.service;
      e.cached = {
        name,
        exists: s !== undefined,
        networks: s ? this.c.networksOf(s) : [],
        ports: s?.ports ?? [],
        endpoints: [...e.endpoints.values()].map((x) => x.endpoint),
        index: Math.max(1, e.index),
      };
    }
    return e.cached;
  }

  /**
   * A name that is an alias of services on some of their networks (ServiceSpec.network_aliases,
   * e.g. a stack's short names): their endpoints, on those networks only (DNS answers with
   * an endpoint's address on a network the asker shares), and their target ports without a
   * published port (an alias never publishes on the routing mesh). A service of that name wins.
   */
  private aliasLookup(name: string, unknown: boolean): ServiceEndpoints | undefined {
    const targets = this.c.aliasTargets(name);
    if (targets.length === 0) {
      if (!unknown || this.c.aliasRevision === 0) return undefined;
      // Perhaps a former alias: not there, at an index no lower than its last answer's.
      const index = Math.max(1, this.loadRevision, this.c.aliasRevision);
      return { name, exists: false, networks: [], ports: [], endpoints: [], index };
    }
    const networks: string[] = [];
    const endpoints: Endpoint[] = [];
    const ports: PortConfig[] = [];
    let index = this.c.aliasRevision;
    for (const service of new Set(targets.map((t) => t.service))) {
      const real = this.lookup(service);
      index = Math.max(index, real.index);
      endpoints.push(...real.endpoints);
      for (const p of real.ports) ports.push({ ...p, publishedPort: 0 });
    }
    for (const t of targets) if (!networks.includes(t.network)) networks.push(t.network);
    return { name, exists: true, networks, ports, endpoints, index: Math.max(1, index) };
  }

  publishesIngress(name: string): boolean {
    const ports = this.c.entries.get(name)?.service?.ports ?? [];
    return ports.some((p) => p.publishMode === PublishMode.INGRESS && p.publishedPort > 0);
  }

  serviceNames(): string[] {
    this.namesCache ??= this.c.serviceNames();
    return this.namesCache;
  }

  waitFor(name: string, index: number, timeoutMs: number): Promise<ServiceEndpoints> {
    const now = this.lookup(name);
    if (index <= 0 || now.index > index || this.closed) return Promise.resolve(now);
    return new Promise((resolve) => {
      let set = this.waiters.get(name);
      if (!set) this.waiters.set(name, (set = new Set()));
      const waiters = set;
      const w: Waiter = {
        index,
        resolve: () => {
          cancel();
          waiters.delete(w);
          if (waiters.size === 0 && this.waiters.get(name) === waiters) this.waiters.delete(name);
          resolve(this.lookup(name));
        },
      };
      const cancel = this.clock.after(Math.max(0, timeoutMs), () => w.resolve());
      waiters.add(w);
    });
  }

  waitForNames(index: number, timeoutMs: number): Promise<{ index: number; names: string[] }> {
    const answer = () => ({ index: this.namesIndex, names: this.serviceNames() });
    if (index <= 0 || this.namesIndex > index || this.closed) return Promise.resolve(answer());
    return new Promise((resolve) => {
      const w: Waiter = {
        index,
        resolve: () => {
          cancel();
          this.nameWaiters.delete(w);
          resolve(answer());
        },
      };
      const cancel = this.clock.after(Math.max(0, timeoutMs), () => w.resolve());
      this.nameWaiters.add(w);
    });
  }

  onChange(listener: (name: string) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  // ------------------------------------------------------------ loading and following

  private async follow(gen: number): Promise<void> {
    for (;;) {
      if (gen !== this.generation) return;
      try {
        const { revision, kvs } = await this.source.range(RANGE_FROM, RANGE_TO);
        if (gen !== this.generation) return;
        this.install(revision, kvs);
        const stop = await this.source.watchRange(
          RANGE_FROM,
          RANGE_TO,
          revision,
          (changes, rev) => {
            if (gen === this.generation) this.apply(changes, rev);
          },
          (err) => {
            if (gen !== this.generation) return;
            this.log(`endpoint catalog: watch ended (${err.message}); reloading`);
            const next = ++this.generation;
            void stop().catch(() => {});
            void this.follow(next);
          },
        );
        if (gen !== this.generation) {
          await stop();
          return;
        }
        this.stopWatch = stop;
        return;
      } catch (err) {
        if (gen !== this.generation) return;
        this.log(`endpoint catalog: ${(err as Error).message} (retrying)`);
        await sleep(this.reloadRetryMs);
      }
    }
  }

  /** Replaces the contents with a fresh read; on a reload, reports what differs. */
  private install(revision: number, kvs: KeyChange[]): void {
    const fresh = this.emptyContents();
    const old = this.c;
    const wasLoaded = this.isLoaded;
    this.c = fresh;
    // Networks first: services need the default network's name.
    for (const kv of kvs) if (kv.key.startsWith(NETWORKS_PREFIX)) fresh.putNetwork(kv.key, kv.value!);
    for (const kv of kvs) {
      if (kv.key.startsWith(ENDPOINTS_PREFIX)) fresh.putEndpoint(kv, false);
      else if (kv.key.startsWith(SERVICES_PREFIX)) fresh.putService(kv);
    }
    this.loadRevision = revision;
    this.revision = Math.max(this.revision, revision);
    this.namesCache = undefined;
    const changed = new Set<string>();
    if (wasLoaded) {
      // What changed while the watch was away: those names move to the load's revision.
      for (const [name, before] of old.entries) {
        const after = fresh.entries.get(name);
        if (!after) {
          if (before.service || before.endpoints.size > 0) changed.add(name);
          for (const x of before.endpoints.values()) this.emitEndpoint('deregistered', x.endpoint);
          continue;
        }
        if (!sameEntry(before, after, old.defaultNetwork, fresh.defaultNetwork)) {
          after.index = Math.max(revision, before.index);
          changed.add(name);
        } else after.index = Math.max(after.index, before.index);
        for (const [taskId, x] of before.endpoints)
          if (!after.endpoints.has(taskId)) this.emitEndpoint('deregistered', x.endpoint);
        for (const [taskId, x] of after.endpoints)
          if (!before.endpoints.has(taskId)) this.emitEndpoint('registered', x.endpoint);
      }
      for (const [name, after] of fresh.entries) {
        if (old.entries.has(name)) continue;
        after.index = Math.max(after.index, revision);
        changed.add(name);
        for (const x of after.endpoints.values()) this.emitEndpoint('registered', x.endpoint);
      }
      if (old.serviceNames().join('\n') !== this.serviceNames().join('\n'))
        this.namesIndex = Math.max(this.namesIndex + 1, revision);
    } else {
      this.namesIndex = Math.max(1, revision);
    }
    if (wasLoaded) {
      // Aliases (rare): every alias before and after the reload is reported changed.
      for (const name of [...old.serviceNames(), ...this.serviceNames()])
        if (!fresh.entries.get(name)?.service) changed.add(name);
      if (old.aliasRevision > 0 || fresh.aliasRevision > 0)
        fresh.aliasRevision = Math.max(fresh.aliasRevision, old.aliasRevision, revision);
    }
    this.isLoaded = true;
    for (const r of this.loadWaiters.splice(0)) r();
    this.notify(changed, true);
  }

  /** One watch batch: applies it, then wakes waiters and listeners once per changed name. */
  private apply(changes: KeyChange[], revision: number): void {
    const changed = new Set<string>();
    let namesChanged = false;
    for (const kv of changes) {
      if (kv.key.startsWith(ENDPOINTS_PREFIX)) {
        const name = kv.value === undefined ? this.c.deleteEndpoint(kv) : this.c.putEndpoint(kv, true);
        if (name !== undefined) changed.add(name);
      } else if (kv.key.startsWith(SERVICES_PREFIX)) {
        const r = kv.value === undefined ? this.c.deleteService(kv) : this.c.putService(kv);
        if (r) {
          for (const name of r.names) changed.add(name);
          if (r.existence) namesChanged = true;
        }
      } else if (kv.key.startsWith(NETWORKS_PREFIX)) {
        for (const name of this.c.networkChanged(kv)) changed.add(name);
      }
    }
    this.revision = Math.max(this.revision, revision);
    if (namesChanged) {
      this.namesIndex = Math.max(this.namesIndex + 1, revision);
      this.namesCache = undefined;
    }
    for (const name of changed) {
      const e = this.c.entries.get(name);
      if (e) e.cached = undefined;
    }
    // An alias answers with its services' endpoints: it changes when they do.
    for (const name of [...changed]) for (const alias of this.c.aliasNamesOf(name)) changed.add(alias);
    this.notify(changed, namesChanged);
  }

  private notify(changed: Set<string>, namesChanged: boolean): void {
    for (const name of changed) {
      const set = this.waiters.get(name);
      if (set) for (const w of [...set]) w.resolve();
    }
    if (namesChanged) for (const w of [...this.nameWaiters]) if (this.namesIndex > w.index) w.resolve();
    for (const name of changed) {
      for (const l of this.changeListeners) {
        try {
          l(name);
        } catch (err) {
          this.log(`endpoint catalog: change listener failed: ${(err as Error).message}`);
        }
      }
    }
  }

  private emitEndpoint(type: EndpointEvent['type'], endpoint: Endpoint): void {
    for (const l of this.endpointListeners) {
      try {
        l({ type, endpoint });
      } catch (err) {
        this.log(`endpoint catalog: endpoint listener failed: ${(err as Error).message}`);
      }
    }
  }
}
