// The routing mesh: every host accepts connections on every ingress-published port and passes
// each to a task of the service, on any host (swarm's ingress, as a TCP proxy in the agent).
//
//   cache change (service S) -> S's INGRESS tcp ports (published > 0) -> one listener each
//     on HOST:<published> (0.0.0.0, the host's network namespace); a port S no longer
//     publishes (or S gone) -> its listener closed; bind failure (EADDRINUSE) -> one log line,
//     tried again every BIND_RETRY_MS
//   accepted connection -> S's endpoints now, starting at the next one (round robin over all
//     of them, on every host): its IP on S's first network it has an address on, port =
//     target port; connect fails -> the next endpoint (each once), then close (proxy.ts)
//
// The host's namespace routes to every overlay subnet (its own bridge, the other hosts' /24s
// via the VXLAN device), so any task IP is reachable from here. UDP is not proxied (the
// manager refuses UDP ingress ports); host-mode ports are bound by Docker.
import net from 'node:net';
import { PublishMode, type Endpoint, type ServiceEndpoints } from '../../proto/gen/shoal.js';
import type { LifecycleState } from '../../proto/lifecycle.js';
import { systemClock, type Cancel, type Clock } from '../../proto/clock.js';
import type { ServiceSource } from '../discovery/cache.js';
import { silentLog, type Log } from '../log.js';
import { CONNECT_TIMEOUT_MS, proxy, type Backend } from './proxy.js';

/** A published port that could not be bound (in use) is tried again this often. */
export const BIND_RETRY_MS = 3_000;

export interface IngressMeshOptions {
  source: ServiceSource;
  /** Address to listen on (0.0.0.0; tests: 127.0.0.1). */
  host?: string;
  log?: Log;
  connectTimeoutMs?: number;
  bindRetryMs?: number;
  /** The bind retry timers. */
  clock?: Clock;
}

/** The ingress TCP ports of a service: published -> target. */
export function ingressPorts(se: ServiceEndpoints | undefined): Map<number, number> {
  const out = new Map<number, number>();
  if (se === undefined || !se.exists) return out;
  for (const p of se.ports) {
    if (p.publishMode !== PublishMode.INGRESS || p.publishedPort <= 0 || p.targetPort <= 0) continue;
    if ((p.protocol || 'tcp').toLowerCase() !== 'tcp') continue;
    if (!out.has(p.publishedPort)) out.set(p.publishedPort, p.targetPort);
  }
  return out;
}

/** The endpoint's address on the first of the service's networks it has one on. */
export function endpointAddress(e: Endpoint, networks: string[]): string | undefined {
  for (const n of networks) {
    const a = e.addresses.find((x) => x.network === n && x.ip !== '');
    if (a !== undefined) return a.ip;
  }
  // A service without networks (a manager without overlay networks): its first address.
  return networks.length === 0 ? e.addresses.find((x) => x.ip !== '')?.ip : undefined;
}

interface Listener {
  port: number;
  service: string;
  targetPort: number;
  server: net.Server | undefined;
  retry: Cancel | undefined;
  closed: boolean;
  /** Next endpoint to start from. */
  next: number;
  lastErr: string;
}

export class IngressMesh {
  private readonly source: ServiceSource;
  private readonly host: string;
  private readonly log: Log;
  private readonly connectTimeoutMs: number;
  private readonly bindRetryMs: number;
  private readonly listeners = new Map<number, Listener>();
  private readonly open = new Set<net.Socket>();
  private readonly clock: Clock;
  private unsubscribe: (() => void) | undefined;
  private state: LifecycleState = 'new';
  /** Connections passed to a backend / closed for want of one (tests, logs). */
  proxied = 0;
  refused = 0;

  constructor(opts: IngressMeshOptions) {
    this.source = opts.source;
    this.host = opts.host ?? '0.0.0.0';
    this.log = opts.log ?? silentLog;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
    this.bindRetryMs = opts.bindRetryMs ?? BIND_RETRY_MS;
    this.clock = opts.clock ?? systemClock;
  }

