// shoal stack deploy -c FILE [-c FILE...] [--prune] [--env-file FILE] STACK: read, validate and
// convert every file first (nothing is sent when any of it is wrong), then create the
// networks, secrets and configs that are missing and create, update or leave each service.
import { readFileSync } from 'node:fs';
import { checkServiceSpec } from '../../../proto/spec-rules.js';
import { checkName, NameError } from '../../../proto/names.js';
import { UsageError } from '../../errors.js';
import type { FlagSpec, Parsed } from '../../parse/flags.js';
import { asUsage } from '../../parse/values.js';
import type { CommandContext, CommandSpec } from '../command.js';
import { IMAGE_FLAGS, type ImageRequestOptions, imageRequestOptions } from '../service/image-flags.js';
import type { StackObjects } from './compose/convert.js';
import { parseEnvFile } from './compose/interpolate.js';
import { ComposeError } from './compose/common.js';
import { type ClusterNow, planDeploy } from './plan.js';

const COMPOSE_FILE: FlagSpec = {
  long: 'compose-file',
  short: 'c',
  type: 'string',
  value: 'FILE',
  help: 'Path to a Compose file (repeatable: later files override earlier ones)',
};
const PRUNE: FlagSpec = { long: 'prune', type: 'boolean', help: 'Remove services that are no longer in the file' };
const ENV_FILE: FlagSpec = {
  long: 'env-file',
  type: 'string',
  value: 'FILE',
  help: 'Read variables for interpolation from a file (repeatable; the environment wins)',
};

export interface DeployOptions {
  stack: string;
  files: string[];
  envFiles: string[];
  prune: boolean;
  /** The variables interpolation reads: the process's environment. */
  env: Map<string, string>;
  flags: Parsed['flags'];
}

/** A stack name: one DNS label (its objects are STACK_NAME). */
export function stackArgument(command: string, positionals: readonly string[]): string {
  const [stack, ...rest] = positionals;
  if (stack === undefined || rest.length > 0) throw new UsageError(`${command} requires exactly one STACK`);
  try {
    checkName('stack name', stack);
  } catch (err) {
    if (err instanceof NameError) throw new UsageError(err.message);
    throw err;
  }
  return stack;
}

function processEnv(): Map<string, string> {
  return new Map(
    Object.entries(process.env).flatMap(([k, v]) => (v === undefined ? [] : [[k, v] as [string, string]])),
  );
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ComposeError(
      `cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

/** Every file read and converted, every spec checked: the stack as it will be sent. */
export async function readStack(options: Pick<DeployOptions, 'stack' | 'files' | 'envFiles' | 'env'>): Promise<{
  objects: StackObjects;
  warnings: string[];
}> {
  // Loaded here, not at start-up: the YAML parser and the schema validator cost every command ~1 s.
  const [{ loadCompose }, { convertStack }] = await Promise.all([
    import('./compose/load.js'),
    import('./compose/convert.js'),
  ]);
  // --env-file values first, the environment over them (docker: the shell wins).
  const env = new Map<string, string>();
  for (const file of options.envFiles)
    for (const [k, v] of parseEnvFile(readText(file, 'env file'), file, options.env)) env.set(k, v);
  for (const [k, v] of options.env) env.set(k, v);
  const sources = options.files.map((path) => ({ path, text: readText(path, 'compose file') }));
  const { compose, warnings } = loadCompose(sources, env);
  const objects = convertStack(compose, { stack: options.stack, env, readFile: (p) => readFileSync(p) });
  for (const spec of objects.services) {
    try {
      asUsage(() => checkServiceSpec(spec));
    } catch (err) {
      if (err instanceof UsageError) throw new ComposeError(`service ${spec.name}: ${err.message}`);
      throw err;
    }
  }
  return { objects, warnings };
}

export async function clusterNow(ctx: CommandContext): Promise<ClusterNow> {
  const [services, networks, secrets, configs] = await Promise.all([
    ctx.api.listServices(),
    ctx.api.listNetworks(),
    ctx.api.listSecrets(),
    ctx.api.listConfigs(),
  ]);
  return {
    services: services.flatMap((s) => (s.service === undefined ? [] : [s.service])),
    networks: networks.map((n) => n.network?.spec?.name ?? ''),
    secrets: secrets.map((s) => s.spec?.name ?? ''),
    configs: configs.map((c) => c.spec?.name ?? ''),
  };
}

export const stackDeploy: CommandSpec<DeployOptions> = {
  name: 'stack deploy',
  aliases: ['up'],
  usage: 'shoal stack deploy [OPTIONS] STACK',
  summary: 'Deploy a new stack or update an existing stack',
  flags: [COMPOSE_FILE, ENV_FILE, PRUNE, ...IMAGE_FLAGS],
  build({ flags, positionals }) {
    const stack = stackArgument('stack deploy', positionals);
    const files = flags.list(COMPOSE_FILE.long);
    if (files.length === 0) throw new UsageError('stack deploy requires at least one --compose-file (-c)');
    return {
      stack,
      files,
      envFiles: flags.list(ENV_FILE.long),
      prune: flags.bool(PRUNE.long),
      env: processEnv(),
      flags,
    };
  },
  async run(options, ctx) {
    const { objects, warnings } = await readStack(options);
    for (const w of warnings) ctx.err(w);
    const imageOptions = new Map<string, ImageRequestOptions>(
      objects.services.map((s) => [s.name, imageRequestOptions(options.flags, s.image)]),
    );
    const now = await clusterNow(ctx);
    const plan = planDeploy(objects, { ...now, services: now.services }, options.stack, options.prune);
    for (const action of plan.actions) {
      switch (action.kind) {
        case 'create-network':
          ctx.out(`Creating network ${action.network.name}`);
          await ctx.api.createNetwork({ name: action.network.name, subnet: '', labels: action.network.labels });
          break;
        case 'create-file': {
          const { file } = action;
          ctx.out(`Creating ${file.kind} ${file.name}`);
          const spec = { name: file.name, labels: file.labels, data: file.data ?? Buffer.alloc(0) };
          if (file.kind === 'secret') await ctx.api.createSecret(spec);
          else await ctx.api.createConfig(spec);
          break;
        }
        case 'create-service':
          ctx.out(`Creating service ${action.spec.name}`);
          await ctx.api.createService(action.spec, imageOptions.get(action.spec.name));
          break;
        case 'update-service':
          ctx.out(`Updating service ${action.spec.name} (id: ${action.id})`);
          await ctx.api.updateService(action.id, action.spec, action.specVersion, imageOptions.get(action.spec.name));
          break;
        case 'remove-service':
          ctx.out(`Removing service ${action.name}`);
          await ctx.api.removeService(action.id);
          break;
      }
    }
    return 0;
  },
};
