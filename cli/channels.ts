// One gRPC channel per manager address, and the wait for one to connect: the part of the
// client that knows "no manager there" (a refused connection fails in milliseconds, a silent
// host after the connect timeout) from a manager that answers. Timeouts run on the injected
// clock, so tests move time themselves.
import { MANAGER_CHANNEL_OPTIONS } from '../proto/pki/grpc-tls.js';
import { connectivityState, credentials, type ChannelCredentials } from '@grpc/grpc-js';
import type { Closable } from '../proto/lifecycle.js';
import { ControlClient } from '../proto/gen/shoal.js';
import type { Clock } from '../proto/clock.js';
import { CLIENT_MESSAGE_LIMITS } from '../proto/limits.js';

/**
 * A stream (`shoal events`) has no deadline: keepalive pings tell a manager that went
 * silent (host gone, link cut) from a quiet cluster, within KEEPALIVE_MS + its timeout.
 */
const KEEPALIVE_MS = 10_000;
const KEEPALIVE_TIMEOUT_MS = 5_000;

export class ChannelUnreachable extends Error {
  override name = 'ChannelUnreachable';
  constructor(
    message: string,
    /** True when the time ran out while still connecting (as opposed to a failed attempt). */
    readonly timedOut: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Resolves once the client's channel is READY; rejects with ChannelUnreachable as soon as
 * a connection attempt fails (TRANSIENT_FAILURE) or after `withinMs` on `clock`. This tells
 * "no manager there" apart from a manager that answered UNAVAILABLE itself, and fails fast
 * on a refused connection instead of waiting out the time.
 */
function connected(client: ControlClient, withinMs: number, clock: Clock): Promise<void> {
  const channel = client.getChannel();
  const timer = new AbortController();
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (err?: ChannelUnreachable): void => {
      if (settled) return;
      settled = true;
      timer.abort();
      if (err === undefined) resolve();
      else reject(err);
    };
    const timedOut = (): void => settle(new ChannelUnreachable('connect deadline exceeded', true));
    const check = (): void => {
      if (settled) return;
      const state = channel.getConnectivityState(true);
      if (state === connectivityState.READY) return settle();
      if (state === connectivityState.TRANSIENT_FAILURE || state === connectivityState.SHUTDOWN) {
        return settle(new ChannelUnreachable(connectivityState[state], false));
      }
      // No deadline for grpc-js: the clock's timer below gives up.
      channel.watchConnectivityState(state, Infinity, check);
    };
    check();
    if (settled) return;
    if (withinMs <= 0) return timedOut();
    clock.sleep(withinMs, timer.signal).then(timedOut, () => {}); // rejected: aborted, settled already
  });
}

/** How connecting to one address went: READY; failed (refused, unresolvable...); still connecting. */
export type ConnectOutcome = 'ready' | 'failed' | 'slow';

export class ManagerChannels implements Closable {
  readonly #clients = new Map<number, ControlClient>();
  #closed = false;
  /** Index of the address that answered last: calls and streams start there. */
  current = 0;

  #credentials: ChannelCredentials | undefined;

  constructor(
    readonly addresses: readonly string[],
    readonly clock: Clock,
    private readonly credentialsOf: () => ChannelCredentials = () => credentials.createInsecure(),
  ) {
    if (addresses.length === 0) throw new Error('ManagerChannels needs at least one address');
  }

  address(index: number): string {
    return this.addresses[index] ?? '';
  }

  client(index: number): ControlClient {
    if (this.#closed) throw new Error('the manager channels are closed');
    let client = this.#clients.get(index);
    if (client === undefined) {
      // Never route manager traffic through an HTTP proxy from the environment.
      this.#credentials ??= this.credentialsOf();
      client = new ControlClient(this.address(index), this.#credentials, {
        ...CLIENT_MESSAGE_LIMITS,
        'grpc.enable_http_proxy': 0,
        ...MANAGER_CHANNEL_OPTIONS,
        'grpc.keepalive_time_ms': KEEPALIVE_MS,
        'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
      });
      this.#clients.set(index, client);
    }
    return client;
  }

  /**
   * Forgets an address's channel: the next call opens a fresh one instead of reusing one in
   * grpc-js's reconnect backoff (which grows to minutes) or one stuck on a dead connection.
   */
  drop(index: number): void {
    this.#clients.get(index)?.close();
    this.#clients.delete(index);
  }

  /** Waits up to `withinMs` for the address to connect; a channel that failed is dropped. */
  async connect(index: number, withinMs: number): Promise<ConnectOutcome> {
    try {
      await connected(this.client(index), withinMs, this.clock);
      return 'ready';
    } catch (err) {
      if (!(err instanceof ChannelUnreachable)) throw err;
      if (err.timedOut) return 'slow'; // left connecting: firstReady may still get it
      this.drop(index);
      return 'failed';
    }
  }

  /** The first of `indexes` whose channel gets READY within `withinMs`; undefined if none. */
  async firstReady(indexes: readonly number[], withinMs: number): Promise<number | undefined> {
    try {
      return await Promise.any(
        indexes.map(async (index) => {
          await connected(this.client(index), withinMs, this.clock);
          return index;
        }),
      );
    } catch (err) {
      if (!(err instanceof AggregateError) || !err.errors.every((e) => e instanceof ChannelUnreachable)) throw err;
      for (const index of indexes) this.drop(index);
      return undefined;
    }
  }

  /** Closes every channel opened; idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const client of this.#clients.values()) client.close();
    this.#clients.clear();
  }
}
