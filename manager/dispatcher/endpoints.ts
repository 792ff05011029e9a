// Discovery for agents: the Endpoints stream, fed by the endpoint catalog. One stream per
// agent session; per service name, the streams subscribed to it (watched, plus every
// service with ingress-published ports), so a change costs O(subscribers), not O(agents).
// Changes are coalesced per stream and tick: one message, each changed name once.
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { EndpointsMessage, EndpointsRequest, ServiceEndpoints } from '../../proto/gen/shoal.js';
import { PublishMode } from '../../proto/gen/shoal.js';
import type { EndpointView } from '../discovery/view.js';
import { toServiceError, unavailable } from '../errors.js';

/** While the endpoint catalog has not loaded yet, new Endpoints streams are looked at this often. */
const CATALOG_WAIT_MS = 50;

export type EndpointsCall = ServerDuplexStream<EndpointsRequest, EndpointsMessage>;

/** A service every agent gets without asking: it has a port published on the routing mesh. */
export function hasIngressPorts(se: ServiceEndpoints): boolean {
  return se.exists && se.ports.some((p) => p.publishMode === PublishMode.INGRESS && p.publishedPort > 0);
}

/** One agent's Endpoints stream: the names it watches and what is queued for it. */
interface EndpointStream {
  call: EndpointsCall;
  nodeId: string;
  watched: Set<string>;
  queued: Set<string>;
  sendNames: boolean;
  /** false until the first message (names + everything subscribed) went out */
  started: boolean;
  flushScheduled: boolean;
  closed: boolean;
}

export class EndpointStreams {
  private readonly streams = new Set<EndpointStream>();
  /** node id -> its session's stream */
  private readonly byNode = new Map<string, EndpointStream>();
  /** name -> the streams that asked for it */
  private readonly watchers = new Map<string, Set<EndpointStream>>();
  /** names with ingress-published ports (every stream gets them); undefined until the catalog loaded */
  private ingress: Set<string> | undefined;
  private lastNames: string[] = [];
  private readonly waitingForCatalog = new Set<EndpointStream>();
  private catalogTimer: NodeJS.Timeout | undefined;
  private readonly stopViewListener: (() => void) | undefined;

  constructor(
    /** Discovery's catalog; without it the Endpoints stream answers UNAVAILABLE. */
    private readonly view: EndpointView | undefined,
    /** The node of a current session; throws (NOT_FOUND) for an unknown one. */
    private readonly sessionNode: (nodeId: string, sessionId: string) => string,
  ) {
    if (view) this.stopViewListener = view.onChange((name) => this.endpointsChanged(name));
  }

  /** Open streams (for tests and logs). */
  get size(): number {
    return this.streams.size;
  }

  /** Ends every stream; idempotent. */
  async close(): Promise<void> {
    if (this.catalogTimer) clearInterval(this.catalogTimer);
    this.catalogTimer = undefined;
    this.stopViewListener?.();
    for (const e of [...this.streams]) this.end(e);
  }

  /** The node's session ended: so does its stream (the agent opens a new one with its next session). */
  endFor(nodeId: string): void {
    const stream = this.byNode.get(nodeId);
    if (stream) this.end(stream);
  }

  /**
   * The agent's discovery stream. Its first request names node and session (and may
   * watch names); later requests watch and unwatch names. The first message carries every
   * service name and the answer for each subscribed name (watched ones and every service
   * with ingress-published ports); after that, a message per tick of changes, with each
   * changed name's complete ServiceEndpoints, and the names again when they changed.
   */
  serve(call: EndpointsCall): void {
    let stream: EndpointStream | undefined;
    call.on('data', (req: EndpointsRequest) => {
      if (stream) {
        if (!stream.closed) this.updateWatches(stream, req);
        return;
      }
      if (!this.view) {
        call.emit('error', toServiceError(unavailable('discovery is not available on this manager')));
        return;
      }
      let nodeId: string;
      try {
        nodeId = this.sessionNode(req.nodeId, req.sessionId);
      } catch (err) {
        call.emit('error', toServiceError(err));
        return;
      }
      this.endFor(nodeId);
      stream = {
        call,
        nodeId,
        watched: new Set(),
        queued: new Set(),
        sendNames: true,
        started: false,
        flushScheduled: false,
        closed: false,
      };
      this.byNode.set(nodeId, stream);
      this.streams.add(stream);
      this.updateWatches(stream, req);
      if (this.view.loaded) this.startStream(stream);
      else this.waitForCatalog(stream);
    });
    const detach = () => {
      if (stream) this.forget(stream);
    };
    call.on('end', () => {
      detach();
      call.end();
    });
    call.on('cancelled', detach);
    call.on('close', detach);
    call.on('error', detach);
  }

