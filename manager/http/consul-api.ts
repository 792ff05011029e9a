// The manager's HTTP API in Consul's shape, so Consul-aware tools and scripts find shoal's
// services: health and catalog lookups with blocking queries, the service list, the leader.
// Answers come from the EndpointView (watch-fed), never from etcd per request.
import http from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { systemClock, type Clock } from '../../proto/clock.js';
import type { LifecycleState } from '../../proto/lifecycle.js';
import type { EndpointView } from '../discovery/view.js';
import { blockUntilNewer, WAIT_SLICE_MS } from './blocking.js';
import { catalogEntries, healthEntries, onlyPassing } from './consul-shape.js';
import { blockingParams, flag, QueryError, type BlockingParams } from './query.js';

/** After close() has answered the pending blocking queries, sockets still open this long later are cut. */
const CLOSE_GRACE_MS = 2_000;

type Route =
  { kind: 'health'; name: string } | { kind: 'catalog'; name: string } | { kind: 'services' } | { kind: 'leader' };

/** A refusal: status code and a one-line text body. */
class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export interface ConsulHttpApiOptions {
  view: EndpointView;
  leaderAddress: () => string;
  log: (l: string) => void;
  /** What a blocking query's deadline is kept by (the system's); the view's own, in tests. */
  clock?: Clock;
  /**
   * Required as `Authorization: Bearer TOKEN` (or Consul's `X-Consul-Token`) on every
   * request; the manager sets one whenever the API listens beyond loopback.
   */
  token?: string;
}

const HEALTH_PREFIX = '/v1/health/service/';
const CATALOG_PREFIX = '/v1/catalog/service/';

export class ConsulHttpApi {
  private readonly view: EndpointView;
  private readonly leaderAddress: () => string;
  private readonly log: (l: string) => void;
  private readonly server: http.Server;
  private state: LifecycleState = 'new';
  private closing: Promise<void> | undefined;
  /** One per blocking query in flight; aborted when its client goes away or on close(). */
  private readonly pending = new Set<AbortController>();
  private readonly clock: Clock;
  private readonly token: Buffer | undefined;

