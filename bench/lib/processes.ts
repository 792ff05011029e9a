// Child processes for the benchmarks: run a command and collect its output, a command
// started while a clock runs, a line a process must print, a free loopback port, and what
// /proc says about a process (peak memory, CPU time).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(
  file: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      file,
      [...args],
      { env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : 124
          : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** run(), throwing when the command exits non-zero (the message has its stderr). */
export async function ok(
  file: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<Run> {
  const r = await run(file, args, opts);
  if (r.code !== 0)
    throw new Error(
      `${path.basename(file)} ${args.join(' ')} -> exit ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`,
    );
  return r;
}

export /** A command spawned while the clock runs: its failure ends the wait at once. */
class Started {
  failure: Error | undefined;
  returnedMs: number | undefined;
  readonly done: Promise<void>;
  constructor(file: string, args: readonly string[], since: number, env?: NodeJS.ProcessEnv) {
    this.done = ok(file, args, env === undefined ? {} : { env }).then(
      () => {
        this.returnedMs = performance.now() - since;
      },
      (err: unknown) => {
        this.failure = err instanceof Error ? err : new Error(String(err));
      },
    );
  }
  /** Throws the command's error, if it failed. */
  async check(): Promise<void> {
    await this.done;
    if (this.failure) throw this.failure;
  }
}

export function waitForLine(proc: ChildProcess, pattern: RegExp, what: string, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(
      () => reject(new Error(`${what}: not seen within ${ms} ms; output:\n${buf.slice(-2000)}`)),
      ms,
    );
    const onData = (d: Buffer) => {
      buf += d.toString();
      const m = pattern.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(m[0]);
      }
      if (buf.length > 100_000) buf = buf.slice(-20_000);
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what}: process exited (${code}); output:\n${buf.slice(-2000)}`));
    });
  });
}

/** A loopback port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** A process's peak resident memory (VmHWM), in bytes. */
export function vmHwmBytes(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

export /** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return 0;
  }
}

/**
 * The processes a benchmark started: close() stops them in reverse start order (SIGTERM, then
 * SIGKILL after each one's grace period; a frozen process gets SIGKILL at once), by PID.
 */
export class ChildGroup {
  readonly #children: { name: string; proc: ChildProcess; graceMs: number }[] = [];
  #closed = false;
  /** Processes stopped with SIGSTOP (lost nodes): killed at close, a SIGTERM would wait. */
  readonly frozen = new Set<ChildProcess>();
  /** Processes whose exit is no surprise (not logged). */
  readonly expectedExit = new Set<ChildProcess>();

  constructor(private readonly log: (line: string) => void) {}

  start(name: string, command: string, args: string[], env?: NodeJS.ProcessEnv, graceMs = 5_000): ChildProcess {
    const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
    this.add(name, proc, graceMs);
    return proc;
  }

  add(name: string, proc: ChildProcess, graceMs = 5_000): void {
    this.#children.push({ name, proc, graceMs });
    proc.once('exit', (code, signal) => {
      if (!this.#closed && !this.expectedExit.has(proc)) this.log(`${name} exited unexpectedly (${code ?? signal})`);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const { proc, graceMs } of [...this.#children].reverse()) {
      if (proc.exitCode !== null || proc.signalCode !== null || proc.pid === undefined) continue;
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      try {
        process.kill(proc.pid, this.frozen.has(proc) ? 'SIGKILL' : 'SIGTERM');
      } catch {
        continue;
      }
      const timer = setTimeout(() => {
        try {
          if (proc.pid !== undefined) process.kill(proc.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }, graceMs);
      await exited;
      clearTimeout(timer);
    }
  }
}
