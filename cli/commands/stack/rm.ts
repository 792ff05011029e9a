// shoal stack rm STACK...: the stack's services first, then its networks, secrets and configs
// (everything labelled com.docker.stack.namespace=STACK); volumes stay, as docker. A network
// is refused while the removed services' tasks are still stopping on it, so each removal is
// retried until the tasks are gone (at most REMOVE_WAIT_MS), and none is left behind.
import { status } from '@grpc/grpc-js';
import { ManagerError } from '../../errors.js';
import type { CommandContext, CommandSpec } from '../command.js';
import { atLeastOne } from '../../parse/values.js';
import { NAMESPACE_LABEL } from './compose/common.js';
import { stackServices } from './plan.js';

/** Tasks stop within their grace period (10 s by default) plus a few status reports. */
const REMOVE_WAIT_MS = 60_000;
const RETRY_MS = 500;

async function untilRemoved(ctx: CommandContext, remove: () => Promise<void>): Promise<void> {
  const deadline = ctx.clock.now() + REMOVE_WAIT_MS;
  for (;;) {
    try {
      await remove();
      return;
    } catch (err) {
      const busy = err instanceof ManagerError && err.code === (status.FAILED_PRECONDITION as number);
      if (!busy || ctx.clock.now() >= deadline) throw err;
      await ctx.clock.sleep(RETRY_MS);
    }
  }
}

/** Removes one stack; false when it has nothing (docker: `Nothing found in stack: X`). */
export async function removeStack(stack: string, ctx: CommandContext): Promise<boolean> {
  const [services, networks, secrets, configs] = await Promise.all([
    ctx.api.listServices(),
    ctx.api.listNetworks(),
    ctx.api.listSecrets(),
    ctx.api.listConfigs(),
  ]);
  const mine = (labels: Record<string, string> | undefined): boolean => labels?.[NAMESPACE_LABEL] === stack;
  const own = {
    services: stackServices(
      services.flatMap((s) => (s.service ? [s.service] : [])),
      stack,
    ),
    networks: networks.flatMap((n) => (n.network?.spec && mine(n.network.spec.labels) ? [n.network.spec.name] : [])),
    secrets: secrets.flatMap((s) => (s.spec && mine(s.spec.labels) ? [s.spec.name] : [])),
    configs: configs.flatMap((c) => (c.spec && mine(c.spec.labels) ? [c.spec.name] : [])),
  };
  const total = own.services.length + own.networks.length + own.secrets.length + own.configs.length;
  if (total === 0) return false;
  for (const s of [...own.services].sort((a, b) => (a.spec?.name ?? '').localeCompare(b.spec?.name ?? ''))) {
    ctx.out(`Removing service ${s.spec?.name ?? s.id}`);
    await ctx.api.removeService(s.id);
  }
  for (const name of own.secrets.sort()) {
    ctx.out(`Removing secret ${name}`);
    await untilRemoved(ctx, () => ctx.api.removeSecret(name));
  }
  for (const name of own.configs.sort()) {
    ctx.out(`Removing config ${name}`);
    await untilRemoved(ctx, () => ctx.api.removeConfig(name));
  }
  for (const name of own.networks.sort()) {
    ctx.out(`Removing network ${name}`);
    await untilRemoved(ctx, () => ctx.api.removeNetwork(name));
  }
  return true;
}

export const stackRm: CommandSpec<{ stacks: string[] }> = {
  name: 'stack rm',
  aliases: ['remove', 'down'],
  usage: 'shoal stack rm STACK [STACK...]',
  summary: 'Remove one or more stacks (their volumes stay)',
  flags: [],
  build: ({ positionals }) => ({ stacks: atLeastOne('stack rm', 'STACK', positionals) }),
  async run({ stacks }, ctx) {
    let failed = 0;
    for (const stack of stacks) {
      if (!(await removeStack(stack, ctx))) {
        ctx.err(`Nothing found in stack: ${stack}`);
        failed++;
      }
    }
    return failed > 0 ? 1 : 0;
  },
};
