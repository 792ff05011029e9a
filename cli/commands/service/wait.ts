// Waiting for services to converge after `service create` / `service scale`, and the
// --detach / --timeout flags those commands share.
//
//   poll ListServices (every 100 ms)
//     -> all targets running == desired and stopping == 0 ?  done
//        (and desired == the replicas just asked for, so a stale status does not count)
//     -> a target with a pending reason whose running count
//        has not moved for 5 s ?                             "cannot converge: <reason>"
//     -> past --timeout ?                                     "timed out ..."
//     -> else print "web: 2/3 running" when a count changed, sleep, poll again
//   a service seen before must be missing from the listings for 2 s to count as removed
//   a poll that fails with a retryable error (no manager reachable, UNAVAILABLE: a manager
//   failing over) prints "retrying: <why>" and polls again after RETRY_MS, until --timeout;
//   the 5 s windows restart once the manager answers again.
//
// The clock (proto/clock.ts: now and sleep) and the ListServices call are injected, so tests
// run it on a manual clock.
import type { Clock } from '../../../proto/clock.js';
import type { ServiceSummary } from '../../../proto/gen/shoal.js';
import { CliError, isRetryable } from '../../errors.js';
import { formatDuration } from '../../output.js';
import type { FlagSpec, FlagValues } from '../../parse/flags.js';
import { durationFlag } from '../../parse/values.js';
import type { CommandContext } from '../command.js';

export const POLL_MS = 100; // a CLI may poll; ListServices is one etcd range read
export const RETRY_MS = 250; // after a failed poll (each attempt also costs up to 1 s per dead address)
export const STALL_MS = 5_000; // no progress this long while the manager says why: give up
/** A service never seen in ListServices for this long was removed under us. */
const MISSING_MS = STALL_MS;
/**
 * A service seen before and missing from every listing for this long was removed. Not at
 * the first listing without it: a manager that has just started may answer one before it
 * has loaded the cluster's state.
 */
export const REMOVED_MS = 2_000;
const DEFAULT_TIMEOUT_MS = 120_000; // long enough to pull an image on a slow link

export const DETACH: FlagSpec = {
  long: 'detach',
  short: 'd',
  type: 'boolean',
  help: 'Exit immediately instead of waiting for the service to converge',
};
export const TIMEOUT: FlagSpec = {
  long: 'timeout',
  type: 'string',
  value: 'DURATION',
  help: 'Give up waiting for convergence after this long (default 2m)',
};

export interface WaitOptions {
  timeoutMs: number;
}

/** --detach and --timeout: undefined when the command is not to wait. */
export function waitOptions(flags: FlagValues): WaitOptions | undefined {
  const timeoutMs = durationFlag(flags, TIMEOUT.long, true) ?? DEFAULT_TIMEOUT_MS;
  return flags.bool(DETACH.long) ? undefined : { timeoutMs };
}

export interface WaitTarget {
  id: string;
  name: string;
  /**
   * The replica count just asked for (replicated services): until the status reports it
   * as desired, it still describes the old spec and does not count as converged.
   */
  desired?: number;
}

export interface WaitDeps {
  listServices(): Promise<ServiceSummary[]>;
  /** Intervals are measured on it (now) and the polls wait on it (sleep). */
  clock: Clock;
  /** One progress line (stderr). */
  progress(line: string): void;
}

export interface WaitConfig {
  timeoutMs: number;
  pollMs?: number;
  retryMs?: number;
  stallMs?: number;
}

interface Progress {
  seen: boolean;
  /** Since when a service seen before has been missing from the listings. */
  missingSince: number | undefined;
  line: string;
  running: number;
  /** When running last changed (or when we started watching). */
  changedAt: number;
  summary: string;
  converged: boolean;
}

