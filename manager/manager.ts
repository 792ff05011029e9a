// Starts the manager's parts in order and stops them in reverse:
//   embedded etcd/NATS -> store -> events, endpoint catalog, event relay
//   -> gRPC (dispatcher + control API) -> HTTP API (Consul's shape) -> election
// and runs one "term" at a time: as leader (fresh state from etcd, control loop,
// dispatcher, endpoint registry) or as follower (state followed through an etcd watch,
// reads served, writes forwarded to the leader, agents sent to the leader). The endpoint
// catalog lives for the manager's whole life, whatever its role.
import { setTimeout as sleep } from 'node:timers/promises';
import { hostname } from 'node:os';
import { Server, status } from '@grpc/grpc-js';
import { retry } from './start-retry.js';
import { httpToken } from './http/token.js';
import { ControlService, DispatcherService, type DispatcherServer } from '../proto/gen/shoal.js';
import { joinAddressOf } from '../proto/pki/join.js';
import { controlWithAuth, dispatcherWithAuth } from './security/authz.js';
import { ManagerSecurity } from './security/manager-security.js';
import type { ClusterAuthority } from './security/authority.js';
import { serveJoinPort } from './security/node-ca.js';
import { SecurityApi } from './controlapi/security-api.js';
import type { LifecycleState } from '../proto/lifecycle.js';
import { newId } from '../proto/naming.js';
import { ControlApi } from './controlapi/control-api.js';
import { ControlRouter } from './controlapi/router.js';
import { ControlLoop } from './control-loop.js';
import { Dispatcher } from './dispatcher/dispatcher.js';
import { leaderOnly } from './dispatcher/router.js';
import { EmbeddedProcess, embeddedEtcd, embeddedNats } from './embedded.js';
import type { EtcdTls, NatsAuth } from './config/connections.js';
import { EventPublisher } from './events/publisher.js';
import { EventRelay } from './events/relay.js';
import { EndpointCatalog } from './discovery/catalog.js';
import { EndpointRegistry } from './discovery/registry.js';
import { ConsulHttpApi } from './http/consul-api.js';
import { serveEvents } from './controlapi/control-api.js';
import { Election } from './leadership/election.js';
import { ClusterState } from './store/cluster-state.js';
import { applyRemote } from './store/apply-remote.js';
import { EtcdStore } from './store/etcd-store.js';
import { Writer } from './store/writer.js';
import { SERVER_MESSAGE_LIMITS } from '../proto/limits.js';
import { Keyring } from './secrets/keyring.js';

export interface ManagerConfig {
  /** The mutual-TLS port (Control, Dispatcher). */
  listen: string;
  advertise: string; // empty: same as listen
  /** The join port (NodeCA: server TLS only); default: the --listen port + 1. */
  joinListen?: string;
  stateDir: string;
  /** A manager token and a manager's address: this manager joins that cluster (it has no cluster key yet). */
  join?: { token: string; address: string };
  /** Node certificates' lifetime (--cert-expiry); default 90 days, or what the cluster has. */
  certExpiryMs?: number;
  /** The root the cluster is created with (--external-ca-cert/--external-ca-key); default: a new one. */
  externalCa?: { certPem: string; keyPem: string };
  etcdEndpoints: string[]; // empty: embedded
  natsUrl: string; // empty: embedded
  /** TLS towards an external etcd (--etcd-cacert ...); the embedded one brings its own. */
  etcdTls?: EtcdTls;
  /** Credentials for an external NATS (--nats-tls-*, --nats-creds); the embedded one brings its own. */
  natsAuth?: NatsAuth;
  embeddedEtcdPort: number;
  embeddedNatsPort: number;
  heartbeatPeriodMs: number;
  /** Where the Consul-shaped HTTP API listens (HOST:PORT, port 0 picks one); absent or 'off': not served. */
  httpListen?: string;
  /** The default network's subnet when it is first created (10.42.0.0/16). */
  defaultNetworkSubnet?: string;
  /** The leader lease's TTL in seconds (default LEASE_TTL_S, 2); no flag sets it: for tests. */
  leaderLeaseTtlS?: number;
  log: (line: string) => void;
}

const SHUTDOWN_GRACE_MS = 2_000;
const RELOAD_RETRY_MS = 250;

interface LeaderTerm {
  role: 'leader';
  state: ClusterState;
  writer: Writer;
  loop: ControlLoop;
  dispatcher: Dispatcher;
  dispatcherImpl: DispatcherServer;
  api: ControlApi;
  registry: EndpointRegistry;
  /** Stops publishing this term's changes on NATS. */
  stopEvents: () => void;
}

interface FollowerTerm {
  role: 'follower';
  state: ClusterState;
  api: ControlApi;
  /** False until the view holds a snapshot: until then reads get UNAVAILABLE, not an empty cluster. */
  loaded: boolean;
  stopWatch?: () => Promise<void>;
}

