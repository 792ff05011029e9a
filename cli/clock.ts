// Time as the CLI sees it: the converge wait and the client's connect timeouts read it here,
// so tests run them on a clock they move themselves (test/helpers/manual-clock.ts).
import { setTimeout as sleep } from 'node:timers/promises';

export interface Clock {
  now(): number;
  /** Resolves after `ms`; rejects with the signal's reason when `signal` aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleep(ms, undefined, { signal }),
};
