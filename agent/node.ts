// Everything shoal runs on one host, wired together (main.ts only parses flags and handles
// signals). start() brings the parts up in order; close() closes exactly what start() made,
// in reverse order; parts handed in from outside (tests) are used, never closed.
//
//   start:  node id (--state-dir) -> NetworkController (ip/bridge/iptables, Docker networks)
//           -> EndpointCache + LocalTasks -> DnsServer (every network's gateway:53 and
//           --dns-listen; follows the ready networks) -> IngressMesh -> DockerExecutor
//           -> EndpointsSubscription -> Agent (engine, then the managers)
//   close:  Agent (runners end, last reports, session) -> subscription -> executor (health
//           events) -> mesh -> DNS -> cache -> network controller. Containers keep running.
//
//   new --start()--> starting --> running --close()--> stopping --> stopped
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import type { Closable, LifecycleState } from '../proto/lifecycle.js';
import { Agent } from './agent.js';
import type { AgentConfig } from './config.js';
import { EndpointCache } from './discovery/cache.js';
import { DnsServer, type ListenAddress } from './discovery/dns-server.js';
import { HostAskers, LocalTasks } from './discovery/local-tasks.js';
import { EndpointsSubscription } from './discovery/subscription.js';
import { resolvConfUpstreams, upstreamString } from './discovery/upstream.js';
import { DockerExecutor } from './exec/docker/executor.js';
import type { Executor } from './exec/executor.js';
import { IngressMesh } from './ingress/mesh.js';
import { silentLog, type Log } from './log.js';
import { execRunner, type CommandRunner } from './network/commands.js';
import { NetworkController } from './network/controller.js';
import { DockerodeNetworks, type DockerNetworks } from './network/docker.js';
import { keepNodeId, readNodeId, StateDirError } from './node-id.js';
import { NodeIdentity, type IdentityOptions } from './identity.js';
import { ensureStateDir } from './state-dir.js';
import type { DispatcherClient } from '../proto/gen/shoal.js';

/** The DNS server listens on this port of every network's gateway (containers ask there). */
export const DNS_PORT = 53;

export interface AgentNodeOptions {
  config: AgentConfig;
  log?: Log;
  /** Tests: the engine (default: Docker on config.dockerSocket). Not closed by the node. */
  executor?: Executor;
  /** Tests: the network namespace's commands (default: ip/bridge/iptables children). */
  commands?: CommandRunner;
  /** Tests: the engine's networks (default: Docker on config.dockerSocket). */
  dockerNetworks?: DockerNetworks;
  /** Tests: the address the routing mesh listens on (default 0.0.0.0). */
  ingressHost?: string;
  /** Tests: a Dispatcher client per manager address (then no certificate is obtained: no TLS). */
  connect?: (address: string) => DispatcherClient;
  /** Tests: how the node gets its certificate (default: NodeIdentity.obtain; undefined: no TLS). */
  obtainIdentity?: (opts: IdentityOptions) => Promise<NodeIdentity | undefined>;
  /** The cluster removed this node (node rm): the agent stops trying; main exits. */
  onRemoved?: (message: string) => void;
}

export class AgentNode implements Closable {
  private readonly opts: AgentNodeOptions;
  private readonly log: Log;
  private stateValue: LifecycleState = 'new';
  /** What start() made, each with its close, in the order made. */
  private readonly made: Array<{ name: string; close: () => Promise<void> | void }> = [];
  private starting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private agentValue: Agent | undefined;
  private dnsValue: DnsServer | undefined;
  /** Ends a join that is still retrying when close() comes. */
  private readonly abort = new AbortController();

  constructor(opts: AgentNodeOptions) {
    this.opts = opts;
    this.log = opts.log ?? silentLog;
  }

  get state(): LifecycleState {
    return this.stateValue;
  }

  /** The agent, once started (tests, logs). */
  get agent(): Agent | undefined {
    return this.agentValue;
  }

  /** What it holds open now, in the order it was made (tests, logs). */
  parts(): string[] {
    return this.made.map((p) => p.name);
  }

  /** Where the DNS server listens now (tests, logs). */
  dnsAddresses(): ListenAddress[] {
    return this.dnsValue?.addresses() ?? [];
  }

  /**
   * Bring every part up, in order. Rejects (with what it made closed again) when one cannot
   * start, e.g. a --state-dir that cannot be read.
   */
  start(): Promise<void> {
    if (this.stateValue !== 'new')
      return Promise.reject(new Error(`agent node cannot start: it is ${this.stateValue}`));
    this.stateValue = 'starting';
    this.starting = this.bringUp().then(
      () => {
        if (this.stateValue === 'starting') this.stateValue = 'running';
      },
      async (err: unknown) => {
        await this.tearDown().catch(() => {}); // the start's own error is the one to tell
        this.stateValue = 'stopped';
        throw err;
      },
    );
    return this.starting;
  }

