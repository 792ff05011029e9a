// Starts the manager's parts in order and stops them in reverse:
// embedded etcd/NATS -> store -> state -> control loop -> dispatcher + control API (gRPC) -> events.
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { ControlService, DispatcherService } from '../proto/gen/shoal.js';
import { ControlApi } from './controlapi/control-api.js';
import { ControlLoop } from './control-loop.js';
import { Dispatcher } from './dispatcher/dispatcher.js';
import { EmbeddedProcess, embeddedEtcd, embeddedNats } from './embedded.js';
import { EventPublisher } from './events/publisher.js';
import { ClusterState } from './store/cluster-state.js';
import { EtcdStore } from './store/etcd-store.js';
import type { Store } from './store/store.js';
import { Writer } from './store/writer.js';

export interface ManagerConfig {
  listen: string;
  stateDir: string;
  joinToken: string;
  etcdEndpoints: string[]; // empty: embedded
  natsUrl: string; // empty: embedded
  embeddedEtcdPort: number;
  embeddedNatsPort: number;
  heartbeatPeriodMs: number;
  log: (line: string) => void;
}

type Lifecycle = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

const SHUTDOWN_GRACE_MS = 2_000;

export class Manager {
  private lifecycle: Lifecycle = 'new';
  private readonly embedded: EmbeddedProcess[] = [];
  private store: Store | undefined;
  private writer: Writer | undefined;
  private loop: ControlLoop | undefined;
  private dispatcher: Dispatcher | undefined;
  private events: EventPublisher | undefined;
  private server: Server | undefined;
  state: ClusterState | undefined;
  boundAddress = '';

  constructor(private readonly config: ManagerConfig) {}

  async start(): Promise<void> {
    if (this.lifecycle !== 'new') throw new Error(`manager cannot start while ${this.lifecycle}`);
    this.lifecycle = 'starting';
    const { log } = this.config;

    let etcdEndpoints = this.config.etcdEndpoints;
    if (etcdEndpoints.length === 0) {
      const etcd = embeddedEtcd(this.config.stateDir, this.config.embeddedEtcdPort, log);
      await etcd.start();
      this.embedded.push(etcd);
      etcdEndpoints = [`http://127.0.0.1:${this.config.embeddedEtcdPort}`];
    }
    let natsUrl = this.config.natsUrl;
    if (!natsUrl) {
      const nats = embeddedNats(this.config.stateDir, this.config.embeddedNatsPort, log);
      await nats.start();
      this.embedded.push(nats);
      natsUrl = `nats://127.0.0.1:${this.config.embeddedNatsPort}`;
    }

    const store = new EtcdStore(etcdEndpoints);
    this.store = store;
    const snapshot = await retry(() => store.load(), 'load state from etcd', log);
    const writer = new Writer(store);
    writer.onError = (err) => log(`store: ${err.message} (will retry)`);
    this.writer = writer;
    const state = new ClusterState(writer);
    state.load(snapshot);
    this.state = state;
    log(`state loaded: ${snapshot.nodes.length} nodes, ${snapshot.services.length} services, ${snapshot.tasks.length} tasks`);

    this.loop = new ControlLoop(state);
    this.dispatcher = new Dispatcher(state, { joinToken: this.config.joinToken, heartbeatPeriodMs: this.config.heartbeatPeriodMs, log });
    const control = new ControlApi({ state, sync: () => writer.sync() });

    this.events = new EventPublisher(natsUrl, log);
    this.events.start(state);

    const server = new Server({ 'grpc.keepalive_time_ms': 10_000, 'grpc.keepalive_permit_without_calls': 1 });
    server.addService(DispatcherService, this.dispatcher.implementation());
    server.addService(ControlService, control.implementation());
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(this.config.listen, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    this.server = server;
    this.boundAddress = this.config.listen.replace(/:\d+$/, `:${port}`);

    this.dispatcher.start();
    this.loop.enable(); // single manager: always the leader
    this.lifecycle = 'running';
    log(`shoal manager listening on ${this.boundAddress}`);
  }

  async stop(): Promise<void> {
    if (this.lifecycle === 'stopping' || this.lifecycle === 'stopped') return;
    this.lifecycle = 'stopping';
    const server = this.server;
    if (server) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, SHUTDOWN_GRACE_MS);
        this.dispatcher?.close();
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.loop?.close();
    await this.events?.close();
    if (this.writer) {
      await Promise.race([this.writer.sync(), new Promise((r) => setTimeout(r, SHUTDOWN_GRACE_MS))]);
      await this.writer.close();
    }
    await this.store?.close();
    for (const p of [...this.embedded].reverse()) await p.stop();
    this.lifecycle = 'stopped';
  }
}

async function retry<T>(fn: () => Promise<T>, what: string, log: (l: string) => void): Promise<T> {
  let delay = 200;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= 30) throw err;
      log(`cannot ${what} (attempt ${attempt}): ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 2_000);
    }
  }
}