  constructor(opts: ConsulHttpApiOptions) {
    this.token = opts.token ? Buffer.from(opts.token) : undefined;
    this.view = opts.view;
    this.leaderAddress = opts.leaderAddress;
    this.log = opts.log;
    this.clock = opts.clock ?? systemClock;
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  /** Resolves with the bound host:port (port 0 picks one); rejects when the address is taken. */
  async listen(hostPort: string): Promise<string> {
    if (this.state !== 'new') throw new Error(`consul http api: cannot listen while ${this.state}`);
    const { host, port } = parseHostPort(hostPort);
    this.state = 'starting';
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        this.server.off('listening', onListening);
        const why = err.code === 'EADDRINUSE' ? 'address already in use' : err.message;
        reject(new Error(`consul http api: cannot listen on ${hostPort}: ${why}`, { cause: err }));
      };
      const onListening = () => {
        this.server.off('error', onError);
        resolve();
      };
      this.server.once('error', onError);
      this.server.once('listening', onListening);
      this.server.listen(port, host);
    }).catch((err: unknown) => {
      this.state = 'new'; // nothing listens: listen() may be called again
      throw err;
    });
    this.server.on('error', (err) => this.log(`consul http api: ${err.message}`));
    this.state = 'running';
    const a = this.server.address() as AddressInfo;
    const bound = a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
    this.log(`consul http api: listening on ${bound}`);
    return bound;
  }

  /** Blocking queries waiting for an answer (for tests and logs). */
  get pendingQueries(): number {
    return this.pending.size;
  }

  /** Answers pending blocking queries with what the view holds now, then stops. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const wasListening = this.state === 'running';
    this.state = 'stopping';
    for (const ac of this.pending) ac.abort();
    if (wasListening) {
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => this.server.closeAllConnections(), CLOSE_GRACE_MS);
        this.server.close(() => {
          clearTimeout(force);
          resolve();
        });
        this.server.closeIdleConnections();
      });
    }
    this.state = 'stopped';
  }

  private authorized(req: http.IncomingMessage): boolean {
    const auth = req.headers.authorization ?? '';
    const given = auth.startsWith('Bearer ') ? auth.slice(7).trim() : String(req.headers['x-consul-token'] ?? '');
    const g = Buffer.from(given);
    return this.token !== undefined && g.length === this.token.length && timingSafeEqual(g, this.token);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.serve(req, res).catch((err: unknown) => {
      if (err instanceof HttpError) return this.sendText(res, err.status, err.message, err.headers);
      const message = err instanceof Error ? err.message : String(err);
      this.log(`consul http api: ${req.method} ${req.url}: ${message}`);
      if (!res.headersSent) this.sendText(res, 500, `internal error: ${message}`);
      else res.destroy();
    });
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    if (this.token && !this.authorized(req))
      throw new HttpError(
        401,
        "a token is required: Authorization: Bearer TOKEN (the manager's STATE-DIR/http.token)",
        {
          'WWW-Authenticate': 'Bearer',
        },
      );
    const route = matchRoute(path);
    if (req.method !== 'GET')
      throw new HttpError(405, `method ${req.method} not allowed on ${path}; use GET`, { Allow: 'GET' });
    if (this.state !== 'running') throw new HttpError(503, 'the manager is shutting down');
    let pretty: boolean;
    let blocking: BlockingParams = { index: undefined, waitMs: 0 };
    let passing = false;
    try {
      pretty = flag(query, 'pretty');
      if (route.kind !== 'leader') blocking = blockingParams(query);
      if (route.kind === 'health') passing = flag(query, 'passing');
    } catch (err) {
      if (err instanceof QueryError) throw new HttpError(400, err.message);
      throw err;
    }

    if (route.kind === 'leader') return this.sendJson(res, this.view.index, this.leaderAddress(), pretty);
    if (!this.view.loaded)
      throw new HttpError(503, 'the service catalog is not loaded yet; retry shortly', { 'Retry-After': '1' });

    if (route.kind === 'services') {
      const r = await this.block(
        res,
        blocking,
        (ms) => this.view.waitForNames(blocking.index ?? 0, ms),
        () => this.view.waitForNames(0, 0),
      );
      if (!r) return;
      const body: Record<string, string[]> = {};
      for (const name of r.names) body[name] = [];
      return this.sendJson(res, r.index, body, pretty);
    }

    const r = await this.block(
      res,
      blocking,
      (ms) => this.view.waitFor(route.name, blocking.index ?? 0, ms),
      () => Promise.resolve(this.view.lookup(route.name)),
    );
    if (!r) return;
    if (route.kind === 'catalog') return this.sendJson(res, r.index, catalogEntries(r), pretty);
    const entries = healthEntries(r);
    return this.sendJson(res, r.index, passing ? onlyPassing(entries) : entries, pretty);
  }

  /**
   * The answer now (no index given), or once it is newer than the index or the wait is over.
   * Undefined when the client went away meanwhile (nothing left to answer); on close(), the
   * answer as the view holds it then.
   */
  private async block<T extends { index: number }>(
    res: http.ServerResponse,
    p: BlockingParams,
    wait: (timeoutMs: number) => Promise<T>,
    now: () => Promise<T>,
  ): Promise<T | undefined> {
    if (p.index === undefined) return now();
    const ac = new AbortController();
    let gone = false;
    const onClose = () => {
      if (res.writableEnded) return;
      gone = true;
      ac.abort();
    };
    res.on('close', onClose);
    this.pending.add(ac);
    try {
      const r = await blockUntilNewer(wait, p.index, p.waitMs, ac.signal, WAIT_SLICE_MS, this.clock);
      if (r) return r;
      if (gone) return undefined;
      return now(); // close() ended the wait: answer with what there is
    } finally {
      this.pending.delete(ac);
      res.off('close', onClose);
    }
  }

  private commonHeaders(): Record<string, string> {
    const h: Record<string, string> = {
      'X-Consul-KnownLeader': this.leaderAddress() !== '' ? 'true' : 'false',
      'X-Consul-LastContact': '0',
    };
    if (this.state !== 'running') h['Connection'] = 'close';
    return h;
  }

  private sendJson(res: http.ServerResponse, index: number, value: unknown, pretty: boolean): void {
    if (res.destroyed) return;
    // Go's json.MarshalIndent as Consul uses it: four spaces, and a final newline
    const body = pretty ? `${JSON.stringify(value, null, 4)}\n` : JSON.stringify(value);
    res.writeHead(200, {
      ...this.commonHeaders(),
      'X-Consul-Index': String(Math.max(1, index)),
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
    });
    res.end(body);
  }

  private sendText(res: http.ServerResponse, status: number, line: string, headers: Record<string, string> = {}): void {
    if (res.destroyed || res.headersSent) return;
    const body = `${line}\n`;
    res.writeHead(status, {
      ...this.commonHeaders(),
      ...headers,
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
    });
    res.end(body);
  }
}

function matchRoute(path: string): Route {
  if (path === '/v1/status/leader') return { kind: 'leader' };
  if (path === '/v1/catalog/services') return { kind: 'services' };
  if (path.startsWith(HEALTH_PREFIX)) return { kind: 'health', name: serviceName(path, HEALTH_PREFIX) };
  if (path.startsWith(CATALOG_PREFIX)) return { kind: 'catalog', name: serviceName(path, CATALOG_PREFIX) };
  throw notFound(path);
}

function serviceName(path: string, prefix: string): string {
  const raw = path.slice(prefix.length);
  if (raw === '') throw new HttpError(400, `missing service name: ${prefix}<name>`);
  if (raw.includes('/')) throw notFound(path);
  let name: string;
  try {
    name = decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, `invalid service name "${raw}": bad percent-encoding`);
  }
  if (name.includes('/')) throw notFound(path);
  return name;
}

function notFound(path: string): HttpError {
  return new HttpError(404, `no such endpoint: ${path.replace(/[^\x21-\x7e]/g, '?')}`);
}

function parseHostPort(hostPort: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(hostPort);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65_535)
    throw new Error(`consul http api: invalid listen address "${hostPort}" (expected host:port, e.g. 0.0.0.0:8500)`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}
