// --help text, from the registry: `shoal --help`, `shoal GROUP --help`, `shoal GROUP COMMAND --help`.
import type { AnyCommand, CommandGroup, Registry } from '../commands/command.js';
import { type FlagSpec, GLOBAL_FLAGS } from './flags.js';

const NAME_WIDTH = 10;

function flagLines(flags: readonly FlagSpec[]): string[] {
  const all = [...flags, ...GLOBAL_FLAGS];
  const left = all.map((f) => {
    const names = f.short ? `-${f.short}, --${f.long}` : `    --${f.long}`;
    return f.value ? `${names} ${f.value}` : names;
  });
  const width = Math.max(...left.map((l) => l.length)) + 3;
  return all.map((f, i) => `  ${(left[i] ?? '').padEnd(width)}${f.help}`);
}

export function rootUsage(registry: Registry): string {
  const entries = [...registry.groups, ...registry.commands]
    .map((c): [string, string] => [c.name, c.summary])
    .sort(([a], [b]) => a.localeCompare(b));
  return [
    'Usage:  shoal [--host ADDR[,ADDR]] COMMAND',
    '',
    'A container scheduler across a group of Docker hosts.',
    '',
    'Commands:',
    ...entries.map(([name, summary]) => `  ${name.padEnd(NAME_WIDTH)}${summary}`),
    '',
    'Global options:',
    ...flagLines([]),
    '',
    "Run 'shoal COMMAND --help' for more information on a command.",
  ].join('\n');
}

export function groupUsage(group: CommandGroup): string {
  return [
    `Usage:  shoal ${group.name} COMMAND`,
    '',
    group.summary,
    '',
    'Commands:',
    ...group.commands.map((c) => `  ${c.name.slice(group.name.length + 1).padEnd(NAME_WIDTH)}${c.summary}`),
    '',
    `Run 'shoal ${group.name} COMMAND --help' for more information on a command.`,
  ].join('\n');
}

export function commandUsage(spec: AnyCommand): string {
  const aliases = spec.aliases?.length ? ['', `Aliases: ${[spec.name.split(' ')[1], ...spec.aliases].join(', ')}`] : [];
  return [`Usage:  ${spec.usage}`, '', spec.summary, ...aliases, '', 'Options:', ...flagLines(spec.flags)].join('\n');
}
