// One Docker events stream per engine for the health of shoal's containers: the engine's
// `health_status` events of containers carrying LABEL.taskId, handed to whoever watches that
// container (a controller waiting for healthy/unhealthy), instead of polling each container.
//
//   watch(id) --first watcher--> GET /events?since=..&filters={container, health_status, label}
//   event for id -----------------> that container's watchers (they inspect, then decide)
//   stream breaks ----------------> reopened after 250 ms..5 s, from the last event seen
//                                   (since=), and every watcher is told to look again
//   last unwatch -----------------> stream closed (opened again by the next watch)
//   close() ----------------------> stream closed for good (the executor stops)
//
// The engine sends health_status only when the status changes; watchers still inspect every
// few seconds (HEALTH_SAFETY_NET_MS in controller.ts) in case an event is lost.
import { ExponentialBackoff, noJitterGenerator, type IBackoff } from 'cockatiel';
import type Docker from 'dockerode';
import type { LifecycleState } from '../../../proto/lifecycle.js';
import { LABEL } from '../../../proto/naming.js';
import { errorMessage } from '../errors.js';
import { fromDocker } from './errors.js';

/** First delay before reopening a broken stream; doubles up to REOPEN_MAX_MS. */
const REOPEN_MIN_MS = 250;
/** An engine that stays away costs one attempt per 5 s (watchers inspect meanwhile). */
const REOPEN_MAX_MS = 5_000;
/** Delays before reopening, while opens keep failing: 250, 500, 1000 ... 5000 ms (cockatiel). */
const REOPEN_BACKOFF = new ExponentialBackoff({
  initialDelay: REOPEN_MIN_MS,
  maxDelay: REOPEN_MAX_MS,
  generator: noJitterGenerator,
});
/** A new stream starts this far back: an event between a watcher's inspect and the open is kept. */
const REPLAY_MS = 1_000;

interface DockerEvent {
  Action?: string;
  id?: string;
  Actor?: { ID?: string };
  time?: number;
  timeNano?: number;
}

export interface HealthEventsOptions {
  log?: (line: string) => void;
}

export class HealthEvents {
  private readonly watchers = new Map<string, Set<() => void>>();
  private readonly log: (line: string) => void;
  /** The open (or opening) stream's abort; undefined when closed. */
  private abort: AbortController | undefined;
  private reopenTimer: NodeJS.Timeout | undefined;
  /** The current streak of reopen delays; undefined once a stream opened. */
  private reopenDelay: IBackoff<unknown> | undefined;
  /** Engine time (s) of the last event seen: a reopened stream replays from there. */
  private lastEventS: number | undefined;
  /** Running from construction (a stream opens with the first watch); close() ends it for good. */
  private state: LifecycleState = 'running';
  /** Streams opened so far (tests). */
  opened = 0;

  constructor(
    private readonly docker: Docker,
    opts: HealthEventsOptions = {},
  ) {
    this.log = opts.log ?? (() => {});
  }

  /** Call `fn` on every health event of container `id` (and after a reconnect) until unwatched. */
  watch(id: string, fn: () => void): () => void {
    if (this.state !== 'running') return () => {}; // closed: watchers keep their own inspect
    let set = this.watchers.get(id);
    if (set === undefined) this.watchers.set(id, (set = new Set()));
    set.add(fn);
    if (this.abort === undefined && this.reopenTimer === undefined) this.open(false);
    return () => {
      set.delete(fn);
      if (set.size === 0 && this.watchers.get(id) === set) this.watchers.delete(id);
      if (this.watchers.size === 0) this.stopStream();
    };
  }

  /** Containers watched now (tests). */
  get watching(): number {
    return this.watchers.size;
  }

  /** True while a stream is open or opening (tests). */
  get isOpen(): boolean {
    return this.abort !== undefined;
  }

  // ----------------------------------------------------------------

  private open(reopened: boolean): void {
    this.reopenTimer = undefined;
    const abort = new AbortController();
    this.abort = abort;
    // Whole seconds, rounded down: an event replayed twice only makes its watchers look again.
    const since = Math.floor(this.lastEventS ?? (Date.now() - REPLAY_MS) / 1000);
    const opening = this.docker.getEvents({
      since,
      filters: { type: ['container'], event: ['health_status'], label: [LABEL.taskId] },
      abortSignal: abort.signal,
    });
    opening.then(
      (stream) => {
        if (this.abort !== abort) return void destroy(stream);
        this.opened++;
        this.reopenDelay = undefined;
        if (reopened) this.notifyAll(); // events may have been lost while it was down
        let buffered = '';
        stream.on('data', (chunk: Buffer | string) => {
          buffered += chunk.toString();
          let nl: number;
          while ((nl = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, nl).trim();
            buffered = buffered.slice(nl + 1);
            if (line !== '') this.onLine(line);
          }
        });
        const broken = (why: string) => {
          if (this.abort !== abort) return;
          this.broken(why);
        };
        stream.on('error', (err: unknown) => broken(errorMessage(fromDocker(err, 'docker events'))));
        stream.on('end', () => broken('ended by the engine'));
        stream.on('close', () => broken('closed'));
      },
      (err: unknown) => {
        if (this.abort !== abort) return;
        this.broken(errorMessage(fromDocker(err, 'docker events')));
      },
    );
  }

  private onLine(line: string): void {
    let ev: DockerEvent;
    try {
      ev = JSON.parse(line) as DockerEvent;
    } catch {
      return;
    }
    if (!ev.Action?.startsWith('health_status')) return;
    if (ev.timeNano !== undefined) this.lastEventS = ev.timeNano / 1e9;
    else if (ev.time !== undefined) this.lastEventS = ev.time;
    const id = ev.Actor?.ID ?? ev.id;
    if (id === undefined) return;
    for (const fn of [...(this.watchers.get(id) ?? [])]) fn();
  }

  private broken(why: string): void {
    this.abort?.abort();
    this.abort = undefined;
    if (this.watchers.size === 0) return;
    this.reopenDelay = this.reopenDelay?.next(undefined) ?? REOPEN_BACKOFF.next();
    const delay = this.reopenDelay.duration;
    this.log(`docker: health events stream: ${why} (reopening in ${delay} ms)`);
    this.reopenTimer = setTimeout(() => this.open(true), delay);
  }

  private notifyAll(): void {
    for (const set of [...this.watchers.values()]) for (const fn of [...set]) fn();
  }

  /** Close the stream for good (idempotent); later watches are not followed. */
  async close(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    this.watchers.clear();
    this.stopStream();
  }

  private stopStream(): void {
    clearTimeout(this.reopenTimer);
    this.reopenTimer = undefined;
    const abort = this.abort;
    this.abort = undefined;
    abort?.abort();
    // A stream opened again later replays from its own start, not from an old event.
    this.lastEventS = undefined;
  }
}

function destroy(stream: NodeJS.ReadableStream): void {
  (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
}
