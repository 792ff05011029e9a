// What a command is: its declaration (name, usage, flags: what parsing and --help read), its
// build (parsed flags and arguments -> options; pure, throws UsageError, nothing sent yet)
// and its run (options + context -> exit code). Each command's file exports one CommandSpec;
// its resource folder lists them in a CommandGroup; commands/registry.ts lists the groups.
import type { Clock } from '../../proto/clock.js';
import type { ControlApi } from '../client.js';
import { ManagerError } from '../errors.js';
import type { FlagSpec, Parsed } from '../parse/flags.js';

/** What a command gets to run: the manager API and its outputs (so tests can fake them). */
export interface CommandContext {
  api: ControlApi;
  /** One line (or block) to stdout. */
  out: (text: string) => void;
  /** One line to stderr. */
  err: (text: string) => void;
  /** Wall-clock time (Date.now): ages shown against the manager's timestamps. */
  now: () => number;
  /** Intervals and waits (the converge wait): monotonic, and a test's own clock in tests. */
  clock: Clock;
  /** Aborted on Ctrl-C / SIGTERM for commands that end cleanly on them (`interruptible`). */
  signal: AbortSignal;
}

/** Exit status of a command that ran: 0, or 1 when some of its arguments failed. */
export type ExitCode = 0 | 1;

export interface CommandSpec<O> {
  /** "service create", or a command without a group: "events". */
  name: string;
  aliases?: string[];
  usage: string;
  summary: string;
  /** The command's own flags; --host and --help are added to every command. */
  flags: FlagSpec[];
  /** Stop at the first positional: everything after it is arguments (IMAGE COMMAND ARG...). */
  stopAtPositional?: boolean;
  /** Ctrl-C / SIGTERM abort ctx.signal and the command ends with its exit code (`events`). */
  interruptible?: boolean;
  build(parsed: Parsed): O;
  run(options: O, ctx: CommandContext): Promise<ExitCode>;
}

/** Any command: its options are only handed back to its own run. */
export type AnyCommand = CommandSpec<unknown>;

/** `shoal service ...`: a resource's commands, in the order `shoal service --help` lists them. */
export interface CommandGroup {
  name: string;
  summary: string;
  commands: readonly AnyCommand[];
}

/** Every command `shoal` knows: what parsing, --help (and shell completion) read. */
export interface Registry {
  groups: readonly CommandGroup[];
  /** Commands without a group (`shoal events`). */
  commands: readonly AnyCommand[];
}

/**
 * Runs `fn` for each ref, like docker's multi-argument commands: a ref the manager refuses
 * (not found, ...) is reported as `shoal: <details>` and the others still run. Anything
 * else (manager unreachable, a bug) stops at once. Returns the results that succeeded.
 */
export async function forEachRef<T>(
  refs: readonly string[],
  ctx: CommandContext,
  fn: (ref: string) => Promise<T>,
): Promise<{ results: T[]; failed: number }> {
  const results: T[] = [];
  let failed = 0;
  for (const ref of refs) {
    try {
      results.push(await fn(ref));
    } catch (err) {
      if (!(err instanceof ManagerError) || err.retryable) throw err;
      ctx.err(`shoal: ${err.message}`);
      failed++;
    }
  }
  return { results, failed };
}
