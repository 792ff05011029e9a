// Overlay networks on this host, driven by the manager's Networks stream (each message the
// full set) plus a full reconcile every RECONCILE_MS, which also deletes what should not
// exist: entries of removed hosts, devices, rules and Docker networks of removed networks.
//
//   mode 'unknown'      no set yet: tasks that join a network wait in PREPARING
//   mode 'supported'    a set came: a network is ready once its Docker network and VXLAN
//                       device are in place; tasks wait until the ones they join are
//   mode 'unsupported'  the manager has no Networks stream: tasks run as before, with no
//                       network of shoal's
//
// A failure here never touches a task that joins no network: it only keeps the networks it
// concerns "not ready" (and is retried on the next message or reconcile).
import type { NetworksMessage } from '../../proto/gen/shoal.js';
import type { LifecycleState } from '../../proto/lifecycle.js';
import { errorMessage } from '../exec/errors.js';
import { silentLog, type Log } from '../log.js';
import type { CommandRunner } from './commands.js';
import { matches, wantedOptions, type DockerNetworks } from './docker.js';
import { applyRules, applyVxlan, findUnderlay, overlayMtu, removeStaleDevices, type Underlay } from './kernel.js';
import { NET_LABEL, plan, type LocalNetwork } from './plan.js';

export const RECONCILE_MS = 30_000;

export type NetworkMode = 'unknown' | 'supported' | 'unsupported';

/** What a task's controller asks before it creates a container (see exec/docker). */
export interface NetworkAttachments {
  /** The Docker network to attach for shoal network `name`; undefined: not ready here (yet). */
  dockerNetwork(name: string): string | undefined;
  /** True when the manager has no networks (tasks then run with no network of shoal's). */
  readonly unsupported: boolean;
  /** Resolves on the next change of what is ready (or when `signal` aborts). */
  changed(signal: AbortSignal): Promise<void>;
  /** The gateway (.1 of this host's lease) of shoal network `name`, once it is ready here. */
  gateway?(name: string): string | undefined;
}

/** A network ready on this host, as discovery needs it (DNS listens on its gateway). */
export interface LocalLease {
  name: string;
  /** This host's lease, e.g. 10.42.3.0/24. */
  subnet: string;
  /** Its .1: the Docker bridge's address. */
  gateway: string;
}

export interface NetworkControllerOptions {
  runner: CommandRunner;
  docker: DockerNetworks;
  log?: Log;
  reconcileMs?: number;
}

export class NetworkController implements NetworkAttachments {
  private readonly runner: CommandRunner;
  private readonly docker: DockerNetworks;
  private readonly log: Log;
  private readonly reconcileMs: number;
  private modeValue: NetworkMode = 'unknown';
  private latest: { msg: NetworksMessage; nodeId: string } | undefined;
  /** shoal network name -> the network as built, for the networks ready on this host. */
  private ready = new Map<string, LocalNetwork>();
  private waiters = new Set<() => void>();
  private readonly subscribers = new Set<() => void>();
  private applying: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  /** Running from construction; close() stops it for good. */
  private state: LifecycleState = 'running';
  private closing: Promise<void> | undefined;
  /** Last error line per subject: each logged once per change. */
  private readonly lastErr = new Map<string, string>();
  /** Applies completed (tests). */
  applied = 0;

  constructor(opts: NetworkControllerOptions) {
    this.runner = opts.runner;
    this.docker = opts.docker;
    this.log = opts.log ?? silentLog;
    this.reconcileMs = opts.reconcileMs ?? RECONCILE_MS;
  }

  get mode(): NetworkMode {
    return this.modeValue;
  }

  get unsupported(): boolean {
    return this.modeValue === 'unsupported';
  }

  dockerNetwork(name: string): string | undefined {
    return this.ready.get(name)?.dockerName;
  }

  gateway(name: string): string | undefined {
    return this.ready.get(name)?.gateway;
  }

