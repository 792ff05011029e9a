// The embedded default: with no etcd endpoints or NATS URL configured, the manager runs
// its own etcd and nats-server as child processes, on loopback, with data in its state
// directory. A child left behind by a manager that crashed is ended before a new start.
// Neither trusts loopback alone (any local user can connect there): etcd serves TLS to
// clients and peers and accepts only certificates of the state dir's own CA
// (config/local-pki.ts); nats-server requires a user and a random password kept 0600 in
// the state dir. A client without them is refused (etcd at the handshake, NATS at CONNECT).
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, openSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import type { EtcdTls, NatsAuth } from './config/connections.js';
import { localPki } from './config/local-pki.js';
import { privateDir, writeSecret } from './config/private-dir.js';

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
    protected readonly stateDir: string,
    private readonly command: string,
    private readonly args: string[],
    protected readonly port: number,
    private readonly log: (line: string) => void,
  ) {}

  private get pidFile(): string {
    return join(this.stateDir, `${this.name}.pid`);
  }

  /** Runs in start() before the child is spawned (makes its credentials). */
  protected prepare(): Promise<void> {
    return Promise.resolve();
  }

  async start(): Promise<void> {
    privateDir(this.stateDir);
    await this.prepare();
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

/** The embedded NATS user; the password is random, in <state>/nats-password (0600). */
const NATS_USER = 'shoal';

/** etcd on 127.0.0.1 (client `port`, peer `port + 1`), TLS both ways with the state dir's own CA. */
export class EmbeddedEtcd extends EmbeddedProcess {
  readonly endpoint: string;
  #tls: EtcdTls | undefined;

  constructor(stateDir: string, clientPort: number, log: (l: string) => void) {
    const tlsDir = join(stateDir, 'etcd-tls');
    const f = (name: string) => join(tlsDir, name);
    const client = `https://127.0.0.1:${clientPort}`;
    const peer = `https://127.0.0.1:${clientPort + 1}`;
    super(
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
        // Clients and peers: TLS, and only certificates of this state dir's CA get in.
        '--client-cert-auth',
        '--trusted-ca-file',
        f('ca.pem'),
        '--cert-file',
        f('member.pem'),
        '--key-file',
        f('member-key.pem'),
        '--peer-client-cert-auth',
        '--peer-trusted-ca-file',
        f('ca.pem'),
        '--peer-cert-file',
        f('member.pem'),
        '--peer-key-file',
        f('member-key.pem'),
        '--auto-compaction-retention',
        '1',
        '--quota-backend-bytes',
        String(4 * 1024 ** 3),
      ],
      clientPort,
      log,
    );
    this.endpoint = client;
  }

  /** The client certificate the manager's etcd connections present (after start()). */
  get tls(): EtcdTls {
    if (!this.#tls) throw new Error('embedded etcd not started');
    return this.#tls;
  }

  protected override async prepare(): Promise<void> {
    // Checked against 'localhost' (in the member certificate), not the IP: Node warns when TLS names an IP.
    this.#tls = { ...(await localPki(join(this.stateDir, 'etcd-tls'))).client, serverName: 'localhost' };
  }
}

/** nats-server on 127.0.0.1:`port`, requiring NATS_USER and the state dir's password. */
export class EmbeddedNats extends EmbeddedProcess {
  readonly url: string;
  #auth: NatsAuth | undefined;

  constructor(stateDir: string, port: number, log: (l: string) => void) {
    super('nats', stateDir, 'nats-server', ['-c', join(stateDir, 'nats.conf')], port, log);
    this.url = `nats://127.0.0.1:${port}`;
  }

  /** What the manager's NATS connections authenticate with (after start()). */
  get auth(): NatsAuth {
    if (!this.#auth) throw new Error('embedded NATS not started');
    return this.#auth;
  }

  protected override prepare(): Promise<void> {
    const passFile = join(this.stateDir, 'nats-password');
    let pass = existsSync(passFile) ? readFileSync(passFile, 'utf8').trim() : '';
    if (!/^[0-9a-f]{32,}$/.test(pass)) {
      pass = randomBytes(24).toString('hex');
      writeSecret(passFile, pass + '\n');
    }
    // The config holds the password too: written 0600 on every start (the port may change).
    writeSecret(
      join(this.stateDir, 'nats.conf'),
      `listen: "127.0.0.1:${this.port}"\nauthorization {\n  user: "${NATS_USER}"\n  password: "${pass}"\n}\n`,
    );
    this.#auth = { user: NATS_USER, pass };
    return Promise.resolve();
  }
}

export function embeddedEtcd(stateDir: string, clientPort: number, log: (l: string) => void): EmbeddedEtcd {
  return new EmbeddedEtcd(stateDir, clientPort, log);
}

export function embeddedNats(stateDir: string, port: number, log: (l: string) => void): EmbeddedNats {
  return new EmbeddedNats(stateDir, port, log);
}
