// Relays the cluster's NATS events to Control.Events streams. One NATS connection per
// relay, opened on the first follow and kept (nats.js reconnects it forever); while anyone
// follows, one subscription on shoal.events.> is fanned out to every follower, each with its
// own filter, and it is dropped when the last one leaves. Best effort, like the publisher:
// while NATS is away, events are lost and followers just see none.
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, Events, type Msg, type NatsConnection, type NatsError, type Subscription } from 'nats';
import { natsOptions, type NatsAuth } from '../config/connections.js';
import type { Event, EventsRequest } from '../../proto/gen/shoal.js';
import { SUBJECT_ROOT, subjects } from './subjects.js';

/** Between attempts at the first connection (afterwards nats.js reconnects by itself). */
const CONNECT_RETRY_MS = 1_000;

const decoder = new TextDecoder();

/** A name as it appears as the last token of a subject ('.' and the like become '_'). */
function subjectToken(name: string): string {
  return subjects.node(name).slice(`${SUBJECT_ROOT}.node.`.length);
}

interface Follower {
  /** Empty: every type. */
  types: ReadonlySet<string>;
  /** The subject token the last token must equal; '' for any. */
  name: string;
  write: (e: Event) => void;
  onError: (err: Error) => void;
}

type RelayState = 'idle' | 'connecting' | 'connected' | 'closed';

export class EventRelay {
  #state: RelayState = 'idle';
  #nc: NatsConnection | undefined;
  #sub: Subscription | undefined;
  readonly #followers = new Set<Follower>();
  /** Aborted by close(): ends the wait between first-connection attempts. */
  readonly #closing = new AbortController();

  constructor(
    private readonly natsUrl: string,
    private readonly log: (l: string) => void,
    /** The server's credentials (config/connections.ts): user/password, TLS or a .creds file. */
    private readonly auth?: NatsAuth,
  ) {}

  /**
   * Subscribes on NATS (shoal.events.>), filters, writes each Event; returns a function
   * that unsubscribes. Event.type is the subject's 3rd token, time_ms the time it was
   * received here, payload_json the message as published. `req.types` empty: every type;
   * `req.name`: only subjects whose last token is that service or node name (with '.'
   * replaced by '_', as subjects.ts builds them). `onError` is called at most once, when
   * the follower can get no more events (the relay closed, NATS refused us for good, or
   * `write` threw); the follower is then gone.
   */
  follow(req: EventsRequest, write: (e: Event) => void, onError: (err: Error) => void): () => void {
    if (this.#state === 'closed') {
      queueMicrotask(() => onError(new Error('this manager is stopping')));
      return () => {};
    }
    const follower: Follower = {
      types: new Set(req.types),
      name: req.name === '' ? '' : subjectToken(req.name),
      write,
      onError,
    };
    this.#followers.add(follower);
    if (this.#state === 'idle') void this.#connect();
    else this.#subscribe();
    return () => this.#remove(follower);
  }

  /** Ends every follower (onError: the manager is stopping) and closes the connection; idempotent. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#closing.abort();
    this.#failAll(new Error('this manager is stopping'));
    const nc = this.#nc;
    this.#nc = undefined;
    this.#sub = undefined;
    if (nc !== undefined && !nc.isClosed()) await nc.close().catch(() => {});
  }

  #remove(follower: Follower): void {
    if (!this.#followers.delete(follower)) return;
    if (this.#followers.size === 0 && this.#sub !== undefined) {
      // Nobody follows: stop receiving every event of the cluster for nothing.
      this.#sub.unsubscribe();
      this.#sub = undefined;
    }
  }

  #failAll(err: Error): void {
    const followers = [...this.#followers];
    this.#followers.clear();
    for (const f of followers) f.onError(err);
  }

  /** The first connection, retried every CONNECT_RETRY_MS until it works or the relay closes. */
  async #connect(): Promise<void> {
    this.#state = 'connecting';
    let complained = false;
    while (this.#state === 'connecting') {
      try {
        const nc = await connect({
          ...natsOptions(this.auth),
          servers: this.natsUrl,
          reconnect: true,
          maxReconnectAttempts: -1, // once connected, nats.js reconnects forever
          name: 'shoal-manager-events-relay',
        });
        if (this.#state !== 'connecting') {
          await nc.close().catch(() => {});
          return;
        }
        this.#nc = nc;
        this.#state = 'connected';
        this.log(`events relay: connected to NATS at ${this.natsUrl}`);
        void this.#watch(nc);
        this.#subscribe();
        return;
      } catch (err) {
        if (!complained)
          this.log(`events relay: cannot connect to NATS at ${this.natsUrl}: ${(err as Error).message} (retrying)`);
        complained = true;
        await sleep(CONNECT_RETRY_MS, undefined, { signal: this.#closing.signal }).catch(() => {});
      }
    }
  }

  /** Logs outages; a connection closed for good (not by us) ends the followers, and the next follow connects afresh. */
  async #watch(nc: NatsConnection): Promise<void> {
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === Events.Disconnect || s.type === Events.Reconnect)
          this.log(`events relay: NATS ${s.type} (${typeof s.data === 'object' ? JSON.stringify(s.data) : s.data})`);
      }
    })().catch(() => {});
    const err = await nc.closed();
    if (this.#nc !== nc || this.#state === 'closed') return;
    this.#nc = undefined;
    this.#sub = undefined;
    this.#state = 'idle';
    const why = err instanceof Error ? err.message : 'connection closed';
    this.log(`events relay: lost NATS at ${this.natsUrl}: ${why}`);
    this.#failAll(new Error(`events are unavailable: lost NATS (${why})`));
  }

  #subscribe(): void {
    const nc = this.#nc;
    if (nc === undefined || this.#sub !== undefined || this.#followers.size === 0) return;
    this.#sub = nc.subscribe(subjects.all, { callback: (err, msg) => this.#deliver(err, msg) });
  }

  #deliver(err: NatsError | null, msg: Msg): void {
    if (err !== null) {
      this.log(`events relay: subscription error: ${err.message}`);
      return;
    }
    const tokens = msg.subject.split('.');
    const type = tokens[2] ?? '';
    const last = tokens.at(-1) ?? '';
    const event: Event = { type, subject: msg.subject, timeMs: Date.now(), payloadJson: decoder.decode(msg.data) };
    for (const f of this.#followers) {
      if (f.types.size > 0 && !f.types.has(type)) continue;
      if (f.name !== '' && f.name !== last) continue;
      try {
        f.write(event);
      } catch (e) {
        this.#remove(f);
        f.onError(e instanceof Error ? e : new Error(String(e)));
      }
    }
  }
}
