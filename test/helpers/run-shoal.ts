// Runs the real cli/bin/shoal as a child process: to completion (shoal), or left running
// with its output collected line by line (startShoal: `shoal events`).
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../cli/bin/shoal', import.meta.url));

export interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function spawnShoal(args: string[], host: string | undefined): ChildProcess {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.SHOAL_HOST;
  if (host !== undefined) env.SHOAL_HOST = host;
  return spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

/** A running `shoal`: its output so far, a way to wait for a line, signals, its end. */
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

  /** Resolves once `test` holds for (stdout, stderr); rejects after `timeoutMs`. */
  async until(test: (stdout: string, stderr: string) => boolean, timeoutMs = 10_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!test(this.stdout, this.stderr)) {
      if (this.#child.exitCode !== null || this.#child.signalCode !== null) {
        throw new Error(
          `shoal exited (${this.#child.exitCode ?? this.#child.signalCode}); stdout: ${this.stdout} stderr: ${this.stderr}`,
        );
      }
      const left = end - Date.now();
      if (left <= 0) throw new Error(`timed out; stdout: ${this.stdout} stderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
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
