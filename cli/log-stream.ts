// `shoal service logs`' server stream: opened on the first address that connects (the last
// that answered first); a manager that answers UNAVAILABLE before sending anything passes
// the turn to the next. A stream that delivered lines is not reopened elsewhere (it would
// repeat them): its end, or error, is the command's. Used by GrpcControlApi.serviceLogs.
import { Metadata, status, type StatusObject } from '@grpc/grpc-js';
import type { ServiceLogsMessage, ServiceLogsRequest } from '../proto/gen/shoal.js';
import type { ManagerChannels } from './channels.js';
import { ManagerError, statusText, UnreachableError } from './errors.js';

export interface LogStreamOptions {
  label: string;
  connectMs: number;
  deadlineMs: number;
}

type Outcome = 'done' | { unavailable: string };

/** Streams the logs into `onMessage` until the manager ends the stream (resolves) or `signal` aborts (resolves). */
export async function streamLogs(
  channels: ManagerChannels,
  request: ServiceLogsRequest,
  onMessage: (m: ServiceLogsMessage) => void,
  signal: AbortSignal,
  options: LogStreamOptions,
): Promise<void> {
  const n = channels.addresses.length;
  const first = channels.current;
  const slow: number[] = [];
  let unavailable: string | undefined;
  for (let attempt = 0; attempt < n && !signal.aborted; attempt++) {
    const index = (first + attempt) % n;
    const state = await channels.connect(index, options.connectMs);
    if (state === 'slow') slow.push(index);
    if (state !== 'ready' || signal.aborted) continue;
    const outcome = await one(channels, index, request, onMessage, signal);
    if (outcome === 'done') return;
    unavailable = outcome.unavailable;
  }
  const deadline = channels.clock.now() + options.deadlineMs;
  while (slow.length > 0 && !signal.aborted) {
    const index = await channels.firstReady(slow, deadline - channels.clock.now());
    if (index === undefined) break;
    slow.splice(slow.indexOf(index), 1);
    const outcome = await one(channels, index, request, onMessage, signal);
    if (outcome === 'done') return;
    unavailable = outcome.unavailable;
  }
  if (signal.aborted) return;
  if (unavailable !== undefined) throw new ManagerError(unavailable, status.UNAVAILABLE, true);
  throw new UnreachableError(options.label);
}

function one(
  channels: ManagerChannels,
  index: number,
  request: ServiceLogsRequest,
  onMessage: (m: ServiceLogsMessage) => void,
  signal: AbortSignal,
): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    let delivered = false;
    let ended: StatusObject | undefined;
    let done = false;
    const call = channels.client(index).serviceLogs(request, new Metadata());
    const onAbort = (): void => call.cancel();
    const finish = (): void => {
      if (done || ended === undefined) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      if (signal.aborted || ended.code === status.OK) return resolve('done');
      if (ended.code === status.UNAVAILABLE && !delivered) {
        channels.drop(index);
        return resolve({ unavailable: statusText(ended.code, ended.details) });
      }
      reject(new ManagerError(statusText(ended.code, ended.details), ended.code, false));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) call.cancel();
    call.on('data', (m: ServiceLogsMessage) => {
      delivered = true;
      channels.current = index;
      onMessage(m);
    });
    call.on('error', () => {}); // the status says it all
    // 'status' may come before the last messages are read: finish once they are ('end').
    call.on('status', (s: StatusObject) => {
      ended = s;
      if (call.readableEnded) finish();
    });
    call.on('end', finish);
    call.on('close', finish);
  });
}