export async function waitForConvergence(targets: WaitTarget[], config: WaitConfig, deps: WaitDeps): Promise<void> {
  const pollMs = config.pollMs ?? POLL_MS;
  const retryMs = config.retryMs ?? RETRY_MS;
  const stallMs = config.stallMs ?? STALL_MS;
  const start = deps.clock.now();
  const state = new Map<string, Progress>(
    targets.map((t) => [
      t.id,
      {
        seen: false,
        missingSince: undefined,
        line: '',
        running: -1,
        changedAt: start,
        summary: 'not listed yet',
        converged: false,
      },
    ]),
  );
  /** Since when the manager has been answering (the start, or the end of the last outage). */
  let answeringSince = start;
  /** Why the last poll failed, while polls fail. */
  let failure: string | undefined;

  const timedOut = (now: number): CliError | undefined => {
    if (now - start < config.timeoutMs) return undefined;
    const waiting = targets.flatMap((t) => {
      const p = state.get(t.id);
      return p === undefined || p.converged ? [] : [`${t.name} (${p.summary})`];
    });
    return new CliError(
      `timed out after ${formatDuration(config.timeoutMs)} waiting for ${waiting.join(', ') || 'services'} to converge` +
        (failure === undefined ? '' : ` (last error: ${failure})`),
    );
  };

  for (;;) {
    let services: ServiceSummary[];
    try {
      services = await deps.listServices();
    } catch (err) {
      if (!isRetryable(err)) throw err;
      if (err.message !== failure) deps.progress(`retrying: ${err.message}`);
      failure = err.message;
      const now = deps.clock.now();
      const late = timedOut(now);
      if (late) throw late;
      await deps.clock.sleep(Math.min(retryMs, config.timeoutMs - (now - start)));
      continue;
    }
    const now = deps.clock.now();
    if (failure !== undefined) {
      // Answering again (maybe another manager): time without answers is not time without progress.
      failure = undefined;
      answeringSince = now;
      for (const p of state.values()) {
        p.changedAt = now;
        p.missingSince = undefined;
        p.line = ''; // print where things stand now
      }
    }
    const listed = new Map(services.map((s) => [s.service?.id ?? '', s]));
    let converged = true;
    for (const target of targets) {
      const p = state.get(target.id);
      if (p === undefined) continue;
      const summary = listed.get(target.id);
      if (summary === undefined) {
        converged = false;
        if (p.seen) {
          p.missingSince ??= now;
          if (now - p.missingSince >= REMOVED_MS) {
            throw new CliError(`service ${target.name} was removed while waiting for it to converge`);
          }
          continue;
        }
        if (now - answeringSince >= MISSING_MS)
          throw new CliError(`service ${target.name} is not listed by the manager`);
        continue;
      }
      p.seen = true;
      p.missingSince = undefined;
      const { running = 0, desired = 0, stopping = 0, pendingReason = '' } = summary.status ?? {};
      if (running !== p.running) {
        p.running = running;
        p.changedAt = now;
      }
      p.summary = `${running}/${desired} running${stopping > 0 ? `, ${stopping} stopping` : ''}`;
      const line = `${target.name}: ${p.summary}`;
      if (line !== p.line) {
        p.line = line;
        deps.progress(line);
      }
      p.converged = running === desired && stopping === 0 && (target.desired ?? desired) === desired;
      if (p.converged) continue;
      converged = false;
      if (pendingReason !== '' && now - p.changedAt >= stallMs) {
        throw new CliError(`service ${target.name} cannot converge: ${pendingReason}`);
      }
    }
    if (converged) return;

    const late = timedOut(now);
    if (late) throw late;
    await deps.clock.sleep(Math.min(pollMs, config.timeoutMs - (now - start)));
  }
}

/** The wait of a command: polls through ctx.api, on ctx's clock, progress on stderr. */
export function waitFor(targets: WaitTarget[], options: WaitOptions, ctx: CommandContext): Promise<void> {
  return waitForConvergence(
    targets,
    { timeoutMs: options.timeoutMs },
    { listServices: () => ctx.api.listServices(), clock: ctx.clock, progress: ctx.err },
  );
}
