// shoal service create | ls | ps | inspect | scale | rm
import { status } from '@grpc/grpc-js';
import { ServiceMode } from '../../proto/gen/shoal.js';
import type { Command } from '../args.js';
import { ManagerError } from '../errors.js';
import {
  endpointRow,
  endpointTable,
  jsonArray,
  serviceRow,
  serviceTable,
  sortEndpointRows,
  sortServiceRows,
  sortTaskRows,
  taskRow,
  taskTable,
} from '../format.js';
import { waitForConvergence, type WaitTarget } from '../wait.js';
import { type CommandContext, type ExitCode, forEachRef } from './context.js';

type Cmd<N extends Command['name']> = Extract<Command, { name: N }>;

function waitFor(targets: WaitTarget[], timeoutMs: number, ctx: CommandContext): Promise<void> {
  return waitForConvergence(
    targets,
    { timeoutMs },
    { listServices: () => ctx.api.listServices(), now: ctx.now, sleep: ctx.sleep, progress: ctx.err },
  );
}

export async function serviceCreate(cmd: Cmd<'service create'>, ctx: CommandContext): Promise<ExitCode> {
  const service = await ctx.api.createService(cmd.spec);
  if (cmd.wait !== undefined) {
    const target: WaitTarget = { id: service.id, name: service.spec?.name || cmd.spec.name };
    if (cmd.spec.mode === ServiceMode.REPLICATED) target.desired = cmd.spec.replicas;
    await waitFor([target], cmd.wait.timeoutMs, ctx);
  }
  ctx.out(service.id);
  return 0;
}

export async function serviceLs(cmd: Cmd<'service ls'>, ctx: CommandContext): Promise<ExitCode> {
  const summaries = await ctx.api.listServices();
  const rows = sortServiceRows(
    summaries.flatMap((s) => (s.service === undefined ? [] : [serviceRow(s.service, s.status)])),
  );
  if (cmd.quiet) {
    if (rows.length > 0) ctx.out(rows.map((r) => r.id).join('\n'));
  } else {
    ctx.out(cmd.format === 'json' ? jsonArray(rows) : serviceTable(rows, cmd.noTrunc));
  }
  return 0;
}

export async function servicePs(cmd: Cmd<'service ps'>, ctx: CommandContext): Promise<ExitCode> {
  // Resolve each ref first, so an unknown service is an error and not an empty list.
  const services = await Promise.all(cmd.refs.map((ref) => ctx.api.getService(ref)));
  const [nodes, ...taskLists] = await Promise.all([
    ctx.api.listNodes(),
    ...services.map((s) => ctx.api.listTasks({ service: s.id })),
  ]);
  const hostnames = new Map(nodes.map((n) => [n.id, n.description?.hostname ?? ''] as const));
  const seen = new Set<string>(); // the same service named twice: its tasks once
  const { desiredStates } = cmd.filter;
  const rows = sortTaskRows(
    taskLists
      .flat()
      .filter((t) => !seen.has(t.id) && seen.add(t.id))
      .filter((t) => desiredStates.length === 0 || desiredStates.includes(t.desiredState))
      .map((t) => taskRow(t, hostnames)),
  );
  if (cmd.quiet) {
    if (rows.length > 0) ctx.out(rows.map((r) => r.id).join('\n'));
  } else {
    ctx.out(cmd.format === 'json' ? jsonArray(rows) : taskTable(rows, ctx.now(), cmd.noTrunc));
  }
  return 0;
}

export async function serviceInspect(cmd: Cmd<'service inspect'>, ctx: CommandContext): Promise<ExitCode> {
  const { results, failed } = await forEachRef(cmd.refs, ctx, (ref) => ctx.api.getService(ref));
  const statuses = results.length > 0 ? await ctx.api.listServices() : [];
  const statusById = new Map(statuses.map((s) => [s.service?.id ?? '', s.status]));
  ctx.out(jsonArray(results.map((s) => serviceRow(s, statusById.get(s.id)))));
  return failed > 0 ? 1 : 0;
}

export async function serviceScale(cmd: Cmd<'service scale'>, ctx: CommandContext): Promise<ExitCode> {
  const { results, failed } = await forEachRef(
    cmd.targets.map((t) => t.ref),
    ctx,
    async (ref) => {
      const replicas = cmd.targets.find((t) => t.ref === ref)?.replicas ?? 0;
      const service = await ctx.api.scaleService(ref, replicas);
      return { id: service.id, name: service.spec?.name || ref, desired: replicas, replicas };
    },
  );
  if (cmd.wait !== undefined && results.length > 0) await waitFor(results, cmd.wait.timeoutMs, ctx);
  for (const r of results) ctx.out(`${r.name} scaled to ${r.replicas}`);
  return failed > 0 ? 1 : 0;
}

export async function serviceRm(cmd: Cmd<'service rm'>, ctx: CommandContext): Promise<ExitCode> {
  const { failed } = await forEachRef(cmd.refs, ctx, async (ref) => {
    await ctx.api.removeService(ref);
    ctx.out(ref);
  });
  return failed > 0 ? 1 : 0;
}

/** The endpoints discovery serves for a name; an unknown name is an error (exit 1). */
export async function serviceLookup(cmd: Cmd<'service lookup'>, ctx: CommandContext): Promise<ExitCode> {
  const answer = await ctx.api.lookupService(cmd.service);
  // The manager answers NOT_FOUND; an answer saying the name does not exist means the same.
  if (!answer.exists) throw new ManagerError(`no such service: ${cmd.service}`, status.NOT_FOUND, false);
  const rows = sortEndpointRows(answer.endpoints.map(endpointRow));
  ctx.out(cmd.format === 'json' ? jsonArray(rows) : endpointTable(rows));
  return 0;
}
