// Waiting for services to converge after `service create` / `service scale`.
//
//   poll ListServices (every 100 ms)
//     -> all targets running == desired and stopping == 0 ?  done
//        (and desired == the replicas just asked for, so a stale status does not count)
//     -> a target with a pending reason whose running count
//        has not moved for 5 s ?                             "cannot converge: <reason>"
//     -> past --timeout ?                                     "timed out ..."
//     -> else print "web: 2/3 running" when a count changed, sleep, poll again
//
// Clock, sleep and the ListServices call are injected, so tests run it on a fake clock.
import type { ServiceSummary } from '../proto/gen/shoal.js';
import { CliError } from './errors.js';
import { formatDuration } from './format.js';

export const POLL_MS = 100; // a CLI may poll; ListServices is one etcd range read
export const STALL_MS = 5_000; // no progress this long while the manager says why: give up
/** A service never seen in ListServices for this long was removed under us. */
const MISSING_MS = STALL_MS;

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
  now(): number;
  sleep(ms: number): Promise<void>;
  /** One progress line (stderr). */
  progress(line: string): void;
}

export interface WaitConfig {
  timeoutMs: number;
  pollMs?: number;
  stallMs?: number;
}

interface Progress {
  seen: boolean;
  line: string;
  running: number;
  /** When running last changed (or when we started watching). */
  changedAt: number;
  summary: string;
  converged: boolean;
}

export async function waitForConvergence(targets: WaitTarget[], config: WaitConfig, deps: WaitDeps): Promise<void> {
  const pollMs = config.pollMs ?? POLL_MS;
  const stallMs = config.stallMs ?? STALL_MS;
  const start = deps.now();
  const state = new Map<string, Progress>(
    targets.map((t) => [t.id, { seen: false, line: '', running: -1, changedAt: start, summary: 'not listed yet', converged: false }]),
  );

  for (;;) {
    const listed = new Map((await deps.listServices()).map((s) => [s.service?.id ?? '', s]));
    const now = deps.now();
    let converged = true;
    for (const target of targets) {
      const p = state.get(target.id);
      if (p === undefined) continue;
      const summary = listed.get(target.id);
      if (summary === undefined) {
        converged = false;
        if (p.seen) throw new CliError(`service ${target.name} was removed while waiting for it to converge`);
        if (now - start >= MISSING_MS) throw new CliError(`service ${target.name} is not listed by the manager`);
        continue;
      }
      p.seen = true;
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

    const elapsed = now - start;
    if (elapsed >= config.timeoutMs) {
      const waiting = targets.flatMap((t) => {
        const p = state.get(t.id);
        return p === undefined || p.converged ? [] : [`${t.name} (${p.summary})`];
      });
      throw new CliError(
        `timed out after ${formatDuration(config.timeoutMs)} waiting for ${waiting.join(', ') || 'services'} to converge`,
      );
    }
    await deps.sleep(Math.min(pollMs, config.timeoutMs - elapsed));
  }
}
