// `shoal`'s command line -> the manager addresses and the command to run (or help to print).
// Pure: no I/O, no network; throws UsageError (one line, no "shoal: " prefix) for anything
// that can be checked locally. Generic: the commands come from the registry it is given.
import type { AnyCommand, Registry } from '../commands/command.js';
import { UsageError } from '../errors.js';
import { DEFAULT_HOST, type FlagValues, GLOBAL_FLAGS, parseFlags } from './flags.js';
import { commandUsage, groupUsage, rootUsage } from './help.js';

const DEFAULT_PORT = 4242;

export type ParsedCommand =
  | { name: 'help'; text: string; ok: boolean }
  /** `options` is what `spec.build` returned: hand it to `spec.run`. */
  | { name: string; spec: AnyCommand; options: unknown };

export interface Invocation {
  /** Manager addresses, tried in order (the next one on UNAVAILABLE). */
  hosts: string[];
  /** The addresses as the user gave them, for messages. */
  hostLabel: string;
  command: ParsedCommand;
}

/** Manager addresses from "a:1,b:2"; a bare host gets the default port. */
export function parseHosts(text: string): string[] {
  const hosts = text
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '')
    .map((h) => (/^[^:/[\]]+$/.test(h) ? `${h}:${DEFAULT_PORT}` : h));
  if (hosts.length === 0) throw new UsageError(`invalid manager address "${text}": expected HOST:PORT[,HOST:PORT...]`);
  return hosts;
}

/**
 * Parses `shoal`'s arguments (without "node" and the script path). `env` supplies
 * SHOAL_HOST. Throws UsageError for bad input; returns a 'help' command for --help and
 * for missing commands (ok=false: print to stderr, exit 1).
 */
export function parseCommandLine(
  registry: Registry,
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Invocation {
  let hostText: string | undefined;
  const takeHost = (flags: FlagValues): void => {
    hostText = flags.string('host') ?? hostText;
  };
  const help = (text: string, ok: boolean): Invocation => ({
    hosts: [],
    hostLabel: '',
    command: { name: 'help', text, ok },
  });
  const run = (spec: AnyCommand, args: readonly string[]): Invocation => {
    const parsed = parseFlags(args, [...spec.flags, ...GLOBAL_FLAGS], spec.name, spec.stopAtPositional ?? false);
    if (parsed.flags.bool('help')) return help(commandUsage(spec), true);
    takeHost(parsed.flags);
    const options = spec.build(parsed);
    const text = hostText ?? (env.SHOAL_HOST?.trim() || DEFAULT_HOST);
    return { hosts: parseHosts(text), hostLabel: text, command: { name: spec.name, spec, options } };
  };

  const root = parseFlags(argv, GLOBAL_FLAGS, '', true);
  takeHost(root.flags);
  const [groupName, ...groupArgs] = root.positionals;
  if (groupName === 'help') return help(rootUsage(registry), true);
  if (groupName === undefined) return help(rootUsage(registry), root.flags.bool('help'));
  const top = registry.commands.find((c) => c.name === groupName);
  if (top !== undefined) {
    if (root.flags.bool('help')) return help(commandUsage(top), true);
    return run(top, groupArgs);
  }
  const group = registry.groups.find((g) => g.name === groupName);
  if (group === undefined) throw new UsageError(`unknown command "${groupName}" (see shoal --help)`);

  const groupParsed = parseFlags(groupArgs, GLOBAL_FLAGS, group.name, true);
  takeHost(groupParsed.flags);
  const wantsHelp = groupParsed.flags.bool('help') || root.flags.bool('help');
  const [sub, ...subArgs] = groupParsed.positionals;
  if (sub === undefined) return help(groupUsage(group), wantsHelp);
  const spec = group.commands.find((c) => c.name === `${group.name} ${sub}` || c.aliases?.includes(sub));
  if (spec === undefined)
    throw new UsageError(`unknown command "${group.name} ${sub}" (see shoal ${group.name} --help)`);
  if (wantsHelp) return help(commandUsage(spec), true);
  return run(spec, subArgs);
}
