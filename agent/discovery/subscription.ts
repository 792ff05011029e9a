// The Endpoints stream of one session (the Dispatcher's `Endpoints`, bidirectional), feeding
// the EndpointCache:
//
//   open: first request {node_id, session_id, watch: every watched name}
//         -> messages: ServiceEndpoints per watched name (at once, then on every change),
//            every ingress service, the cluster's service names (first message, on change)
//         later requests: {watch: [name]} when a DNS query needs a new name, {unwatch} when idle
//   broken (error, end): reopened after ENDPOINTS_RETRY_MS; the new stream's answers replace
//         the old ones (EndpointCache.attach). Its failure never ends the session.
//   UNIMPLEMENTED: the manager has no discovery; not tried again in this session.
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { DispatcherClient, EndpointsMessage } from '../../proto/gen/shoal.js';
import { silentLog, type Log } from '../log.js';
import { SessionError, toSessionError, type EndpointsFollower } from '../session.js';
import type { EndpointCache, WatchSender } from './cache.js';

/** A broken Endpoints stream is opened again after this long: answers must stay fresh. */
export const ENDPOINTS_RETRY_MS = 500;

export interface EndpointsSubscriptionOptions {
  cache: EndpointCache;
  log?: Log;
  retryMs?: number;
}

export class EndpointsSubscription implements EndpointsFollower {
  private readonly cache: EndpointCache;
  private readonly log: Log;
  private readonly retryMs: number;
  /** Streams opened (tests). */
  opened = 0;
  /** The stop function of every follow() still going. */
  private readonly following = new Set<() => void>();
  private closed = false;

  constructor(opts: EndpointsSubscriptionOptions) {
    this.cache = opts.cache;
    this.log = opts.log ?? silentLog;
    this.retryMs = opts.retryMs ?? ENDPOINTS_RETRY_MS;
  }

  /** Follow the stream for this session until the returned function is called. */
  follow(client: DispatcherClient, ids: { nodeId: string; sessionId: string }): () => void {
    if (this.closed) return () => {};
    let stopped = false;
    let current: { call: ReturnType<DispatcherClient['endpoints']>; send: WatchSender } | undefined;
    let timer: NodeJS.Timeout | undefined;
    let lastErr = '';

    const drop = (c: NonNullable<typeof current>) => {
      this.cache.detach(c.send);
      c.call.removeAllListeners();
      c.call.on('error', () => {}); // cancel() makes it emit CANCELLED
      c.call.cancel();
    };

    const open = () => {
      if (stopped) return;
      const call = client.endpoints();
      this.opened++;
      const send: WatchSender = ({ watch, unwatch }) => {
        if (current?.call !== call) return;
        try {
          call.write({ nodeId: ids.nodeId, sessionId: ids.sessionId, watch, unwatch });
        } catch {
          // the stream is failing; its error handler reopens it
        }
      };
      const c = { call, send };
      current = c;
      const broken = (err: SessionError) => {
        if (current !== c) return;
        current = undefined;
        drop(c);
        if (err.code === GrpcStatus.UNIMPLEMENTED) {
          this.log('discovery: the manager has no Endpoints stream; DNS answers SERVFAIL for cluster names');
          this.cache.setUnsupported();
          return;
        }
        if (err.message !== lastErr) this.log(`discovery: ${err.message} (opening it again in ${this.retryMs} ms)`);
        lastErr = err.message;
        timer = setTimeout(open, this.retryMs);
      };
      call.on('data', (msg: EndpointsMessage) => {
        if (current !== c) return;
        if (lastErr !== '') this.log('discovery: Endpoints stream open again');
        lastErr = '';
        try {
          this.cache.apply(msg, send);
        } catch (err) {
          this.log(`discovery: applying endpoints failed: ${err instanceof Error ? err.message : String(err)}`);
        }
      });
      call.on('error', (err: unknown) => broken(toSessionError(err, 'Endpoints')));
      call.on('end', () => broken(new SessionError('Endpoints: stream ended by the manager', undefined)));
      const names = this.cache.attach(send);
      call.write({ nodeId: ids.nodeId, sessionId: ids.sessionId, watch: names, unwatch: [] });
    };
    open();

    const stop = () => {
      this.following.delete(stop);
      stopped = true;
      clearTimeout(timer);
      const c = current;
      current = undefined;
      if (c !== undefined) drop(c);
    };
    this.following.add(stop);
    return stop;
  }

  /** Stop every stream still followed and follow no more (idempotent). */
  async close(): Promise<void> {
    this.closed = true;
    for (const stop of [...this.following]) stop();
  }
}