export class Manager {
  private lifecycle: LifecycleState = 'new';
  private closing: Promise<void> | undefined;
  private readonly embedded: EmbeddedProcess[] = [];
  private store: EtcdStore | undefined;
  /**
   * The election's own etcd connection: lease renewals must not queue behind (or fail
   * with) the writer's transactions; a leader that misses them for 4 s steps down.
   */
  private electionStore: EtcdStore | undefined;
  private election: Election | undefined;
  private events: EventPublisher | undefined;
  private catalog: EndpointCatalog | undefined;
  private relay: EventRelay | undefined;
  private stopEndpointEvents: (() => void) | undefined;
  private http: ConsulHttpApi | undefined;
  private server: Server | undefined;
  private joinServer: Server | undefined;
  private security: ManagerSecurity | undefined;
  private router: ControlRouter | undefined;
  private term: LeaderTerm | FollowerTerm | undefined;
  /** Seals and opens secrets with the cluster key (read or created in the state dir at start). */
  private keyring: Keyring | undefined;
  /** Bumped on every role change, so a slow term start cannot install a stale term. */
  private generation = 0;
  readonly id = newId();
  boundAddress = '';
  /** Where the HTTP API listens ('' when off). */
  httpAddress = '';
  /** Where joiners fetch the CA and join (server TLS only). */
  joinAddress = '';

  constructor(private readonly config: ManagerConfig) {}

  get state(): ClusterState | undefined {
    return this.term?.state;
  }

  get isLeader(): boolean {
    return this.term?.role === 'leader';
  }

  /** The cluster's certificate authority (join tokens, members), once started. */
  get authority(): ClusterAuthority {
    if (!this.security) throw new Error('the manager has not started');
    return this.security.authority;
  }

  /** This manager's endpoint catalog (what LookupService, the HTTP API and agents are answered from). */
  get endpoints(): EndpointCatalog | undefined {
    return this.catalog;
  }

  async start(): Promise<void> {
    if (this.lifecycle !== 'new') throw new Error(`manager cannot start while ${this.lifecycle}`);
    this.lifecycle = 'starting';
    const { log } = this.config;
    let { etcdEndpoints, etcdTls, natsUrl, natsAuth } = this.config;
    if (etcdEndpoints.length === 0) {
      const etcd = embeddedEtcd(this.config.stateDir, this.config.embeddedEtcdPort, log);
      await etcd.start();
      this.embedded.push(etcd);
      [etcdEndpoints, etcdTls] = [[etcd.endpoint], etcd.tls];
    }
    if (!natsUrl) {
      const nats = embeddedNats(this.config.stateDir, this.config.embeddedNatsPort, log);
      await nats.start();
      this.embedded.push(nats);
      [natsUrl, natsAuth] = [nats.url, nats.auth];
    }
    this.store = new EtcdStore(etcdEndpoints, { tls: etcdTls });
    this.electionStore = new EtcdStore(etcdEndpoints, { ownConnection: true, tls: etcdTls });
    this.events = new EventPublisher(natsUrl, log, natsAuth);
    this.events.connect();
    const catalog = new EndpointCatalog(this.store, { log });
    this.catalog = catalog;
    catalog.start();
    // Only the leader publishes endpoint events (every manager sees the same commits).
    this.stopEndpointEvents = this.events.followEndpoints(catalog, () => this.isLeader);
    const relay = new EventRelay(natsUrl, log, natsAuth);
    this.relay = relay;

    const security = new ManagerSecurity({
      stateDir: this.config.stateDir,
      hostname: hostname(),
      join: this.config.join,
      certExpiryMs: this.config.certExpiryMs,
      external: this.config.externalCa,
      log,
    });
    this.security = security;
    const etcd = this.store.etcd;
    await retry(() => security.start(etcd), 'start the cluster authority', log);
    // Secrets' data key is wrapped by the cluster key every manager holds (joined ones too).
    this.keyring = new Keyring(security.key);
    // A rotation started or ended (not a token rotated): the agents trust the new roots and renew.
    let roots = security.authority.caPem;
    security.authority.on('changed', () => {
      const now = security.authority.caPem;
      if (now === roots) return;
      roots = now;
      if (this.term?.role === 'leader') this.term.dispatcher.pushCa(now);
    });
    const clusterId = () => security.authority.clusterId;

    // Serve first (as a follower until elected), so the port answers from the start.
    this.router = new ControlRouter({
      credentials: () => security.clientCredentials(),
      api: () => (this.term?.role === 'leader' || this.term?.loaded ? this.term.api : undefined),
      isLeader: () => this.isLeader,
      leaderAddress: () => {
        const l = this.election?.leader;
        return l && l.id !== this.id ? l.address : undefined;
      },
      local: { events: (call) => serveEvents(relay, call) },
    });
    const server = new Server({
      ...SERVER_MESSAGE_LIMITS,
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_permit_without_calls': 1,
    });
    server.addService(DispatcherService, dispatcherWithAuth(this.dispatcherRouter(), clusterId));
    server.addService(ControlService, controlWithAuth(this.router.implementation(), clusterId));
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(this.config.listen, security.serverCredentials, (err, p) => (err ? reject(err) : resolve(p))),
    );
    this.server = server;
    this.boundAddress = this.config.listen.replace(/:\d+$/, `:${port}`);
    await this.startJoinPort(security);
    const advertise = this.config.advertise || this.boundAddress;
    await this.startHttp(catalog);