  private updateWatches(stream: EndpointStream, req: EndpointsRequest): void {
    for (const name of req.unwatch) {
      if (!stream.watched.delete(name)) continue;
      const set = this.watchers.get(name);
      set?.delete(stream);
      if (set?.size === 0) this.watchers.delete(name);
      stream.queued.delete(name);
    }
    for (const name of req.watch) {
      if (!name) continue;
      if (stream.watched.has(name)) {
        // Asked again (the agent dropped what it had): answer again.
        if (stream.started) this.queueName(stream, name);
        continue;
      }
      stream.watched.add(name);
      let set = this.watchers.get(name);
      if (!set) this.watchers.set(name, (set = new Set()));
      set.add(stream);
      // Answered at once, even when the agent gets it anyway (ingress): it asked.
      if (stream.started) this.queueName(stream, name);
    }
  }

  private waitForCatalog(stream: EndpointStream): void {
    this.waitingForCatalog.add(stream);
    if (this.catalogTimer) return;
    this.catalogTimer = setInterval(() => {
      if (!this.view?.loaded) return;
      clearInterval(this.catalogTimer);
      this.catalogTimer = undefined;
      for (const s of this.waitingForCatalog) if (!s.closed) this.startStream(s);
      this.waitingForCatalog.clear();
    }, CATALOG_WAIT_MS);
    this.catalogTimer.unref();
  }

  /** The first message: every name, and each subscribed name's endpoints. */
  private startStream(stream: EndpointStream): void {
    const view = this.view!;
    const ingress = this.ingressNames();
    const names = new Set<string>([...stream.watched, ...ingress]);
    stream.started = true;
    stream.sendNames = false;
    stream.queued.clear();
    this.lastNames = view.serviceNames();
    stream.call.write({
      services: [...names].map((n) => view.lookup(n)),
      hasServiceNames: true,
      serviceNames: this.lastNames,
    });
  }

  /** The catalog applied a change of `name`: queue it for every stream subscribed to it. */
  private endpointsChanged(name: string): void {
    const view = this.view!;
    const names = view.serviceNames();
    if (names !== this.lastNames && names.join('\n') !== this.lastNames.join('\n')) {
      // The set of names changed: every agent needs it (a service was created or removed).
      this.lastNames = names;
      for (const s of this.streams) {
        if (!s.started) continue;
        s.sendNames = true;
        this.scheduleFlush(s);
      }
    } else this.lastNames = names;
    if (this.ingress) {
      const was = this.ingress.has(name);
      // Per batch of endpoint changes: must not build the service's whole endpoint list.
      const is = view.publishesIngress ? view.publishesIngress(name) : hasIngressPorts(view.lookup(name));
      if (is) this.ingress.add(name);
      else this.ingress.delete(name);
      if (was || is) {
        // Every agent routes it (or did until now, and must hear that it stopped).
        for (const s of this.streams) this.queueName(s, name);
        return;
      }
    }
    for (const s of this.watchers.get(name) ?? []) this.queueName(s, name);
  }

  /** The names every stream gets without asking; computed from the catalog once, then kept up to date. */
  private ingressNames(): Set<string> {
    if (!this.ingress) {
      const view = this.view!;
      this.ingress = new Set(view.serviceNames().filter((n) => hasIngressPorts(view.lookup(n))));
    }
    return this.ingress;
  }

  private queueName(stream: EndpointStream, name: string): void {
    if (!stream.started || stream.closed) return;
    stream.queued.add(name);
    this.scheduleFlush(stream);
  }

  /** All of one tick's changes go out in one message; a name changed twice is sent once. */
  private scheduleFlush(stream: EndpointStream): void {
    if (stream.flushScheduled) return;
    stream.flushScheduled = true;
    setImmediate(() => {
      stream.flushScheduled = false;
      if (stream.closed || (stream.queued.size === 0 && !stream.sendNames)) return;
      const view = this.view!;
      const msg: EndpointsMessage = {
        services: [...stream.queued].map((n) => view.lookup(n)),
        hasServiceNames: stream.sendNames,
        serviceNames: stream.sendNames ? view.serviceNames() : [],
      };
      stream.queued.clear();
      stream.sendNames = false;
      stream.call.write(msg);
    });
  }

  private forget(stream: EndpointStream): void {
    if (stream.closed) return;
    stream.closed = true;
    this.streams.delete(stream);
    this.waitingForCatalog.delete(stream);
    for (const name of stream.watched) {
      const set = this.watchers.get(name);
      set?.delete(stream);
      if (set?.size === 0) this.watchers.delete(name);
    }
    if (this.byNode.get(stream.nodeId) === stream) this.byNode.delete(stream.nodeId);
  }

  private end(stream: EndpointStream): void {
    const wasOpen = !stream.closed;
    this.forget(stream);
    if (wasOpen) {
      try {
        stream.call.end();
      } catch {
        // already ended
      }
    }
  }
}
