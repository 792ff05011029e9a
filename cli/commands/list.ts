// What the ls and inspect commands share: --format, -q, --no-trunc, and printing rows as a
// table, a JSON array or ids.
import { jsonArray } from '../output.js';
import type { FlagSpec, FlagValues } from '../parse/flags.js';
import { formatFlag } from '../parse/values.js';
import type { CommandContext } from './command.js';

export const FORMAT: FlagSpec = {
  long: 'format',
  type: 'string',
  value: 'FORMAT',
  help: 'Output format: table (default) or json',
};
export const QUIET: FlagSpec = { long: 'quiet', short: 'q', type: 'boolean', help: 'Only print IDs' };
export const NO_TRUNC: FlagSpec = { long: 'no-trunc', type: 'boolean', help: 'Do not truncate IDs' };
/** `inspect` prints JSON; --format is accepted for docker's sake. */
export const INSPECT_FORMAT: FlagSpec = {
  long: 'format',
  type: 'string',
  value: 'FORMAT',
  help: 'Output format: json (the only one)',
};

export type OutputFormat = 'table' | 'json';

export interface ListOptions {
  format: OutputFormat;
  quiet: boolean;
  noTrunc: boolean;
}

export function listOptions(flags: FlagValues): ListOptions {
  return {
    format: formatFlag(flags, ['table', 'json']),
    quiet: flags.bool(QUIET.long),
    noTrunc: flags.bool(NO_TRUNC.long),
  };
}

/** -q: the ids, one a line (nothing for none); else a JSON array or `table(rows)`. */
export function printList<R extends { id: string }>(
  rows: readonly R[],
  options: Pick<ListOptions, 'format' | 'quiet'>,
  table: (rows: readonly R[]) => string,
  ctx: CommandContext,
): void {
  if (options.quiet) {
    if (rows.length > 0) ctx.out(rows.map((r) => r.id).join('\n'));
  } else {
    ctx.out(options.format === 'json' ? jsonArray(rows) : table(rows));
  }
}
