// Flag declarations and the token walk every command shares. Tokenising is node:util
// parseArgs (non-strict, with tokens); the walk here adds what parseArgs lacks: stopping at
// the first positional (so `service create --name w img sh -c 'x --y'` leaves `-c` and
// `--y` to the container), accepting values that start with a dash (`--replicas -1` is then
// reported as a bad number, not as a missing value) and docker-style messages.
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';

export const DEFAULT_HOST = '127.0.0.1:4242';

export interface FlagSpec {
  long: string;
  short?: string;
  type: 'string' | 'boolean';
  /** Placeholder shown in --help, e.g. "NAME". */
  value?: string;
  help: string;
}

/** Accepted everywhere: before the group, after it, after the command (listed last in --help). */
export const HOST: FlagSpec = {
  long: 'host',
  short: 'H',
  type: 'string',
  value: 'ADDR[,ADDR]',
  help: `Manager address(es), tried in order (env SHOAL_HOST, default ${DEFAULT_HOST})`,
};
export const HELP: FlagSpec = { long: 'help', short: 'h', type: 'boolean', help: 'Print usage' };
export const GLOBAL_FLAGS: readonly FlagSpec[] = [HOST, HELP];

/** Flag values by long name, in command-line order; booleans are "true" / "false". */
export class FlagValues {
  constructor(private readonly values: ReadonlyMap<string, readonly string[]>) {}

  has(long: string): boolean {
    return this.values.has(long);
  }
  /** The last value given (docker: a repeated single-valued flag keeps the last one). */
  string(long: string): string | undefined {
    return this.values.get(long)?.at(-1);
  }
  list(long: string): string[] {
    return [...(this.values.get(long) ?? [])];
  }
  bool(long: string): boolean {
    return this.string(long) === 'true';
  }
}

export interface Parsed {
  flags: FlagValues;
  positionals: string[];
}

/**
 * Walks `args` with `flags` known; `context` names the command in messages. Throws
 * UsageError for an unknown flag, a missing value or a boolean given a value.
 */
export function parseFlags(
  args: readonly string[],
  flags: readonly FlagSpec[],
  context: string,
  stopAtPositional: boolean,
): Parsed {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const f of flags) options[f.long] = f.short ? { type: f.type, short: f.short } : { type: f.type };
  // Non-strict: never throws; unknown flags come back as tokens and are reported below.
  const { tokens } = parseArgs({ args: [...args], options, strict: false, allowPositionals: true, tokens: true });

  const byLong = new Map(flags.map((f) => [f.long, f]));
  const values = new Map<string, string[]>();
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'option-terminator') {
      positionals.push(...args.slice(token.index + 1));
      break;
    }
    if (token.kind === 'positional') {
      if (stopAtPositional) {
        positionals.push(...args.slice(token.index));
        break;
      }
      positionals.push(token.value);
      continue;
    }
    const spec = byLong.get(token.name);
    if (spec === undefined) {
      throw new UsageError(`unknown flag ${token.rawName}${context ? ` for "${context}"` : ''}`);
    }
    let value: string;
    if (spec.type === 'string') {
      if (token.value === undefined) throw new UsageError(`flag ${token.rawName} needs a value`);
      value = token.value;
    } else if (token.value === undefined) {
      value = 'true';
    } else if (token.value === 'true' || token.value === 'false') {
      value = token.value;
    } else {
      throw new UsageError(`flag ${token.rawName} takes no value (or =true / =false), got "${token.value}"`);
    }
    const list = values.get(spec.long) ?? [];
    list.push(value);
    values.set(spec.long, list);
  }
  return { flags: new FlagValues(values), positionals };
}
