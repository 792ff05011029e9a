// `shoal events`' server stream, with failover: opened on the first address that connects
// (the last that answered first); a stream that worked and then ended is reopened on the
// other addresses; final codes end it. Used by GrpcControlApi.events.
import { Metadata, status, type StatusObject } from '@grpc/grpc-js';
import type { Event, EventsRequest } from '../proto/gen/shoal.js';
import type { ManagerChannels } from './channels.js';
import { CliError, ManagerError, statusText, UnreachableError } from './errors.js';

/**
 * An event stream that lasted this long (or delivered an event) was working: when it ends,
 * the other addresses are tried afresh. One that ends sooner counts as that address failing.
 */
const STREAM_STABLE_MS = 1_000;
/** Codes that another manager would answer the same way: the stream is not retried. */
const FINAL_STREAM_CODES: readonly status[] = [
  status.INVALID_ARGUMENT,
  status.NOT_FOUND,
  status.ALREADY_EXISTS,
  status.PERMISSION_DENIED,
  status.FAILED_PRECONDITION,
  status.OUT_OF_RANGE,
  status.UNIMPLEMENTED,
  status.UNAUTHENTICATED,
];

/** Where `ControlApi.events` delivers. */
export interface EventSink {
  event(e: Event): void;
  /** The stream from `from` ended and continues from `to` (events in between are missed). */
  failover(from: string, to: string, why: string): void;
}

export interface FollowOptions {
  /** The addresses as the user wrote them, for messages. */
  label: string;
  /** How long one address may take to connect before the next is tried. */
  connectMs: number;
  /** How long addresses still connecting after connectMs get, as for a call. */
  deadlineMs: number;
}

/** How one event stream ended: cancelled by us, or by the manager's side with a status. */
type StreamEnd = { aborted: true } | { aborted: false; code: status; details: string; stable: boolean };

/** Why an event stream ended, in a few words. */
function streamEndWhy(end: { code: status; details: string }): string {
  if (end.code === status.OK) return 'the manager closed it';
  // Only a server going away cancels a stream we did not cancel ourselves; over TLS its
  // connection closing shows as UNAVAILABLE "Connection dropped".
  if (end.code === status.CANCELLED || (end.code === status.UNAVAILABLE && /^Connection dropped/.test(end.details)))
    return 'the manager went away';
  return statusText(end.code, end.details);
}

/**
 * Follows the events until `signal` aborts (then resolves). A stream that worked for a while
 * and then ended (the manager stopped, its host went away) is reopened on the other
 * addresses, each tried once (the one that was lost is not: a single manager going away ends
 * the command); an address whose stream fails at once counts as failed. Any manager
 * answering a final code (FINAL_STREAM_CODES) ends it. Rejects with a CliError when no
 * address takes over.
 */
export async function followEvents(
  channels: ManagerChannels,
  request: EventsRequest,
  sink: EventSink,
  signal: AbortSignal,
  options: FollowOptions,
): Promise<void> {
  const n = channels.addresses.length;
  let start = channels.current;
  /** The stream that worked and ended last: not retried until another one has worked. */
  let lost: { index: number; why: string } | undefined;
  /** The last stream that ended, and why (for the message when no address takes over). */
  let last: { index: number; why: string } | undefined;
  for (;;) {
    let reopened = false;
    const slow: number[] = [];
    const tryIndex = async (index: number): Promise<'done' | 'next' | 'reopen'> => {
      if (lost !== undefined) sink.failover(channels.address(lost.index), channels.address(index), lost.why);
      const end = await stream(channels, index, request, sink, signal);
      if (end.aborted) return 'done';
      if (FINAL_STREAM_CODES.includes(end.code)) {
        throw new ManagerError(statusText(end.code, end.details), end.code, false);
      }
      last = { index, why: streamEndWhy(end) };
      if (!end.stable) return 'next';
      lost = last;
      start = (index + 1) % n;
      return 'reopen';
    };
    for (let attempt = 0; attempt < n && !reopened; attempt++) {
      const index = (start + attempt) % n;
      if (index === lost?.index) continue;
      if (signal.aborted) return;
      const state = await channels.connect(index, options.connectMs);
      if (signal.aborted) return;
      if (state === 'slow') slow.push(index);
      if (state !== 'ready') continue;
      const outcome = await tryIndex(index);
      if (outcome === 'done') return;
      reopened = outcome === 'reopen';
    }
    // Addresses still connecting after connectMs get the rest of a call's deadline, as for calls.
    const deadline = channels.clock.now() + options.deadlineMs;
    while (!reopened && slow.length > 0 && !signal.aborted) {
      const index = await channels.firstReady(slow, deadline - channels.clock.now());
      if (index === undefined || signal.aborted) break;
      slow.splice(slow.indexOf(index), 1);
      const outcome = await tryIndex(index);
      if (outcome === 'done') return;
      reopened = outcome === 'reopen';
    }
    if (signal.aborted) return;
    if (!reopened) break;
  }
  const ended = lost ?? last;
  if (ended === undefined) throw new UnreachableError(options.label);
  const others = lost !== undefined && n > 1 ? '; no other manager answered' : '';
  throw new CliError(`the event stream from ${channels.address(ended.index)} ended: ${ended.why}${others}`);
}

/** One event stream on one address, until it ends or `signal` aborts. */
function stream(
  channels: ManagerChannels,
  index: number,
  request: EventsRequest,
  sink: EventSink,
  signal: AbortSignal,
): Promise<StreamEnd> {
  return new Promise((resolve) => {
    const started = channels.clock.now();
    let delivered = false;
    let ended: StatusObject | undefined;
    let done = false;
    const call = channels.client(index).events(request, new Metadata());
    const onAbort = (): void => call.cancel();
    const finish = (): void => {
      if (done || ended === undefined) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      if (signal.aborted) return resolve({ aborted: true });
      if (ended.code === status.UNAVAILABLE) channels.drop(index); // reconnect afresh, not after grpc-js's backoff
      const stable = delivered || channels.clock.now() - started >= STREAM_STABLE_MS;
      resolve({ aborted: false, code: ended.code, details: ended.details, stable });
    };
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) call.cancel();
    call.on('data', (e: Event) => {
      delivered = true;
      channels.current = index;
      sink.event(e);
    });
    call.on('error', () => {}); // the status says it all
    // 'status' comes before the last messages are read: finish once they are ('end').
    call.on('status', (s: StatusObject) => {
      ended = s;
      if (call.readableEnded) finish();
    });
    call.on('end', finish);
    call.on('close', finish);
  });
}
