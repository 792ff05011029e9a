// `shoal`: parse, dispatch to a command, print errors as one line. Nothing else lives here.
import { setTimeout as sleep } from 'node:timers/promises';
import { type Command, parseCommandLine } from './args.js';
import { GrpcControlApi } from './client.js';
import type { CommandContext, ExitCode } from './commands/context.js';
import { events } from './commands/events.js';
import { managerLs } from './commands/manager.js';
import { networkCreate, networkInspect, networkLs, networkRm } from './commands/network.js';
import { nodeInspect, nodeLs, nodeRm, nodeUpdate } from './commands/node.js';
import {
  serviceCreate,
  serviceInspect,
  serviceLookup,
  serviceLs,
  servicePs,
  serviceRm,
  serviceScale,
} from './commands/service.js';
import { CliError } from './errors.js';

const INTERNAL_ERROR = 70; // EX_SOFTWARE: a bug in shoal, not bad input

function dispatch(command: Exclude<Command, { name: 'help' }>, ctx: CommandContext): Promise<ExitCode> {
  switch (command.name) {
    case 'node ls':
      return nodeLs(command, ctx);
    case 'node inspect':
      return nodeInspect(command, ctx);
    case 'node update':
      return nodeUpdate(command, ctx);
    case 'node rm':
      return nodeRm(command, ctx);
    case 'service create':
      return serviceCreate(command, ctx);
    case 'service ls':
      return serviceLs(command, ctx);
    case 'service ps':
      return servicePs(command, ctx);
    case 'service inspect':
      return serviceInspect(command, ctx);
    case 'service scale':
      return serviceScale(command, ctx);
    case 'service rm':
      return serviceRm(command, ctx);
    case 'service lookup':
      return serviceLookup(command, ctx);
    case 'events':
      return events(command, ctx);
    case 'manager ls':
      return managerLs(command, ctx);
    case 'network create':
      return networkCreate(command, ctx);
    case 'network ls':
      return networkLs(command, ctx);
    case 'network inspect':
      return networkInspect(command, ctx);
    case 'network rm':
      return networkRm(command, ctx);
  }
}

async function main(argv: string[]): Promise<number> {
  const out = (text: string): void => void process.stdout.write(`${text}\n`);
  const err = (text: string): void => void process.stderr.write(`${text}\n`);
  const fail = (e: unknown): number => {
    if (e instanceof CliError) {
      err(`shoal: ${e.message}`);
      return e.exitCode;
    }
    err(`shoal: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return INTERNAL_ERROR;
  };

  let invocation;
  try {
    invocation = parseCommandLine(argv, process.env);
  } catch (e) {
    return fail(e);
  }
  const { command } = invocation;
  if (command.name === 'help') {
    (command.ok ? out : err)(command.text);
    return command.ok ? 0 : 1;
  }

  // Ctrl-C / SIGTERM end `events` cleanly (exit 0); every other command keeps the default
  // (interrupting a wait leaves the service as it is).
  const interrupted = new AbortController();
  if (command.name === 'events') {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => interrupted.abort());
  }
  const api = new GrpcControlApi(invocation.hosts, { label: invocation.hostLabel });
  try {
    const ctx = { api, out, err, now: Date.now, sleep: (ms: number) => sleep(ms), signal: interrupted.signal };
    return await dispatch(command, ctx);
  } catch (e) {
    return fail(e);
  } finally {
    await api.close();
  }
}

// `shoal service ls | head -1`: a reader that went away is not worth a stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  process.exit(process.exitCode ?? 0);
});

process.exitCode = await main(process.argv.slice(2));
