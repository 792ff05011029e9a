// Retrying a manager's start step while etcd is not there yet.
import { ExponentialBackoff, handleAll, noJitterGenerator, retry as cockatielRetry } from 'cockatiel';

/** Tries before the manager gives up. */
const START_ATTEMPTS = 60;

/**
 * Starting the election retries while etcd is not there yet (embedded, or a member
 * restarting): 200 ms doubling to 2 s between tries, 60 tries, each failure logged.
 */
export async function retry<T>(fn: () => Promise<T>, what: string, log: (l: string) => void): Promise<T> {
  const policy = cockatielRetry(handleAll, {
    maxAttempts: START_ATTEMPTS - 1,
    backoff: new ExponentialBackoff({ generator: noJitterGenerator, initialDelay: 200, maxDelay: 2_000 }),
  });
  const listener = policy.onRetry((r) =>
    log(`cannot ${what} (attempt ${r.attempt}): ${'error' in r ? r.error.message : 'no result'}`),
  );
  try {
    return await policy.execute(() => fn());
  } finally {
    listener.dispose();
  }
}