  /** The networks ready on this host with their lease and gateway, sorted by name. */
  localLeases(): LocalLease[] {
    return [...this.ready.values()]
      .map((n) => ({ name: n.name, subnet: n.subnet, gateway: n.gateway }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Call `listener` after every change of what is ready (or of a ready network's lease). */
  subscribe(listener: () => void): () => void {
    this.subscribers.add(listener);
    return () => this.subscribers.delete(listener);
  }

  /** Names of the networks ready here (tests, logs). */
  readyNetworks(): string[] {
    return [...this.ready.keys()].sort();
  }

  changed(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        this.waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** A message of the Networks stream: the full set. Applied at once (one apply at a time). */
  handle(msg: NetworksMessage, nodeId: string): Promise<void> {
    if (this.state !== 'running') return Promise.resolve();
    this.latest = { msg, nodeId };
    if (this.modeValue !== 'supported') {
      this.modeValue = 'supported';
      this.notify();
    }
    this.startTimer();
    return this.kick();
  }

  /** The manager answered UNIMPLEMENTED: it has no networks. */
  setUnsupported(): void {
    if (this.modeValue === 'unsupported' || this.latest !== undefined) return;
    this.modeValue = 'unsupported';
    this.log('network: the manager has no Networks stream; tasks run without overlay networks');
    this.notify();
  }

  /** Apply the latest set again (what the timer does every RECONCILE_MS). */
  reconcile(): Promise<void> {
    return this.kick();
  }

  /**
   * Stop (idempotent): no more applies or reconciles; resolves once an apply in flight is
   * done. What it built stays (tasks keep their networks while the agent is away).
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.state = 'stopping';
      clearInterval(this.timer);
      this.timer = undefined;
      await this.applying;
      this.state = 'stopped';
    })();
    return this.closing;
  }

  private get closed(): boolean {
    return this.state !== 'running';
  }

  // ----------------------------------------------------------------

  private startTimer(): void {
    if (this.timer !== undefined || this.closed) return;
    this.timer = setInterval(() => void this.kick(), this.reconcileMs);
    this.timer.unref();
  }

  private kick(): Promise<void> {
    if (this.applying !== undefined) {
      this.again = true;
      return this.applying;
    }
    this.applying = (async () => {
      do {
        this.again = false;
        const latest = this.latest;
        if (latest === undefined || this.closed) break;
        try {
          await this.apply(latest.msg, latest.nodeId);
        } catch (err) {
          this.problem('apply', err);
        }
        this.applied++;
      } while (this.again && !this.closed);
    })().finally(() => {
      this.applying = undefined;
    });
    return this.applying;
  }

  private async apply(msg: NetworksMessage, nodeId: string): Promise<void> {
    const p = plan(msg, nodeId, (l) => this.once(`plan ${l}`, `network: ${l}`));
    const ready = new Map<string, LocalNetwork>();
    const built: LocalNetwork[] = [];

    // Docker networks of ours that are not in the set (or are of an older network of that name).
    const wanted = new Map(p.networks.map((n) => [n.dockerName, n]));
    let existing = await this.docker.list();
    for (const d of existing) {
      const w = wanted.get(d.name);
      if (w !== undefined && d.networkId === w.id) continue;
      await this.tryRemoveDocker(d.name, w === undefined ? 'network removed' : 'network replaced');
    }
    existing = await this.docker.list();

    const underlays = new Map<string, Underlay | undefined>();
    let major: number | undefined;
    for (const net of p.networks) {
      try {
        if (!underlays.has(net.localAddress))
          underlays.set(net.localAddress, await findUnderlay(this.runner, net.localAddress));
        const underlay = underlays.get(net.localAddress);
        if (underlay === undefined) throw new Error(`no interface has this host's address ${net.localAddress}`);
        const mtu = overlayMtu(underlay);
        major ??= await this.docker.engineMajor();
        const options = wantedOptions(net, mtu, major);
        const have = existing.find((d) => d.name === net.dockerName);
        if (have !== undefined && !matches(have, net, options)) {
          this.log(
            `network ${net.name}: Docker network ${net.dockerName} is ${have.subnet} gw ${have.gateway}, wants ${net.subnet}: recreating`,
          );
          await this.docker.remove(net.dockerName);
        }
        if (have === undefined || !matches(have, net, options)) {
          await this.docker.create(
            net.dockerName,
            { [NET_LABEL.id]: net.id, [NET_LABEL.name]: net.name },
            net.subnet,
            net.gateway,
            options,
          );
          this.log(
            `network ${net.name}: Docker network ${net.dockerName} ${net.subnet} (bridge ${net.bridge}, mtu ${mtu})`,
          );
        }
        await applyVxlan(this.runner, net, underlay);
        built.push(net);
        ready.set(net.name, net);
        this.ok(`net ${net.name}`, `network ${net.name}: ready (${net.vxlan}, ${net.peers.length} peer(s))`);
      } catch (err) {
        this.problem(`net ${net.name}`, err, `network ${net.name}`);
      }
    }

    try {
      const removed = await removeStaleDevices(this.runner, new Set(p.networks.map((n) => n.vxlan)));
      for (const dev of removed) this.log(`network: removed ${dev} (its network is gone)`);
    } catch (err) {
      this.problem('devices', err);
    }
    try {
      // Rules for every network of the set that has a lease here, built or not: isolation
      // must hold even for a network whose device is still being set up.
      await applyRules(this.runner, p.networks);
      this.ok('rules', undefined);
    } catch (err) {
      this.problem('rules', err);
    }

    const before = readyKey(this.ready);
    this.ready = ready;
    if (readyKey(ready) !== before) this.notify();
  }

  private async tryRemoveDocker(name: string, why: string): Promise<void> {
    try {
      await this.docker.remove(name);
      this.log(`network: removed Docker network ${name} (${why})`);
    } catch (err) {
      this.problem(`rm ${name}`, err, `network: removing Docker network ${name} (${why})`);
    }
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
    for (const s of [...this.subscribers]) {
      try {
        s();
      } catch (err) {
        this.problem('subscriber', err);
      }
    }
  }

  private problem(subject: string, err: unknown, prefix = 'network'): void {
    this.once(subject, `${prefix}: ${errorMessage(err)}`);
  }

  private ok(subject: string, line: string | undefined): void {
    if (this.lastErr.get(subject) === 'ok') return;
    this.lastErr.set(subject, 'ok');
    if (line !== undefined) this.log(line);
  }

  private once(subject: string, line: string): void {
    if (this.lastErr.get(subject) === line) return;
    this.lastErr.set(subject, line);
    this.log(line);
  }
}

/** What readiness depends on: name, Docker network, lease and gateway of each ready network. */
function readyKey(ready: Map<string, LocalNetwork>): string {
  return [...ready.values()]
    .map((n) => `${n.name}=${n.dockerName}:${n.subnet}:${n.gateway}`)
    .sort()
    .join(',');
}
