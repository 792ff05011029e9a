// The embedded default: with no etcd endpoints or NATS URL configured, the manager runs
// its own etcd and nats-server as child processes, on loopback, with data in its state
// directory. A child left behind by a manager that crashed is ended before a new start.
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';

const READY_TIMEOUT_MS = 30_000;
/** A child that ignores SIGTERM this long is killed. */
const KILL_AFTER_MS = 5_000;
/** How often the child's port is tried while it starts. */
const READY_POLL_MS = 50;

export class EmbeddedProcess {
  private child: ChildProcess | undefined;
  private exited = false;
  private closing: Promise<void> | undefined;

  constructor(
    readonly name: string,
    private readonly stateDir: string,
    private readonly command: string,
    private readonly args: string[],
    private readonly port: number,
    private readonly log: (line: string) => void,
  ) {}

  private get pidFile(): string {
    return join(this.stateDir, `${this.name}.pid`);
  }

  async start(): Promise<void> {
    mkdirSync(this.stateDir, { recursive: true });
    killLeftover(this.pidFile, this.command, this.log);
    const out = openSync(join(this.stateDir, `${this.name}.log`), 'a');
    const child = spawn(this.command, this.args, { stdio: ['ignore', out, out] });
    this.child = child;
    child.on('exit', (code, signal) => {
      this.exited = true;
      this.log(`embedded ${this.name} exited (${signal ?? code})`);
    });
    const spawned = await new Promise<Error | undefined>((resolve) => {
      child.once('spawn', () => resolve(undefined));
      child.once('error', (err) => resolve(err));
    });
    if (spawned)
      throw new Error(
        `cannot start embedded ${this.name} (${this.command}): ${spawned.message}; install it or configure an address`,
      );
    writeFileSync(this.pidFile, String(child.pid));
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (!(await portOpen(this.port))) {
      if (this.exited)
        throw new Error(`embedded ${this.name} exited at start; see ${join(this.stateDir, `${this.name}.log`)}`);
      if (Date.now() > deadline)
        throw new Error(
          `embedded ${this.name} did not listen on 127.0.0.1:${this.port} within ${READY_TIMEOUT_MS / 1000}s`,
        );
      await sleep(READY_POLL_MS);
    }
    this.log(`embedded ${this.name} running (pid ${child.pid}, 127.0.0.1:${this.port})`);
  }

  /** Ends the child (SIGTERM, SIGKILL after 5 s) and waits for it; idempotent (a second call waits for the first). */
  close(): Promise<void> {
    this.closing ??= this.stopChild();
    return this.closing;
  }

  private async stopChild(): Promise<void> {
    const child = this.child;
    if (!child || this.exited) return;
    const done = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
    await done;
    clearTimeout(timer);
    rmSync(this.pidFile, { force: true });
  }
}

/** Ends a process from an earlier run only if its pid still runs the same command. */
function killLeftover(pidFile: string, command: string, log: (l: string) => void): void {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 1) return;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
    if (!cmdline.endsWith(command.split('/').pop()!)) return;
    process.kill(pid, 'SIGKILL');
    log(`ended leftover ${command} (pid ${pid}) from an earlier run`);
  } catch {
    // not running any more
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export function embeddedEtcd(stateDir: string, clientPort: number, log: (l: string) => void): EmbeddedProcess {
  const peerPort = clientPort + 1;
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  return new EmbeddedProcess(
    'etcd',
    stateDir,
    'etcd',
    [
      '--name',
      'shoal',
      '--data-dir',
      join(stateDir, 'etcd'),
      '--listen-client-urls',
      client,
      '--advertise-client-urls',
      client,
      '--listen-peer-urls',
      peer,
      '--initial-advertise-peer-urls',
      peer,
      '--initial-cluster',
      `shoal=${peer}`,
      '--auto-compaction-retention',
      '1',
      '--quota-backend-bytes',
      String(4 * 1024 ** 3),
    ],
    clientPort,
    log,
  );
}

export function embeddedNats(stateDir: string, port: number, log: (l: string) => void): EmbeddedProcess {
  return new EmbeddedProcess('nats', stateDir, 'nats-server', ['-a', '127.0.0.1', '-p', String(port)], port, log);
}
