// Value parsers shared by the commands (sizes, CPUs, counts, KEY=VALUE, durations, --format),
// and readers that take a flag's value and name the flag when it is wrong. Durations are
// proto/duration.ts's, the manager's too. Pure; throws UsageError.
import { DURATION_EXAMPLES, parseDuration } from '../../proto/duration.js';
import { checkDurationMs, InputError } from '../../proto/spec-rules.js';
import { UsageError } from '../errors.js';
import type { FlagValues } from './flags.js';

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** Bytes from "64M", "1G", "512k", "1.5g", "64MiB", "100b" or "100" (binary units, as docker). */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?$/i.exec(text.trim());
  if (!m) return undefined;
  const bytes = Math.floor(Number(m[1]) * (SIZE_UNITS[(m[2] ?? '').toLowerCase()] ?? 1));
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** Nano-CPUs from "0.5", "2", ".25" (1e9 = one CPU, as docker's --cpus). */
export function parseCpus(text: string): number | undefined {
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(text)) return undefined;
  const nano = Math.round(Number(text) * 1e9);
  return Number.isSafeInteger(nano) ? nano : undefined;
}

/** A non-negative integer written in decimal digits only. */
export function parseCount(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Splits "KEY=VALUE" at the first "="; the key must be non-empty, the value may be. */
export function parseKeyValue(text: string): [string, string] | undefined {
  const eq = text.indexOf('=');
  if (eq <= 0) return undefined;
  return [text.slice(0, eq), text.slice(eq + 1)];
}

/** Runs one of proto/spec-rules.ts's checks (the manager's too), its InputError as a UsageError. */
export function asUsage<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof InputError) throw new UsageError(err.message);
    throw err;
  }
}

// ------------------------------------------------------------------ flag readers

export function sizeFlag(flags: FlagValues, long: string): number | undefined {
  const text = flags.string(long);
  if (text === undefined) return undefined;
  const n = parseSize(text);
  if (n === undefined)
    throw new UsageError(`invalid --${long} "${text}": expected bytes or a number with k, m, g or t (e.g. 64M)`);
  return n;
}

export function cpusFlag(flags: FlagValues, long: string): number | undefined {
  const text = flags.string(long);
  if (text === undefined) return undefined;
  const n = parseCpus(text);
  if (n === undefined) throw new UsageError(`invalid --${long} "${text}": expected a number of CPUs (e.g. 0.5)`);
  return n;
}

/** Milliseconds, or undefined when the flag was not given; `positive`: 0 is refused. */
export function durationFlag(flags: FlagValues, long: string, positive = false): number | undefined {
  const text = flags.string(long);
  if (text === undefined) return undefined;
  const ms = parseDuration(text);
  if (ms === undefined)
    throw new UsageError(`invalid --${long} "${text}": expected a duration like ${DURATION_EXAMPLES}`);
  if (positive && ms <= 0) throw new UsageError(`--${long} must be longer than 0, got "${text}"`);
  asUsage(() => checkDurationMs(ms, `--${long}`, text));
  return ms;
}

export function countFlag(flags: FlagValues, long: string): number | undefined {
  const text = flags.string(long);
  if (text === undefined) return undefined;
  const n = parseCount(text);
  if (n === undefined) throw new UsageError(`--${long} must be a non-negative integer, got "${text}"`);
  return n;
}

/** Every value of a repeatable KEY=VALUE flag, in order. */
export function keyValueFlags(flags: FlagValues, long: string): Array<[string, string]> {
  return flags.list(long).map((text) => {
    const kv = parseKeyValue(text);
    if (kv === undefined) throw new UsageError(`invalid --${long} "${text}": expected KEY=VALUE`);
    return kv;
  });
}

/** A repeatable KEY=VALUE flag as a record (a key given twice keeps its last value). */
export function labelFlags(flags: FlagValues, long: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [k, v] of keyValueFlags(flags, long)) labels[k] = v;
  return labels;
}

/** --format: one of `allowed`, the first by default. */
export function formatFlag<F extends string>(flags: FlagValues, allowed: readonly [F, ...F[]]): F {
  const text = flags.string('format') ?? allowed[0];
  if (!(allowed as readonly string[]).includes(text)) {
    throw new UsageError(`invalid --format "${text}": expected ${allowed.join(' or ')}`);
  }
  return text as F;
}

// ------------------------------------------------------------------ positionals

export function noArguments(command: string, positionals: readonly string[]): void {
  if (positionals.length > 0) throw new UsageError(`"${command}" accepts no arguments, got "${positionals[0]}"`);
}

export function atLeastOne(command: string, what: string, positionals: string[]): string[] {
  if (positionals.length === 0) throw new UsageError(`${command} requires at least one ${what}`);
  return positionals;
}