  /** Close what start() made, in reverse order (idempotent; waits for a start under way). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const wasStarting = this.starting;
      this.stateValue = 'stopping';
      this.abort.abort();
      await wasStarting?.catch(() => {});
      await this.tearDown();
      this.stateValue = 'stopped';
    })();
    return this.closing;
  }

  // ----------------------------------------------------------------

  private async bringUp(): Promise<void> {
    const { config } = this.opts;
    const log = this.log;
    // Who this node is: its certificate (joining with the token the first time), kept in a
    // state directory only the agent's user may enter.
    if (config.stateDir !== undefined) {
      const dir = config.stateDir;
      await ensureStateDir(dir).catch((err: unknown) => {
        throw new StateDirError(`--state-dir: ${(err as Error).message}`, { cause: err });
      });
    }
    let identity: NodeIdentity | undefined;
    if (this.opts.connect === undefined) {
      const obtain = this.opts.obtainIdentity ?? ((o: IdentityOptions) => NodeIdentity.obtain(o));
      const id = await obtain({
        stateDir: config.stateDir,
        managers: config.managers,
        joinToken: config.joinToken,
        hostname: config.name,
        log,
        signal: this.abort.signal,
      });
      identity = id;
      if (id) this.made.push({ name: 'node identity', close: () => id.close() });
    }
    const nodeId = identity?.nodeId ?? (await readNodeId(config.stateDir));

    // Overlay networks: ip/bridge/iptables in the agent's own network namespace, Docker bridge
    // networks on its engine.
    const network = new NetworkController({
      runner: this.opts.commands ?? execRunner,
      docker: this.opts.dockerNetworks ?? new DockerodeNetworks(new Docker({ socketPath: config.dockerSocket })),
      log,
    });
    this.made.push({ name: 'network controller', close: () => network.close() });

    // Discovery: the Endpoints stream feeds one cache; the DNS server (port 53 of every
    // network's gateway, plus --dns-listen) and the routing mesh (every ingress-published
    // port) read it.
    const cache = new EndpointCache({ log });
    this.made.push({ name: 'endpoint cache', close: () => cache.close() });
    const localTasks = new LocalTasks(cache);
    const upstreams = config.dnsUpstreams ?? (await resolvConfUpstreams());
    const dns = new DnsServer({
      source: cache,
      askers: new HostAskers({ tasks: localTasks, leases: () => network.localLeases() }),
      upstreams,
      log,
    });
    this.dnsValue = dns;
    this.made.push({ name: 'dns server', close: () => dns.close() });
    log(
      `dns: upstream resolvers ${upstreams.map(upstreamString).join(', ') || '(none: names outside the cluster get SERVFAIL)'}`,
    );
    const dnsAddresses = (): ListenAddress[] => [
      ...network.localLeases().map((l) => ({ host: l.gateway, port: DNS_PORT })),
      ...config.dnsListen,
    ];
    const unfollow = network.subscribe(() => void dns.setListen(dnsAddresses()));
    this.made.push({ name: 'dns listen addresses', close: unfollow });
    await dns.setListen(dnsAddresses());

    const ingress = new IngressMesh({
      source: cache,
      log,
      ...(this.opts.ingressHost !== undefined && { host: this.opts.ingressHost }),
    });
    ingress.start();
    this.made.push({ name: 'ingress mesh', close: () => ingress.close() });

    let executor = this.opts.executor;
    if (executor === undefined) {
      const docker = new DockerExecutor({
        socketPath: config.dockerSocket,
        log,
        networks: network,
        filesDir: filesDir(config.stateDir, config.name),
      });
      this.made.push({ name: 'docker executor', close: () => docker.close() });
      executor = docker;
    }

    const endpoints = new EndpointsSubscription({ cache, log });
    this.made.push({ name: 'endpoints subscription', close: () => endpoints.close() });

    const agent = new Agent({
      network,
      endpoints,
      taskObserver: localTasks,
      managers: config.managers,
      joinToken: config.joinToken,
      hostname: config.name,
      labels: config.labels,
      executor,
      nodeId,
      onNodeId: (id) => keepNodeId(config.stateDir, id),
      ...(identity !== undefined && { identity }),
      ...(this.opts.onRemoved !== undefined && { onRemoved: this.opts.onRemoved }),
      log,
      ...(this.opts.connect !== undefined && { connect: this.opts.connect }),
    });
    this.agentValue = agent;
    this.made.push({ name: 'agent', close: () => agent.close() });
    if (this.stateValue !== 'starting') return; // close() came meanwhile: nothing more starts

    log(
      `shoal agent ${config.name} starting: managers ${config.managers.join(',')}, docker ${config.dockerSocket}` +
        (nodeId ? `, node id ${nodeId}` : ''),
    );
    agent.start();
    identity?.startRenewal((csrPem) => agent.renewCertificate(csrPem));
  }

  /** Close what was made, last first; one failure does not keep the others open. */
  private async tearDown(): Promise<void> {
    const errors: unknown[] = [];
    for (let part = this.made.pop(); part !== undefined; part = this.made.pop()) {
      try {
        await part.close();
      } catch (err) {
        errors.push(new Error(`${part.name}: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, errors.map((e) => (e as Error).message).join('; '));
  }
}

/** Where tasks' secrets and configs live: a tmpfs the executor mounts under the state dir. */
function filesDir(stateDir: string | undefined, name: string): string {
  return path.join(stateDir ?? path.join(os.tmpdir(), `shoal-agent-${name}`), 'files');
}
