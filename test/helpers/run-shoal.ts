// Ways to run `shoal` in tests:
//   - parse only (parse, parseAs, usageError): the command line -> the command and its options;
//   - in this process (runInProcess): cli/run.ts against a manager address, with the clock the
//     test gives (a converge wait on virtual time) and the real gRPC client;
//   - the real cli/bin/shoal as a child process: to completion (shoal), or left running with
//     its output collected as it comes (RunningShoal: `shoal events`).
import { type ChildProcess, spawn } from 'node:child_process';
import { ADMIN_CERT_PATH, adminTestCredentials } from './test-pki.js';
import { fileURLToPath } from 'node:url';
import { type Clock, systemClock } from '../../proto/clock.js';
import { GrpcControlApi } from '../../cli/client.js';
import type { CommandSpec } from '../../cli/commands/command.js';
import { REGISTRY } from '../../cli/commands/registry.js';
import { UsageError } from '../../cli/errors.js';
import { type Invocation, parseCommandLine } from '../../cli/parse/command-line.js';
import { runShoal } from '../../cli/run.js';
import { ManualClock } from './manual-clock.js';

const BIN = fileURLToPath(new URL('../../cli/bin/shoal', import.meta.url));

export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

// ------------------------------------------------------------------ parse only

/** `shoal LINE...` parsed with every command registered; `env` supplies SHOAL_HOST. */
export function parse(line: string[], env: Record<string, string> = {}): Invocation {
  return parseCommandLine(REGISTRY, line, env);
}

/** The options `spec` built from `line`; throws if the line names another command (or help). */
export function parseAs<O>(spec: CommandSpec<O>, line: string[]): O {
  const { command } = parse(line);
  if (!('spec' in command) || command.spec !== spec) throw new Error(`expected ${spec.name}, got ${command.name}`);
  return command.options as O; // built by spec.build
}

/** The text of a --help (or usage) answer. */
export function helpText(line: string[]): string {
  const { command } = parse(line);
  if ('spec' in command) throw new Error(`expected help, got ${command.name}`);
  return command.text;
}

/** The UsageError message `line` gets; it must be one line. */
export function usageError(line: string[]): string {
  const err = (() => {
    try {
      parse(line);
    } catch (e) {
      return e;
    }
    throw new Error(`no error for ${line.join(' ')}`);
  })();
  if (!(err instanceof UsageError)) throw err;
  if (err.message.includes('\n')) throw new Error(`multi-line message: ${err.message}`);
  return err.message;
}

// ------------------------------------------------------------------ in this process

export interface InProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `shoal args` in this process against `host`, as main.ts would but with the clocks
 * given: `clock` for the converge wait (e.g. new ManualClock({ auto: true }); default the
 * system's), `apiClock` for the client's connect timeouts (default: a ManualClock nobody
 * moves, so no connect timeout fires however loaded the machine is).
 */
export async function runInProcess(
  args: string[],
  host: string,
  options: { clock?: Clock; apiClock?: Clock } = {},
): Promise<InProcessResult> {
  let stdout = '';
  let stderr = '';
  const code = await runShoal(args, {
    env: { SHOAL_HOST: host },
    out: (text) => void (stdout += `${text}\n`),
    err: (text) => void (stderr += `${text}\n`),
    clock: options.clock ?? systemClock,
    connect: (hosts, label) =>
      new GrpcControlApi(hosts, {
        label,
        clock: options.apiClock ?? new ManualClock(),
        credentials: adminTestCredentials,
      }),
    interrupts: () => new AbortController().signal,
  });
  return { code, stdout, stderr };
}

// ------------------------------------------------------------------ the real binary

export interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function spawnShoal(args: string[], host: string | undefined): ChildProcess {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.SHOAL_HOST;
  env.SHOAL_CERT_PATH = ADMIN_CERT_PATH;
  if (host !== undefined) env.SHOAL_HOST = host;
  return spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A running `shoal`: its output so far, a way to wait for some output, signals, its end. */
export class RunningShoal {
  stdout = '';
  stderr = '';
  readonly done: Promise<Result>;
  readonly #child: ChildProcess;
  #waiters: Array<() => void> = [];

  constructor(args: string[], host: string | undefined) {
    this.#child = spawnShoal(args, host);
    const changed = (): void => {
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const w of waiters) w();
    };
    this.#child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      this.stdout += d;
      changed();
    });
    this.#child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
      changed();
    });
    this.done = new Promise((resolve, reject) => {
      this.#child.on('error', reject);
      this.#child.on('close', (code, signal) => {
        changed();
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr });
      });
    });
  }

  /**
   * Resolves once `test` holds for (stdout, stderr), checked each time output comes; rejects
   * if shoal exits first. No time limit of its own (the test's timeout is the limit).
   */
  async until(test: (stdout: string, stderr: string) => boolean): Promise<void> {
    while (!test(this.stdout, this.stderr)) {
      if (this.#child.exitCode !== null || this.#child.signalCode !== null) {
        throw new Error(
          `shoal exited (${this.#child.exitCode ?? this.#child.signalCode}); stdout: ${this.stdout} stderr: ${this.stderr}`,
        );
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  kill(signal: NodeJS.Signals): void {
    this.#child.kill(signal);
  }
}

/** Runs `shoal args` to completion. */
export function shoal(args: string[], host: string | undefined): Promise<Result> {
  return new RunningShoal(args, host).done;
}
