// shoal service inspect: a JSON array of service rows, with their status, their version, the
// last update's status and how many previous versions `service rollback` can go back to.
import { jsonArray } from '../../output.js';
import { atLeastOne, formatFlag } from '../../parse/values.js';
import { type CommandSpec, forEachRef } from '../command.js';
import { INSPECT_FORMAT } from '../list.js';
import type { Service, UpdateConfig } from '../../../proto/gen/shoal.js';
import { UpdateFailureAction, UpdateOrder, UpdateState } from '../../../proto/gen/shoal.js';
import { isoTime } from '../../output.js';
import { serviceRow } from './rows.js';

function configRow(c: UpdateConfig | undefined) {
  if (!c) return null;
  return {
    parallelism: c.parallelism,
    delayMs: c.delayMs,
    failureAction: (UpdateFailureAction[c.failureAction] ?? String(c.failureAction)).toLowerCase(),
    monitorMs: c.monitorMs,
    maxFailureRatio: c.maxFailureRatio,
    order: c.order === UpdateOrder.START_FIRST ? 'start-first' : 'stop-first',
    healthyDeadlineMs: c.healthyDeadlineMs,
    progressDeadlineMs: c.progressDeadlineMs,
  };
}

/** The rolling-update part of a row: configs, the last update's status, the versions kept. */
export function updateRow(s: Service) {
  const st = s.updateStatus;
  return {
    updateConfig: configRow(s.spec?.update),
    rollbackConfig: configRow(s.spec?.rollback),
    updateStatus: st
      ? {
          state: (UpdateState[st.state] ?? String(st.state)).toLowerCase(),
          startedAt: isoTime(st.startedAtMs),
          completedAt: st.completedAtMs ? isoTime(st.completedAtMs) : null,
          message: st.message,
        }
      : null,
    previousVersions: s.previousVersions.length,
    previousSpecVersion: s.previousVersions.at(-1)?.specVersion ?? null,
  };
}

export const serviceInspect: CommandSpec<{ refs: string[] }> = {
  name: 'service inspect',
  usage: 'shoal service inspect [OPTIONS] SERVICE [SERVICE...]',
  summary: 'Display detailed information on one or more services (a JSON array)',
  flags: [INSPECT_FORMAT],
  build({ flags, positionals }) {
    formatFlag(flags, ['json']);
    return { refs: atLeastOne('service inspect', 'SERVICE', positionals) };
  },
  async run({ refs }, ctx) {
    const { results, failed } = await forEachRef(refs, ctx, (ref) => ctx.api.getService(ref));
    const statuses = results.length > 0 ? await ctx.api.listServices() : [];
    const statusById = new Map(statuses.map((s) => [s.service?.id ?? '', s.status]));
    ctx.out(jsonArray(results.map((s) => ({ ...serviceRow(s, statusById.get(s.id)), ...updateRow(s) }))));
    return failed > 0 ? 1 : 0;
  },
};
