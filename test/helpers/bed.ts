// Helpers for the e2e tests, which run against the bed `deploy/local-cluster up` built
// (test/run brings it up twice: plain, then with --managers 3 --etcd 3; it exports
// SHOAL_HOST and SHOAL_DEMO_IMAGE).
//
// Tests assert through each host's own dockerd, not only through shoal: `containersOf`
// asks every host's engine for the containers labelled with a service's name.
import { execFile } from 'node:child_process';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import type { ConnectionOptions } from 'nats';
import { LABEL } from '../../proto/naming.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SHOAL_BIN = path.join(REPO, 'cli/bin/shoal');
const LOCAL_CLUSTER = path.join(REPO, 'deploy/local-cluster');
const BED_RUN = '/run/shoal-bed';
const BED_STATE = '/var/lib/shoal-bed';
/** The bed's store CA and client pair (deploy/bed-tls.sh), for its own etcd and NATS. */
const BED_TLS = `${BED_STATE}/tls`;

export const SHOAL_HOST = process.env.SHOAL_HOST ?? '10.213.0.1:4242';
/** The admin bundle manager1 wrote (deploy/local-cluster prints it as SHOAL_CERT_PATH). */
export const SHOAL_CERT_PATH = process.env.SHOAL_CERT_PATH ?? `${BED_STATE}/manager1`;
export const IMAGE = process.env.SHOAL_DEMO_IMAGE ?? '10.213.0.1:5000/shoal/busybox:latest';

/** Commands that keep a container running and stop at once (with --stop-grace-period 1s). */
export const HTTPD = ['httpd', '-f', '-p', '80'];
export const SLEEP = ['sleep', '3600'];

/** A count `up` recorded in /run/shoal-bed (hosts, managers, etcd), or `fallback`. */
function recorded(name: string, fallback: number): number {
  try {
    const n = Number.parseInt(readFileSync(`${BED_RUN}/${name}`, 'utf8').trim(), 10);
    return Number.isInteger(n) ? n : fallback;
  } catch {
    return fallback; // bed not up: keep the default, the tests will say what is missing
  }
}

/** The bed's hosts, host1..hostN, from the count `up` recorded. */
export const HOSTS: readonly string[] = Array.from({ length: recorded('hosts', 3) || 3 }, (_, i) => `host${i + 1}`);

/** The bed's shape: managers (1 unless `up --managers M`) and etcd members the bed runs
 * itself (0: the manager's embedded etcd and NATS; else E members and a nats-server). */
export const BED = {
  managers: recorded('managers', 1),
  etcd: recorded('etcd', 0),
  natsUrl: 'nats://127.0.0.1:24222',
  managerAddress: (n: number): string => `10.213.0.1:${4240 + 2 * n}`, // 4242, 4244, ... (each join port the next)
  etcdEndpoint: (n: number): string => `https://127.0.0.1:${22379 + 2 * (n - 1)}`,
};

/** etcdctl's (and curl's) flags for the bed's own etcd: its members take only certificates of the bed's CA. */
export const ETCD_CLIENT_TLS: readonly string[] = [
  '--cacert',
  `${BED_TLS}/ca.pem`,
  '--cert',
  `${BED_TLS}/client.pem`,
  '--key',
  `${BED_TLS}/client-key.pem`,
];

/**
 * nats.js options for the bed's NATS: with --managers/--etcd the bed's nats-server (TLS, a
 * client certificate of the bed's CA); on the plain bed manager1's embedded one (127.0.0.1:14222,
 * user shoal and the password in its state dir). Read when called (the bed must be up).
 */
export function bedNatsOptions(): Partial<ConnectionOptions> & { servers: string } {
  if (BED.etcd > 0) {
    const pem = (f: string) => readFileSync(`${BED_TLS}/${f}`, 'utf8');
    return { servers: BED.natsUrl, tls: { ca: pem('ca.pem'), cert: pem('client.pem'), key: pem('client-key.pem') } };
  }
  const pass = readFileSync(`${BED_STATE}/manager1/nats-password`, 'utf8').trim();
  return { servers: 'nats://127.0.0.1:14222', user: 'shoal', pass };
}

