// The agent's side of `service logs`, for one session at a time:
//
//   LogSubscriptions stream (manager -> agent), opened with the session, reopened if it breaks
//     '-- per LogSubscription: PublishLogs stream (agent -> manager)
//           first message: node, session, subscription; then batches of lines per task;
//           `err` for a task whose log cannot be read; ended when every task is read
//           (with follow: when the containers stop), or the manager cancels / answers.
import { status, type ClientWritableStream } from '@grpc/grpc-js';
import type { DispatcherClient, LogLine, LogSubscription, PublishLogsMessage } from '../../proto/gen/shoal.js';
import { silentLog, type Log } from '../log.js';
import type { EndpointsFollower } from '../session.js';
import { toSessionError } from '../session.js';
import { TaskLogError, type LineSink, type LogReader } from './docker.js';

/** A broken LogSubscriptions stream (the session still works) is opened again after this long. */
export const LOGS_RETRY_MS = 2_000;
/** Lines are sent in batches: at most this many per message ... */
const BATCH_LINES = 256;
/** ... or after this long (a following reader's line reaches the user within it). */
const BATCH_MS = 50;
/** Subscriptions read at once on this node (the manager bounds them too). */
export const MAX_ACTIVE = 64;

export interface LogFollowerOptions {
  /** Undefined: this engine cannot read logs; every subscription gets an err. */
  reader: LogReader | undefined;
  log?: Log;
  retryMs?: number;
}

interface Active {
  abort: AbortController;
}

export class LogFollower implements EndpointsFollower {
  private readonly log: Log;
  private readonly retryMs: number;
  private readonly stops = new Set<() => void>();

  constructor(private readonly opts: LogFollowerOptions) {
    this.log = opts.log ?? silentLog;
    this.retryMs = opts.retryMs ?? LOGS_RETRY_MS;
  }

  /** Follows LogSubscriptions for a session; the returned function stops it and every read under way. */
  follow(client: DispatcherClient, ids: { nodeId: string; sessionId: string }): () => void {
    const active = new Map<string, Active>();
    let stream: ReturnType<DispatcherClient['logSubscriptions']> | undefined;
    let retry: NodeJS.Timeout | undefined;
    let stopped = false;
    let lastErr = '';
    const open = () => {
      if (stopped) return;
      const call = client.logSubscriptions(ids);
      stream = call;
      call.on('data', (sub: LogSubscription) => {
        lastErr = '';
        if (sub.cancel) {
          active.get(sub.id)?.abort.abort();
          return;
        }
        if (active.has(sub.id)) return;
        if (active.size >= MAX_ACTIVE) {
          this.publishOnly(client, ids, sub.id, `node has ${MAX_ACTIVE} log streams open already`);
          return;
        }
        const a: Active = { abort: new AbortController() };
        active.set(sub.id, a);
        void this.serve(client, ids, sub, a.abort.signal).finally(() => active.delete(sub.id));
      });
      const broken = (err: unknown) => {
        if (stopped || stream !== call) return;
        stream = undefined;
        call.removeAllListeners();
        call.on('error', () => {});
        const e = toSessionError(err, 'LogSubscriptions');
        if (e.code === status.UNIMPLEMENTED) return; // a manager without logs: nothing to follow
        if (e.message !== lastErr) this.log(`logs: ${e.message} (opening it again in ${this.retryMs} ms)`);
        lastErr = e.message;
        retry = setTimeout(open, this.retryMs);
        retry.unref?.();
      };
      call.on('error', broken);
      call.on('end', () => broken(new Error('stream ended by the manager')));
    };
    const stop = () => {
      if (stopped) return;
      stopped = true;
      this.stops.delete(stop);
      clearTimeout(retry);
      if (stream) {
        stream.removeAllListeners();
        stream.on('error', () => {});
        stream.cancel();
      }
      for (const a of active.values()) a.abort.abort();
    };
    this.stops.add(stop);
    open();
    return stop;
  }

  /** Stops every session's streams and reads (the agent stops). */
  close(): void {
    for (const stop of [...this.stops]) stop();
  }

  private publishOnly(client: DispatcherClient, ids: { nodeId: string; sessionId: string }, id: string, err: string) {
    const call = client.publishLogs(() => {});
    call.write({ ...ids, subscriptionId: id, lines: [], err });
    call.end();
  }

  /** Reads the subscription's tasks (in turn, or all at once when following) onto one PublishLogs stream. */
  private async serve(
    client: DispatcherClient,
    ids: { nodeId: string; sessionId: string },
    sub: LogSubscription,
    signal: AbortSignal,
  ): Promise<void> {
    const options = sub.options ?? { follow: false, tail: -1, sinceMs: 0, timestamps: false };
    const publish = new Publisher(
      client.publishLogs((err) => {
        // The manager answered (done, cancelled, or refused): stop reading.
        if (err) this.log(`logs: subscription ${sub.id}: ${toSessionError(err, 'PublishLogs').message}`);
        stopReading.abort();
      }),
      { ...ids, subscriptionId: sub.id },
    );
    const stopReading = new AbortController();
    const both = AbortSignal.any([signal, stopReading.signal]);
    const reader = this.opts.reader;
    const readOne = async (taskId: string) => {
      if (both.aborted) return;
      try {
        if (!reader) throw new TaskLogError(`task ${taskId}: this node's engine cannot read logs`);
        await reader.read(taskId, options, publish, both);
      } catch (err) {
        if (!both.aborted) publish.error(err instanceof TaskLogError ? err.message : `task ${taskId}: ${String(err)}`);
      }
    };
    if (options.follow) await Promise.all(sub.taskIds.map(readOne));
    else for (const id of sub.taskIds) await readOne(id);
    publish.end();
  }
}

/** One PublishLogs stream: batches lines, tells readers to wait while it is full. */
class Publisher implements LineSink {
  private batch: LogLine[] = [];
  private timer: NodeJS.Timeout | undefined;
  private ended = false;
  private waiting: Promise<void> | undefined;

  constructor(
    private readonly call: ClientWritableStream<PublishLogsMessage>,
    first: { nodeId: string; sessionId: string; subscriptionId: string },
  ) {
    call.on('error', () => {}); // the callback has the status
    call.write({ ...first, lines: [], err: '' });
  }

  lines(lines: LogLine[]): boolean {
    if (this.ended) return true;
    this.batch.push(...lines);
    if (this.batch.length >= BATCH_LINES) return this.flush();
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), BATCH_MS);
      this.timer.unref?.();
    }
    return this.call.writableLength === 0 || !this.call.writableNeedDrain;
  }

  drained(): Promise<void> {
    if (!this.call.writableNeedDrain || this.ended) return Promise.resolve();
    this.waiting ??= new Promise<void>((resolve) => {
      const done = () => {
        this.waiting = undefined;
        resolve();
      };
      this.call.once('drain', done);
      this.call.once('close', done);
    });
    return this.waiting;
  }

  error(err: string): void {
    if (this.ended) return;
    this.flush();
    this.call.write(msg([], err));
  }

  end(): void {
    if (this.ended) return;
    this.flush();
    this.ended = true;
    this.call.end();
  }

  private flush(): boolean {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.ended || this.batch.length === 0) return !this.call.writableNeedDrain;
    const lines = this.batch;
    this.batch = [];
    let ok = true;
    for (let i = 0; i < lines.length; i += BATCH_LINES)
      ok = this.call.write(msg(lines.slice(i, i + BATCH_LINES), '')) && ok;
    return ok;
  }
}

function msg(lines: LogLine[], err: string): PublishLogsMessage {
  return { nodeId: '', sessionId: '', subscriptionId: '', lines, err };
}
