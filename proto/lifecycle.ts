// The one lifecycle convention for long-lived parts of the manager and the agent (temporal's
// worker states): `start()` moves new -> starting -> running, and `close(): Promise<void>`
// moves to stopping -> stopped, is idempotent, and closes exactly what the part opened, in
// reverse order of opening.

export type LifecycleState = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

/** What every long-lived part offers: a close that may be called any number of times. */
export interface Closable {
  close(): Promise<void>;
}
