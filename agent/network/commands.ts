// The agent's network changes are made by `ip`, `bridge` and `iptables` child processes (no
// shell), run in the agent's own network namespace. Behind this interface so that unit tests
// record the commands instead of running them.
import { execFile } from 'node:child_process';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CommandRunner {
  /** Runs `file args...`; never throws for a non-zero exit (look at `code`). */
  run(file: string, args: readonly string[]): Promise<CommandResult>;
}

/** A command that had to work and did not. */
export class CommandError extends Error {
  override name = 'CommandError';
  constructor(
    readonly file: string,
    readonly args: readonly string[],
    readonly result: CommandResult,
  ) {
    super(`${file} ${args.join(' ')}: exit ${result.code}: ${result.stderr.trim().split('\n')[0] ?? ''}`);
  }
}

const TIMEOUT_MS = 10_000;

export const execRunner: CommandRunner = {
  run(file, args) {
    return new Promise((resolve) => {
      execFile(file, [...args], { timeout: TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        let code = 0;
        if (err) {
          const e = err as NodeJS.ErrnoException & { code?: number | string };
          code = typeof e.code === 'number' ? e.code : 127;
          if (typeof e.code === 'string') stderr = `${stderr}${e.message}`;
        }
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      });
    });
  },
};

/** Runs and throws CommandError unless it exits 0; resolves with stdout. */
export async function must(runner: CommandRunner, file: string, args: readonly string[]): Promise<string> {
  const r = await runner.run(file, args);
  if (r.code !== 0) throw new CommandError(file, args, r);
  return r.stdout;
}

/** Runs a listing command with -j and parses its JSON (empty output: []). */
export async function json<T>(runner: CommandRunner, file: string, args: readonly string[]): Promise<T[]> {
  const out = (await must(runner, file, args)).trim();
  if (out === '') return [];
  return JSON.parse(out) as T[];
}