    const election = new Election(
      this.electionStore.etcd,
      { id: this.id, address: advertise, startedAtMs: Date.now() },
      { endpoints: etcdEndpoints, tls: etcdTls },
      log,
      this.config.leaderLeaseTtlS,
    );
    this.election = election;
    election.on('elected', () => void this.becomeLeader());
    election.on('deposed', () => void this.becomeFollower());
    election.on('leaderChanged', (l) =>
      log(l ? `leader is ${l.address} (${l.id === this.id ? 'this manager' : l.id})` : 'no leader'),
    );
    await this.becomeFollower();
    await retry(() => election.start(), 'start the election', log);
    this.lifecycle = 'running';
    log(
      `shoal manager listening on ${this.boundAddress} (id ${this.id})${this.httpAddress ? `; HTTP API on ${this.httpAddress}` : ''}`,
    );
  }

  /** The join port: NodeCA (the roots, Join) over server-only TLS, default the gRPC port + 1. */
  private async startJoinPort(security: ManagerSecurity): Promise<void> {
    const port = await serveJoinPort(
      security,
      this.config.joinListen || joinAddressOf(this.boundAddress),
      async () => ((await this.election?.managers()) ?? []).map((m) => m.address),
      this.config.log,
    );
    this.joinServer = port.server;
    this.joinAddress = port.address;
  }

  /** The Consul-shaped HTTP API, after the gRPC server; a taken port fails the start. */
  private async startHttp(view: EndpointCatalog): Promise<void> {
    const listen = this.config.httpListen ?? 'off';
    if (!listen || listen === 'off') return;
    const host = listen.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    const loopback = host === 'localhost' || host === '::1' || host.startsWith('127.');
    const http = new ConsulHttpApi({
      ...(loopback ? {} : { token: httpToken(this.config.stateDir) }),
      view,
      leaderAddress: () => this.election?.leader?.address ?? '',
      log: this.config.log,
    });
    try {
      this.httpAddress = await http.listen(listen);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const code = e.code ?? (e.cause as NodeJS.ErrnoException | undefined)?.code;
      if (code === 'EADDRINUSE')
        throw new Error(`--http-listen ${listen}: address already in use (give another HOST:PORT, or off)`, {
          cause: err,
        });
      if (code === 'EADDRNOTAVAIL') throw new Error(`--http-listen ${listen}: no such local address`, { cause: err });
      throw new Error(`--http-listen ${listen}: ${((e.cause as Error | undefined) ?? e).message}`, { cause: err });
    }
    this.http = http;
  }

  /**
   * Stops what start() started, in reverse order, with two deliberate exceptions: the
   * election goes first (resigning lets another manager take over while this one drains)
   * and the term ends once the gRPC server has drained its calls. Idempotent: a second
   * call waits for the first.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.lifecycle = 'stopping';
    this.generation++;
    await this.election?.close();
    await this.http?.close();
    const server = this.server;
    if (server) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, SHUTDOWN_GRACE_MS);
        if (this.term?.role === 'leader') void this.term.dispatcher.close();
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.joinServer?.forceShutdown();
    await this.endTerm();
    await this.security?.close();
    await this.router?.close();
    await this.relay?.close();
    this.stopEndpointEvents?.();
    await this.catalog?.close();
    await this.events?.close();
    await this.electionStore?.close();
    await this.store?.close();
    for (const p of [...this.embedded].reverse()) await p.close();
    this.lifecycle = 'stopped';
  }

  // ------------------------------------------------------------ terms

  private async becomeLeader(): Promise<void> {
    const gen = ++this.generation;
    const store = this.store!;
    const election = this.election!;
    const { log } = this.config;
    const started = Date.now();
    await this.endTerm();
    // A fresh, consistent snapshot: the follower view may lag by a few events.
    let snapshot;
    for (;;) {
      if (gen !== this.generation) return;
      try {
        snapshot = await store.load();
        break;
      } catch (err) {
        log(`leader: ${(err as Error).message} (retrying)`);
        await sleep(RELOAD_RETRY_MS);
      }
    }
    if (gen !== this.generation) return;
    store.setGuard(election.guard());
    const writer = new Writer(store);
    writer.onError = (err) => log(`store: ${err.message} (will retry)`);
    writer.onFenced = (err) => election.fenced(err.message);
    writer.onDropped = (line) => log(line);
    const state = new ClusterState(writer);
    state.load(snapshot);
    const loop = new ControlLoop(
      state,
      Date.now,
      this.config.defaultNetworkSubnet ? { defaultNetworkSubnet: this.config.defaultNetworkSubnet } : {},
    );
    loop.onSlowPass = log;
    const catalog = this.catalog!;
    const security = this.security!;
    const securityApi = new SecurityApi(security.authority, state);
    const dispatcher = new Dispatcher(state, {
      security: {
        isMember: async (id) => (await security.authority.member(id)) !== undefined,
        renew: async (id, csrPem) => {
          const issued = await security.authority.renew(id, 'worker', csrPem);
          void securityApi.finishRotationIfDone().catch((err: unknown) => log(`security: ${(err as Error).message}`));
          return { certPem: issued.certPem, caPem: issued.caPem };
        },
      },
      heartbeatPeriodMs: this.config.heartbeatPeriodMs,
      log,
      endpoints: catalog,
      keyring: this.keyring,
    });
    // The Control API waits for what it wrote (service, node, network), not for the task writes queued before it.
    const api = new ControlApi({
      state,
      sync: () => writer.syncDesired(),
      managers: () => election.managers(),
      endpoints: catalog,
      events: this.relay,
      security: securityApi,
      keyring: this.keyring,
    });
    const registry = new EndpointRegistry(state, writer, store, { log });
    const stopEvents = this.events?.followState(state) ?? (() => {});
    dispatcher.start();
    const stopRotationWatch = securityApi.followRotation((caPem, nodeIds) => dispatcher.pushCa(caPem, nodeIds), log);
    loop.enable();
    void registry.start();
    this.term = {
      role: 'leader',
      state,
      writer,
      loop,
      dispatcher,
      dispatcherImpl: dispatcher.implementation(),
      api,
      registry,
      stopEvents: () => {
        stopRotationWatch();
        stopEvents();
      },
    };
    log(
      `leading: ${snapshot.nodes.length} nodes, ${snapshot.services.length} services, ${snapshot.tasks.length} tasks loaded in ${Date.now() - started} ms`,
    );
  }

  private async becomeFollower(): Promise<void> {
    const gen = ++this.generation;
    const store = this.store!;
    const { log } = this.config;
    const previous = this.term?.state;
    await this.endTerm();
    const state = new ClusterState();
    // Until the store answers (it may be what deposed us), reads show the last known state.
    if (previous) state.load(previous.snapshot());
    const api = new ControlApi({
      state,
      sync: async () => {},
      managers: async () => (await this.election?.managers()) ?? [],
      endpoints: this.catalog,
      events: this.relay,
    });
    const term: FollowerTerm = { role: 'follower', state, api, loaded: previous !== undefined };
    this.term = term;
    const follow = async (): Promise<void> => {
      for (;;) {
        if (gen !== this.generation) return;
        try {
          const snap = await store.load();
          if (gen !== this.generation) return;
          state.load(snap);
          term.loaded = true;
          term.stopWatch = await store.watch(
            snap.revision,
            (c) => applyRemote(state, c),
            (err) => {
              log(`follower watch: ${err.message}; reloading`);
              void term.stopWatch?.();
              void follow();
            },
          );
          if (gen !== this.generation) await term.stopWatch();
          return;
        } catch (err) {
          log(`follower: ${(err as Error).message} (retrying)`);
          await sleep(RELOAD_RETRY_MS * 4);
        }
      }
    };
    void follow();
  }

  private async endTerm(): Promise<void> {
    const term = this.term;
    this.term = undefined;
    if (!term) return;
    if (term.role === 'leader') {
      this.store?.setGuard(undefined);
      await term.registry.close(); // keepalives stop: this term's leases expire unless the next leader re-puts first
      await term.dispatcher.close(); // agents reconnect to whoever leads next
      await term.loop.close();
      await Promise.race([term.writer.sync(), sleep(SHUTDOWN_GRACE_MS, undefined, { ref: false })]);
      await term.writer.close();
      term.stopEvents();
    } else {
      await term.stopWatch?.();
    }
  }

  /** Agents talk to the leader only; a follower sends them on with UNAVAILABLE. */
  private dispatcherRouter(): DispatcherServer {
    return leaderOnly(
      () => (this.term?.role === 'leader' ? this.term.dispatcherImpl : undefined),
      () => {
        const leader = this.election?.leader;
        return {
          code: status.UNAVAILABLE,
          details:
            leader && leader.id !== this.id
              ? `this manager is not the leader (leader: ${leader.address})`
              : 'no leader elected yet',
        };
      },
    );
  }
}