  /** Follow the cache: listeners for what it has now, then for every change. */
  start(): void {
    if (this.state !== 'new') return;
    this.state = 'running';
    this.unsubscribe = this.source.onChange((name) => this.sync(name));
    for (const se of this.source.services()) this.sync(se.name);
  }

  /** Published ports with a listener bound now -> service (tests, logs). */
  listening(): Map<number, string> {
    const out = new Map<number, string>();
    for (const l of this.listeners.values()) if (l.server?.listening) out.set(l.port, l.service);
    return out;
  }

  /** Close every listener and connection (idempotent). */
  async close(): Promise<void> {
    this.state = 'stopped';
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    for (const l of this.listeners.values()) this.stop(l);
    this.listeners.clear();
    for (const s of this.open) s.destroy();
    this.open.clear();
  }

  // ----------------------------------------------------------------

  /** One service changed: its listeners follow what it publishes now. */
  private sync(name: string): void {
    if (this.state !== 'running') return;
    const wanted = ingressPorts(this.source.get(name));
    for (const l of [...this.listeners.values()]) {
      if (l.service !== name || wanted.has(l.port)) continue;
      this.listeners.delete(l.port);
      this.stop(l);
      this.log(`ingress: port ${l.port} closed (service ${name} no longer publishes it)`);
    }
    for (const [port, targetPort] of wanted) {
      const l = this.listeners.get(port);
      if (l !== undefined) {
        // The manager never gives one port to two services; if it moved, it moves with it.
        l.service = name;
        l.targetPort = targetPort;
        continue;
      }
      const fresh: Listener = {
        port,
        service: name,
        targetPort,
        server: undefined,
        retry: undefined,
        closed: false,
        next: 0,
        lastErr: '',
      };
      this.listeners.set(port, fresh);
      this.listen(fresh);
    }
  }

  private listen(l: Listener): void {
    if (l.closed) return;
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (sock) => this.accept(l, sock));
    l.server = server;
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (l.closed || l.server !== server) return;
      server.close();
      l.server = undefined;
      const why = err.code ?? err.message;
      if (why !== l.lastErr) {
        this.log(
          `ingress: cannot listen on ${this.host}:${l.port} for service ${l.service}: ${why} (trying again every ${this.bindRetryMs / 1000} s)`,
        );
      }
      l.lastErr = why;
      l.retry = this.clock.after(this.bindRetryMs, () => this.listen(l), { unref: true });
    });
    server.listen({ host: this.host, port: l.port }, () => {
      if (l.closed) return void server.close();
      l.lastErr = '';
      this.log(`ingress: listening on ${this.host}:${l.port} for service ${l.service} (target port ${l.targetPort})`);
    });
  }

  private stop(l: Listener): void {
    l.closed = true;
    l.retry?.();
    l.server?.close();
    l.server = undefined;
  }

  private accept(l: Listener, client: net.Socket): void {
    this.open.add(client);
    client.once('close', () => this.open.delete(client));
    const se = this.source.get(l.service);
    const backends: Backend[] = [];
    const eps = se?.endpoints ?? [];
    const n = eps.length;
    if (se !== undefined && n > 0) {
      // Round robin: this connection starts at the next endpoint, then tries the others once.
      const start = l.next % n;
      l.next = (start + 1) % n;
      for (let i = 0; i < n; i++) {
        const e = eps[(start + i) % n] as Endpoint;
        const host = endpointAddress(e, se.networks);
        if (host !== undefined) backends.push({ host, port: l.targetPort });
      }
    }
    if (backends.length === 0) {
      this.refused++;
      client.destroy();
      return;
    }
    void proxy(client, backends, this.connectTimeoutMs).then((used) => {
      if (used !== undefined) this.proxied++;
      else this.refused++;
    });
  }
}
