// One `shoal` run, without the process around it: parse, run the command, print any error as
// one line, return the exit status. main.ts gives it the process's streams, environment,
// clock and signals; tests give it their own (a fake clock, captured output).
import type { Clock } from '../proto/clock.js';
import type { ControlApi } from './client.js';
import { REGISTRY } from './commands/registry.js';
import { CliError } from './errors.js';
import { parseCommandLine } from './parse/command-line.js';

const INTERNAL_ERROR = 70; // EX_SOFTWARE: a bug in shoal, not bad input

export interface ShoalIo {
  env: Readonly<Record<string, string | undefined>>;
  /** One line (or block) to stdout. */
  out: (text: string) => void;
  /** One line to stderr. */
  err: (text: string) => void;
  /** The converge wait's time. */
  clock: Clock;
  /** The manager API for these addresses (`label`: as the user wrote them); closed after the command. */
  connect(hosts: readonly string[], label: string): ControlApi;
  /**
   * Asked only for commands that end cleanly on Ctrl-C / SIGTERM (`events`): the signal that
   * ends them. Other commands keep the default (interrupting a wait leaves the service as it is).
   */
  interrupts(): AbortSignal;
}

export async function runShoal(argv: readonly string[], io: ShoalIo): Promise<number> {
  const fail = (e: unknown): number => {
    if (e instanceof CliError) {
      io.err(`shoal: ${e.message}`);
      return e.exitCode;
    }
    io.err(`shoal: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return INTERNAL_ERROR;
  };

  let invocation;
  try {
    invocation = parseCommandLine(REGISTRY, argv, io.env);
  } catch (e) {
    return fail(e);
  }
  const { command } = invocation;
  if (!('spec' in command)) {
    (command.ok ? io.out : io.err)(command.text);
    return command.ok ? 0 : 1;
  }

  const signal = command.spec.interruptible ? io.interrupts() : new AbortController().signal;
  const api = io.connect(invocation.hosts, invocation.hostLabel);
  try {
    const ctx = {
      api,
      out: io.out,
      err: io.err,
      now: () => Date.now(), // ages shown against the manager's timestamps: wall-clock time
      clock: io.clock,
      signal,
    };
    return await command.spec.run(command.options, ctx);
  } catch (e) {
    return fail(e);
  } finally {
    await api.close();
  }
}