/** Throws (so every test of the file fails saying why) unless the bed has this shape. */
export function requireBed(want: { managers?: number; etcd?: number }): void {
  const problems: string[] = [];
  if (want.managers !== undefined && BED.managers < want.managers)
    problems.push(`${BED.managers} manager(s), needs ${want.managers}`);
  if (want.etcd !== undefined && BED.etcd < want.etcd)
    problems.push(`${BED.etcd} bed etcd member(s), needs ${want.etcd}`);
  if (problems.length > 0) {
    throw new Error(
      `this bed has ${problems.join('; ')}: run deploy/local-cluster up --managers ${want.managers ?? 1} --etcd ${want.etcd ?? 1}`,
    );
  }
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

const CLI_TIMEOUT_MS = 90_000; // longest CLI wait (create/scale converge) plus slack

function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(file, [...args], { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      let code = 0;
      if (err) {
        const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean; signal?: string };
        code = typeof e.code === 'number' ? e.code : e.killed || e.signal ? 124 : 127;
      }
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** Runs `shoal ARGS` against the bed's manager. Never throws: look at `code`. */
export function shoal(...args: string[]): Promise<RunResult> {
  return run(SHOAL_BIN, args, { ...process.env, SHOAL_HOST, SHOAL_CERT_PATH }, CLI_TIMEOUT_MS);
}

function describe(args: readonly string[], r: RunResult): string {
  return `shoal ${args.join(' ')} -> exit ${r.code}\nstdout: ${r.stdout.trim()}\nstderr: ${r.stderr.trim()}`;
}

/** Runs `shoal ARGS` and throws (with its output) unless it exits 0. */
export async function shoalOk(...args: string[]): Promise<RunResult> {
  const r = await shoal(...args);
  if (r.code !== 0) throw new Error(describe(args, r));
  return r;
}

/** Runs `shoal ARGS --format json` and parses the array it prints. */
export async function shoalJson<T = Record<string, unknown>>(...args: string[]): Promise<T[]> {
  const r = await shoalOk(...args, '--format', 'json');
  return JSON.parse(r.stdout) as T[];
}

/** Runs `shoal ARGS` with a deadline of its own (e.g. one attempt during a fail-over). */
export function shoalWithin(timeoutMs: number, ...args: string[]): Promise<RunResult> {
  return run(SHOAL_BIN, args, { ...process.env, SHOAL_HOST, SHOAL_CERT_PATH }, timeoutMs);
}

/** Runs `deploy/local-cluster ARGS` (e.g. stop-agent host2). Never throws: look at `code`. */
export function localCluster(...args: string[]): Promise<RunResult> {
  return run(LOCAL_CLUSTER, args, process.env, 120_000);
}

/** Runs `deploy/local-cluster ARGS` and throws (with its stderr) unless it exits 0. */
export async function localClusterOk(...args: string[]): Promise<RunResult> {
  const r = await localCluster(...args);
  if (r.code !== 0) throw new Error(`deploy/local-cluster ${args.join(' ')} -> exit ${r.code}: ${r.stderr.trim()}`);
  return r;
}

/** Runs any program (etcdctl, ...) and returns its result. Never throws. */
export function runProgram(file: string, args: readonly string[], timeoutMs = 30_000): Promise<RunResult> {
  return run(file, args, process.env, timeoutMs);
}

// ---- rows of `--format json` (only the fields the tests read) ------------------------------

export interface NodeRow {
  id: string;
  hostname: string;
  status: string;
  availability: string;
  labels: Record<string, string>;
}

export interface TaskRow {
  id: string;
  service: string;
  slot: number;
  node: string;
  desiredState: string;
  state: string;
  error: string;
  exitCode?: number;
  containerId: string;
  /** The task's address on each of its networks, once it runs. */
  addresses?: Array<{ network: string; ip: string }>;
}

export interface ManagerRow {
  id: string;
  address: string;
  leader: boolean;
  startedAt: string;
}

export interface ServiceRow {
  id: string;
  name: string;
  replicas?: number;
  running?: number;
}

export const nodes = (): Promise<NodeRow[]> => shoalJson<NodeRow>('node', 'ls');
export const tasks = (service: string): Promise<TaskRow[]> => shoalJson<TaskRow>('service', 'ps', service);
export const services = (): Promise<ServiceRow[]> => shoalJson<ServiceRow>('service', 'ls');
export const managers = (): Promise<ManagerRow[]> => shoalJson<ManagerRow>('manager', 'ls');

// ---- the hosts' own engines -----------------------------------------------------------------

const engines = new Map<string, Docker>();

/** dockerode client for a bed host's dockerd. */
export function docker(host: string): Docker {
  let d = engines.get(host);
  if (!d) {
    d = new Docker({ socketPath: `${BED_RUN}/${host}/docker.sock` });
    engines.set(host, d);
  }
  return d;
}

export interface Container {
  id: string;
  host: string;
  state: string;
  taskId: string;
  slot: string;
}

/**
 * The containers of a service on every host, asked from each host's dockerd
 * (label com.shoal.service.name=NAME). Running ones only unless `all`.
 */
export async function containersOf(service: string, opts: { all?: boolean } = {}): Promise<Container[]> {
  const perHost = await Promise.all(
    HOSTS.map(async (host) => {
      const list = await docker(host).listContainers({
        all: opts.all ?? false,
        filters: { label: [`${LABEL.serviceName}=${service}`] },
      });
      return list.map((c) => ({
        id: c.Id,
        host,
        state: c.State,
        taskId: c.Labels[LABEL.taskId] ?? '',
        slot: c.Labels[LABEL.slot] ?? '',
      }));
    }),
  );
  return perHost.flat();
}

export interface ContainerLife {
  id: string;
  host: string;
  running: boolean;
  startedAt: string;
  restartCount: number;
}

/** What each host's dockerd says about every container of a service (`docker inspect`):
 * whether it runs, when it started, how often the engine restarted it. Sorted by id. */
export async function lifeOf(service: string): Promise<ContainerLife[]> {
  const out: ContainerLife[] = [];
  for (const c of await containersOf(service, { all: true })) {
    const info = await docker(c.host).getContainer(c.id).inspect();
    out.push({
      id: c.id,
      host: c.host,
      running: info.State.Running,
      startedAt: info.State.StartedAt,
      restartCount: info.RestartCount,
    });
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

/** Running containers of a service per host, e.g. `{host1: 2, host2: 2, host3: 2}`. */
export async function countPerHost(service: string, opts: { all?: boolean } = {}): Promise<Record<string, number>> {
  const counts: Record<string, number> = Object.fromEntries(HOSTS.map((h) => [h, 0]));
  for (const c of await containersOf(service, opts)) counts[c.host] = (counts[c.host] ?? 0) + 1;
  return counts;
}

/** `{host1: 2, host2: 2, host3: 2}` for evenly spread counts. */
export function each(n: number): Record<string, number> {
  return Object.fromEntries(HOSTS.map((h) => [h, n]));
}

export function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

// ---- waiting --------------------------------------------------------------------------------

/**
 * Polls `fn` until it returns a value other than undefined/false, or throws after
 * `timeoutMs` naming `what` and the last value seen (so a failure says how far it got).
 */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  what = 'condition',
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
      last = v;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) {
      const detail = lastError instanceof Error ? lastError.message : JSON.stringify(last);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${detail})`);
    }
    await sleep(intervalMs);
  }
}

/** Waits until `observe()` deep-equals `want`; returns the last observation either way. */
export async function waitForValue<T>(observe: () => Promise<T>, want: T, timeoutMs: number): Promise<T> {
  let last: T | undefined;
  const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
  try {
    return await waitFor(async () => {
      last = await observe();
      return same(last, want) ? last : undefined;
    }, timeoutMs);
  } catch {
    return last ?? (await observe());
  }
}

/**
 * Polls `fn` every `intervalMs` until it returns a value other than undefined/false and
 * returns how long that took (ms since `since`, default now) with the value; throws like
 * `waitFor` after `timeoutMs`. Waits past a test's budget on purpose, so a failure says by
 * how much it was missed.
 */
export async function timeUntil<T>(
  fn: () => Promise<T | undefined | false>,
  timeoutMs: number,
  what: string,
  opts: { since?: number; intervalMs?: number } = {},
): Promise<{ ms: number; value: T }> {
  const since = opts.since ?? Date.now();
  const value = await waitFor(fn, timeoutMs, what, opts.intervalMs ?? 100);
  return { ms: Date.now() - since, value };
}

/** Reports a measured time: `t.log` (in ava's output) and a plain `measured: ...` line
 * (test/run collects these into its summary). */
export function measured(
  t: { log: (...values: unknown[]) => void },
  what: string,
  ms: number,
  budgetMs?: number,
): void {
  // whole seconds as before; a sub-second budget (0.2 s) with its decimals
  const budget =
    budgetMs === undefined
      ? ''
      : ` (budget ${budgetMs % 1000 === 0 ? budgetMs / 1000 : (budgetMs / 1000).toFixed(1)} s)`;
  const line = `measured: ${what}: ${(ms / 1000).toFixed(2)} s${budget}`;
  t.log(line);
  console.log(`${line} [${BED.managers} manager(s), ${BED.etcd ? `${BED.etcd} etcd` : 'embedded etcd'}]`);
}

// ---- per-test services ----------------------------------------------------------------------

/** A service name unique to this run, so a leftover from an aborted run never collides. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
}

/** Removes a service (if it exists) and waits until no host has a container of it. */
export async function removeService(name: string, timeoutMs = 60_000): Promise<void> {
  await shoal('service', 'rm', name);
  await waitFor(
    async () => (await containersOf(name, { all: true })).length === 0,
    timeoutMs,
    `no container of ${name} left`,
  );
}

/** Waits until every bed host is a ready node. */
export async function waitNodesReady(timeoutMs = 60_000): Promise<NodeRow[]> {
  return waitFor(
    async () => {
      const rows = await nodes();
      const ready = rows.filter((n) => n.status === 'ready' && HOSTS.includes(n.hostname));
      return ready.length === HOSTS.length ? rows : undefined;
    },
    timeoutMs,
    `all of ${HOSTS.join(', ')} ready`,
  );
}

// ---- inside containers, and from the machine -------------------------------------------

/** The bed's Docker CLI against a host's dockerd (the tests' `docker -H ...`). */
export function dockerCli(host: string, args: readonly string[], timeoutMs = 30_000): Promise<RunResult> {
  return run('docker', ['-H', `unix://${BED_RUN}/${host}/docker.sock`, ...args], process.env, timeoutMs);
}

/** `docker exec CONTAINER CMD...` on a host. Never throws: look at `code`. */
export function execIn(
  host: string,
  container: string,
  cmd: readonly string[],
  timeoutMs = 30_000,
): Promise<RunResult> {
  return dockerCli(host, ['exec', container, ...cmd], timeoutMs);
}

/** A container's address on a shoal network (Docker network `shoal-<network>`), from its
 * host's dockerd; '' when it is not attached. */
export async function containerIp(host: string, id: string, network = 'shoal'): Promise<string> {
  const info = await docker(host).getContainer(id).inspect();
  return info.NetworkSettings.Networks[`shoal-${network}`]?.IPAddress ?? '';
}

/** A bed host's underlay address: host1 -> 10.213.0.11. */
export function hostAddress(host: string): string {
  return `10.213.0.${10 + Number.parseInt(host.replace(/^host/, ''), 10)}`;
}

/** Manager N's HTTP API token (it listens beyond loopback on the bed, so it wants one). */
export function managerHttpToken(n: number): string {
  return readFileSync(`${BED_STATE}/manager${n}/http.token`, 'utf8').trim();
}

/** Manager N's Consul-shaped HTTP API (`--http-listen`, see deploy/README.md). */
export function managerHttp(n: number): string {
  return `10.213.0.1:${8499 + n}`;
}

export interface HttpReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP GET from the test process on a connection of its own (no keep-alive, so every
 * request is a new TCP connection). Rejects on a network error (e.g. ECONNREFUSED). */
export function httpGet(url: string, timeoutMs = 10_000, token?: string): Promise<HttpReply> {
  const headers: Record<string, string> = { connection: 'close' };
  if (token) headers.authorization = `Bearer ${token}`;
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, headers, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no reply within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}
