// shoal service scale: SERVICE=REPLICAS..., then wait for them to converge unless --detach.
import { UsageError } from '../../errors.js';
import { checkReplicas } from '../../../proto/spec-rules.js';
import { asUsage, atLeastOne, parseCount, parseKeyValue } from '../../parse/values.js';
import { type CommandSpec, forEachRef } from '../command.js';
import { DETACH, TIMEOUT, waitFor, type WaitOptions, waitOptions } from './wait.js';

export interface ScaleTarget {
  ref: string;
  replicas: number;
}

export interface ScaleOptions {
  targets: ScaleTarget[];
  /** undefined: --detach. */
  wait: WaitOptions | undefined;
}

export const serviceScale: CommandSpec<ScaleOptions> = {
  name: 'service scale',
  usage: 'shoal service scale [OPTIONS] SERVICE=REPLICAS [SERVICE=REPLICAS...]',
  summary: 'Scale one or more replicated services',
  flags: [DETACH, TIMEOUT],
  build({ flags, positionals }) {
    const seen = new Set<string>();
    const targets = atLeastOne('service scale', 'SERVICE=REPLICAS', positionals).map((text) => {
      const kv = parseKeyValue(text);
      if (kv === undefined) throw new UsageError(`invalid scale "${text}": expected SERVICE=REPLICAS`);
      const [ref, countText] = kv;
      const replicas = parseCount(countText);
      if (replicas === undefined) {
        throw new UsageError(`invalid scale "${text}": replicas must be a non-negative integer, got "${countText}"`);
      }
      asUsage(() => checkReplicas(replicas));
      if (seen.has(ref)) throw new UsageError(`service "${ref}" is scaled twice`);
      seen.add(ref);
      return { ref, replicas };
    });
    return { targets, wait: waitOptions(flags) };
  },
  async run({ targets, wait }, ctx) {
    const { results, failed } = await forEachRef(
      targets.map((t) => t.ref),
      ctx,
      async (ref) => {
        const replicas = targets.find((t) => t.ref === ref)?.replicas ?? 0;
        const service = await ctx.api.scaleService(ref, replicas);
        return { id: service.id, name: service.spec?.name || ref, desired: replicas, replicas };
      },
    );
    if (wait !== undefined && results.length > 0) await waitFor(results, wait, ctx);
    for (const r of results) ctx.out(`${r.name} scaled to ${r.replicas}`);
    return failed > 0 ? 1 : 0;
  },
};
