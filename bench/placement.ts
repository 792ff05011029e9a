// Placement benchmark (issue 6 part 1): a real etcd, a real nats-server and the real
// manager process, against simulated agents (bench/sim/host.ts: real Agent code, in-memory
// engine), like kubemark.
//
//   node --import=tsx bench/placement.ts [--nodes 1000] [--replicas 100000] [--services 10]
//        [--hosts 2] [--lost 0.1] [--start-delay-ms 5] [--cpu-prof DIR] [--timeout 240]
//        [--manager-root DIR (another checkout's manager, for before/after)]
//
// Measures, through NATS task events (shoal.events.task.>: one message per task state
// change, which the manager publishes anyway) with ListServices as the final word:
//   - placements per second end to end: replicas / (first create -> last task RUNNING);
//   - per service, create -> all its tasks RUNNING (p50, p99);
//   - manager peak RSS (VmHWM), etcd database size;
//   - lost nodes: SIGSTOP of the process holding --lost of the nodes (frozen like a host
//     that is cut off or powered off: no packet, no FIN) -> every replica that
//     ran there runs elsewhere.
// Prints a markdown table; exits 1 when something did not converge. Every process it
// starts is stopped by PID and its temp dir removed, also on Ctrl-C and on errors.
import { fork, type ChildProcess } from 'node:child_process';
import { copyFileSync, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { Etcd3 } from 'etcd3';
import { connect, type NatsConnection } from 'nats';
import {
  ControlClient,
  NodeStatus,
  ServiceMode,
  ServiceSpec,
  type ListNodesResponse,
  type ListServicesResponse,
  type ListTasksResponse,
  type Service,
} from '../proto/gen/shoal.js';
import { ChildGroup, cpuSeconds, freePort, vmHwmBytes, waitForLine } from './lib/processes.js';
import { fmtMiB, fmtS, percentile } from './lib/stats.js';
import { TaskTracker, type TaskEvent } from './lib/task-tracker.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '1000' },
    replicas: { type: 'string', default: '100000' },
    services: { type: 'string', default: '10' },
    hosts: { type: 'string', default: '2' },
    lost: { type: 'string', default: '0.1' },
    'start-delay-ms': { type: 'string', default: '5' },
    'spread-ms': { type: 'string', default: '' },
    'cpu-prof': { type: 'string', default: '' },
    timeout: { type: 'string', default: '240' },
    'default-network-subnet': { type: 'string', default: '10.128.0.0/14' },
    quiet: { type: 'boolean', default: false },
    /** Keep the manager's log (in /tmp/shoal-placement-manager.log) even when the run succeeds. */
    'keep-log': { type: 'boolean', default: false },
    /** Another checkout's manager (e.g. a git worktree of an older commit), for before/after runs. */
    'manager-root': { type: 'string', default: '' },
  },
  strict: true,
});

const NODES = Number(values.nodes);
const REPLICAS = Number(values.replicas);
const SERVICES = Number(values.services);
const HOSTS = Math.max(1, Number(values.hosts));
const LOST = Math.round(NODES * Number(values.lost));
const TIMEOUT_MS = Number(values.timeout) * 1000;
const SPREAD_MS = values['spread-ms'] ? Number(values['spread-ms']) : Math.min(5_000, NODES * 4);
const t0 = Date.now();
let exitCode = 0;
const log = (line: string) => {
  if (!values.quiet) process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);
};

// ------------------------------------------------------------------ processes and cleanup

const children = new ChildGroup(log);
const tmp = mkdtempSync(join(tmpdir(), 'shoal-placement-'));
let cleaned = false;
/** Where the manager's log is kept when the run fails (the temp dir goes). */
const MANAGER_LOG_KEPT = join(tmpdir(), 'shoal-placement-manager.log');

async function cleanup(): Promise<void> {
  if (cleaned) return;
  cleaned = true;
  // Reverse start order: agents, manager (writes its profile on exit), NATS, etcd.
  await children.close();
  if (exitCode !== 0 || values['keep-log']) {
    try {
      copyFileSync(join(tmp, 'manager.log'), MANAGER_LOG_KEPT);
      process.stderr.write(`manager log kept in ${MANAGER_LOG_KEPT}\n`);
    } catch {
      // no log
    }
  }
  rmSync(tmp, { recursive: true, force: true });
}

process.on('SIGINT', () => {
  exitCode = 130;
  void cleanup().then(() => process.exit(130));
});
process.on('SIGTERM', () => void cleanup().then(() => process.exit(143)));

/** The manager's last output, shown when something fails. */
let managerLog = '';

function call<Req, Res>(client: ControlClient, method: string, req: Req, timeoutMs = 30_000): Promise<Res> {
  return new Promise((resolve, reject) => {
    const fn = (
      client as unknown as Record<
        string,
        (r: Req, m: Metadata, o: object, cb: (e: ServiceError | null, v: Res) => void) => void
      >
    )[method]!;
    fn.call(client, req, new Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) =>
      err ? reject(new Error(`${method}: ${err.details || err.message}`)) : resolve(res),
    );
  });
}

// ------------------------------------------------------------------ the run

interface Results {
  rows: [string, string][];
  ok: boolean;
}

async function run(): Promise<Results> {
  const rows: [string, string][] = [];
  let ok = true;

  // etcd: loopback, its own data dir, default quotas.
  const [etcdClient, etcdPeer, natsPort, managerPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const etcdUrl = `http://127.0.0.1:${etcdClient}`;
  const etcd = children.start('etcd', 'etcd', [
    '--name',
    'bench',
    '--data-dir',
    join(tmp, 'etcd'),
    '--listen-client-urls',
    etcdUrl,
    '--advertise-client-urls',
    etcdUrl,
    '--listen-peer-urls',
    `http://127.0.0.1:${etcdPeer}`,
    '--initial-advertise-peer-urls',
    `http://127.0.0.1:${etcdPeer}`,
    '--initial-cluster',
    `bench=http://127.0.0.1:${etcdPeer}`,
  ]);
  await waitForLine(etcd, /ready to serve client requests/, 'etcd', 20_000);
  const nats = children.start('nats', 'nats-server', ['-a', '127.0.0.1', '-p', String(natsPort)]);
  await waitForLine(nats, /Server is ready/, 'nats-server', 10_000);
  log(`etcd ${etcdUrl}, nats :${natsPort}`);

  const joinToken = 'SHOAL-bench-placement';
  const nodeArgs = ['--max-old-space-size=4096'];
  if (values['cpu-prof']) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`);
  const managerArgs = [
    ...nodeArgs,
    join(values['manager-root'] || root, 'manager/bin/shoal-manager'),
    '--listen',
    `127.0.0.1:${managerPort}`,
    '--state-dir',
    join(tmp, 'manager'),
    '--join-token',
    joinToken,
    '--etcd-endpoints',
    etcdUrl,
    '--nats-url',
    `nats://127.0.0.1:${natsPort}`,
    '--http-listen',
    'off',
  ];
  if (values['default-network-subnet']) managerArgs.push('--default-network-subnet', values['default-network-subnet']);
  const manager = children.start('manager', process.execPath, managerArgs, undefined, 15_000);
  const managerLogFile = createWriteStream(join(tmp, 'manager.log'));
  manager.stdout?.on('data', (d: Buffer) => {
    managerLogFile.write(d);
    managerLog = (managerLog + d.toString()).slice(-20_000);
  });
  await waitForLine(manager, /leading: /, 'manager leadership', 30_000);
  const managerAddr = `127.0.0.1:${managerPort}`;
  log(`manager pid ${manager.pid} on ${managerAddr}`);

  const nc: NatsConnection = await connect({ servers: `nats://127.0.0.1:${natsPort}` });
  const tracker = new TaskTracker();
  const nodeDownAt = new Map<string, number>();
  const sub = nc.subscribe('shoal.events.>');
  void (async () => {
    for await (const m of sub) {
      const at = Date.now();
      if (m.subject.startsWith('shoal.events.task.')) tracker.handle(m.json<TaskEvent>(), at);
      else if (m.subject.startsWith('shoal.events.node.')) {
        const e = m.json<{ node: string; status: string }>();
        if (e.status === 'down' && !nodeDownAt.has(e.node)) nodeDownAt.set(e.node, at);
      }
    }
  })();

  const control = new ControlClient(managerAddr, credentials.createInsecure());

  // Simulated agents: HOSTS processes for the nodes that stay, one for those that will be lost.
  const agentProcs: { proc: ChildProcess; first: number; count: number; prefix: string }[] = [];
  const stay = NODES - LOST;
  const plan: { first: number; count: number; prefix: string }[] = [];
  for (let h = 0; h < HOSTS; h++) {
    const first = Math.floor((stay * h) / HOSTS);
    const next = Math.floor((stay * (h + 1)) / HOSTS);
    if (next > first) plan.push({ first, count: next - first, prefix: 'sim' });
  }
  if (LOST > 0) plan.push({ first: stay, count: LOST, prefix: 'lost' });
  const registeredBy = new Map<ChildProcess, number>();
  for (const p of plan) {
    const proc = fork(
      join(here, 'sim/host.ts'),
      [
        '--manager',
        managerAddr,
        '--join-token',
        joinToken,
        '--nodes',
        String(p.count),
        '--first',
        String(p.first),
        '--prefix',
        p.prefix,
        '--spread-ms',
        String(SPREAD_MS),
        '--start-delay-ms',
        values['start-delay-ms'],
      ],
      {
        execArgv: [
          '--import=tsx',
          '--max-old-space-size=4096',
          ...(values['cpu-prof'] && p.prefix === 'sim' ? ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`] : []),
        ],
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      },
    );
    children.add(`agents ${p.prefix}@${p.first}`, proc);
    proc.on('message', (m: { type: string; count?: number }) => {
      if (m.type === 'registered') registeredBy.set(proc, m.count ?? 0);
    });
    proc.stderr?.on('data', (d: Buffer) => log(`agents ${p.prefix}@${p.first}: ${d.toString().trim().slice(0, 500)}`));
    agentProcs.push({ proc, ...p });
  }
  const victims = agentProcs.find((a) => a.prefix === 'lost');

  // All nodes ready (registered, heartbeating) as the manager sees them.
  const readyStart = Date.now();
  let nodes: ListNodesResponse;
  for (;;) {
    nodes = await call<object, ListNodesResponse>(control, 'listNodes', {});
    const ready = nodes.nodes.filter((n) => n.status === NodeStatus.READY).length;
    if (ready >= NODES) break;
    if (Date.now() - readyStart > 60_000 + SPREAD_MS)
      throw new Error(`only ${ready} of ${NODES} nodes ready after ${Date.now() - readyStart} ms`);
    await sleep(250);
  }
  const readyMs = Date.now() - readyStart;
  log(`${NODES} nodes ready in ${fmtS(readyMs)}`);
  const lostNodeIds = new Set(nodes.nodes.filter((n) => n.description?.hostname.startsWith('lost-')).map((n) => n.id));

  // Services adding up to REPLICAS, created back to back.
  const perService = Math.floor(REPLICAS / SERVICES);
  const createdAt = new Map<string, number>(); // name -> when create was sent
  const doneAt = new Map<string, number>();
  const wanted = new Map<string, number>();
  tracker.onRunning = (_task, service, _node, at) => {
    const want = wanted.get(service);
    if (want !== undefined && !doneAt.has(service) && (tracker.runningByService.get(service) ?? 0) >= want)
      doneAt.set(service, at);
  };
  const rssBefore = vmHwmBytes(manager.pid!);
  const cpuProcs: { name: string; pids: (number | undefined)[] }[] = [
    { name: 'manager', pids: [manager.pid] },
    { name: 'etcd', pids: [etcd.pid] },
    { name: 'nats', pids: [nats.pid] },
    { name: 'agents', pids: agentProcs.map((a) => a.proc.pid) },
    { name: 'bench', pids: [process.pid] },
  ];
  const cpuOf = (p: { pids: (number | undefined)[] }) => p.pids.reduce((sum: number, pid) => sum + cpuSeconds(pid), 0);
  const cpuStart = cpuProcs.map(cpuOf);
  const createStart = Date.now();
  for (let i = 0; i < SERVICES; i++) {
    const name = `svc${String(i).padStart(2, '0')}`;
    const replicas = i === SERVICES - 1 ? REPLICAS - perService * (SERVICES - 1) : perService;
    wanted.set(name, replicas);
    createdAt.set(name, Date.now());
    await call<object, Service>(control, 'createService', {
      spec: ServiceSpec.fromPartial({
        name,
        image: 'sim/app:1',
        command: ['sleep', 'infinity'],
        mode: ServiceMode.REPLICATED,
        replicas,
      }),
    });
  }
  log(`${SERVICES} services created in ${fmtS(Date.now() - createStart)}`);

  // Until every service has all its tasks running (events), confirmed by ListServices.
  let lastReport = 0;
  let converged = false;
  for (;;) {
    const now = Date.now();
    if (doneAt.size === SERVICES) {
      const ls = await call<object, ListServicesResponse>(control, 'listServices', {});
      if (ls.services.every((s) => Number(s.status?.running) === Number(s.status?.desired))) {
        converged = true;
        break;
      }
    }
    if (now - lastReport > 5_000) {
      lastReport = now;
      log(
        `running ${tracker.running.size}/${REPLICAS} (${tracker.events} task events), manager RSS peak ${fmtMiB(vmHwmBytes(manager.pid!))}`,
      );
    }
    if (now - createStart > TIMEOUT_MS) break;
    await sleep(100);
  }
  if (!converged) {
    // The events may have missed some (best effort): ask the manager for the truth.
    const ls = await call<object, ListServicesResponse>(control, 'listServices', {});
    const running = ls.services.reduce((a, s) => a + Number(s.status?.running ?? 0), 0);
    const reasons = [...new Set(ls.services.map((s) => s.status?.pendingReason).filter(Boolean))];
    log(
      `NOT converged within ${values.timeout} s: ${running}/${REPLICAS} running per ListServices; pending: ${reasons.join('; ') || '-'}`,
    );
    const tasks = await call<object, ListTasksResponse>(control, 'listTasks', { service: 'svc00', node: '' });
    const states = new Map<string, number>();
    for (const t of tasks.tasks) {
      const k = `${t.status?.state}/${t.status?.err || t.status?.message}`;
      states.set(k, (states.get(k) ?? 0) + 1);
    }
    log(`svc00 task states (state/err or message): ${[...states].map(([k, n]) => `${k}: ${n}`).join(', ')}`);
    ok = false;
  }
  // Write-behind: the manager reports RUNNING before etcd has it. The writes are all
  // committed once etcd's revision stops moving (nothing else writes meanwhile).
  let durableMs = NaN;
  if (converged) {
    const etcdc = new Etcd3({ hosts: etcdUrl });
    try {
      let rev = '';
      let changedAt = Date.now();
      for (;;) {
        const st = await etcdc.maintenance.status();
        if (st.header.revision !== rev) {
          rev = st.header.revision;
          changedAt = Date.now();
        } else if (Date.now() - changedAt > 1_000) break;
        if (Date.now() - createStart > TIMEOUT_MS + 60_000) break;
        await sleep(100);
      }
      durableMs = changedAt - createStart;
    } finally {
      etcdc.close();
    }
  }
  const placeEnd = Math.max(...doneAt.values(), createStart);
  const placeMs = placeEnd - createStart;
  const perSvc = [...doneAt.entries()].map(([n, at]) => at - createdAt.get(n)!).sort((a, b) => a - b);
  const rssPlaced = vmHwmBytes(manager.pid!);
  const cpuUsed = cpuProcs.map((p, i) => `${p.name} ${(cpuOf(p) - (cpuStart[i] ?? 0)).toFixed(1)}`).join(', ');
  rows.push([
    'nodes (simulated agents, own gRPC connection each)',
    `${NODES} in ${agentProcs.length} processes, all ready in ${fmtS(readyMs)}`,
  ]);
  rows.push(['replicas / services', `${REPLICAS} / ${SERVICES}`]);
  rows.push([
    'first create -> last task RUNNING',
    converged ? fmtS(placeMs) : `not converged (${tracker.running.size} running)`,
  ]);
  rows.push(['placements per second, end to end', converged ? `${Math.round(REPLICAS / (placeMs / 1000))}` : '-']);
  rows.push([
    'first create -> every write committed to etcd',
    Number.isNaN(durableMs)
      ? '-'
      : `${fmtS(durableMs)} (${Math.round(REPLICAS / (durableMs / 1000))} placements/s durable)`,
  ]);
  rows.push(['service create -> all its tasks running, p50', fmtS(percentile(perSvc, 0.5))]);
  rows.push(['service create -> all its tasks running, p99', fmtS(percentile(perSvc, 0.99))]);
  rows.push(['CPU seconds while placing (2 cores = 2 s per s)', `${cpuUsed} (in ${fmtS(placeMs)})`]);
  log(`placed: ${fmtS(placeMs)}, ${Math.round(REPLICAS / (placeMs / 1000))}/s; CPU s: ${cpuUsed}`);

  // Lost nodes: the process holding them is frozen (SIGSTOP): nothing more comes from those
  // 100 hosts, not even the FIN a killed process's kernel would send (the manager gives an
  // agent that closed its connection 5 s to come back: an agent restart, not a lost host).
  // It is killed at cleanup.
  if (victims && converged) {
    const onLost = [...tracker.running.entries()].filter(([, node]) => lostNodeIds.has(node)).length;
    let replaced = 0;
    let replacedAt = 0;
    const killAt = Date.now();
    tracker.onRunning = (task, _s, node, at) => {
      if (!lostNodeIds.has(node) && (tracker.created.get(task) ?? 0) >= killAt) {
        replaced++;
        if (replaced >= onLost && !replacedAt) replacedAt = at;
      }
    };
    children.expectedExit.add(victims.proc);
    children.frozen.add(victims.proc);
    process.kill(victims.proc.pid!, 'SIGSTOP');
    log(`froze ${LOST} agents (pid ${victims.proc.pid}) holding ${onLost} running tasks`);
    let recovered = false;
    for (;;) {
      if (replacedAt) {
        const ls = await call<object, ListServicesResponse>(control, 'listServices', {});
        if (ls.services.every((s) => Number(s.status?.running) === Number(s.status?.desired))) {
          recovered = true;
          break;
        }
      }
      if (Date.now() - killAt > 60_000) break;
      await sleep(100);
    }
    const downTimes = [...lostNodeIds].map((id) => nodeDownAt.get(id)).filter((t): t is number => t !== undefined);
    const lastDown = downTimes.length ? Math.max(...downTimes) - killAt : NaN;
    rows.push([
      `lost ${LOST} nodes (${onLost} tasks): freeze -> all marked down`,
      downTimes.length === LOST ? fmtS(lastDown) : `${downTimes.length}/${LOST} down`,
    ]);
    rows.push([
      `lost ${LOST} nodes: freeze -> every replica running elsewhere`,
      recovered ? fmtS(replacedAt - killAt) : `not recovered in 60 s (${replaced}/${onLost})`,
    ]);
    if (!recovered) ok = false;
    log(`recovery: ${recovered ? fmtS(replacedAt - killAt) : 'FAILED'}`);
  }

  const hwm = vmHwmBytes(manager.pid!);
  rows.push([
    'manager peak RSS (VmHWM)',
    `${fmtMiB(hwm)} (${fmtMiB(rssBefore)} with the nodes only, ${fmtMiB(rssPlaced)} once placed)`,
  ]);
  const etcd3 = new Etcd3({ hosts: etcdUrl });
  try {
    const st = await etcd3.maintenance.status();
    rows.push(['etcd database size', `${fmtMiB(Number(st.dbSize))} (revision ${st.header.revision})`]);
  } finally {
    etcd3.close();
  }
  rows.push(['task events seen on NATS', String(tracker.events)]);
  await sub.drain();
  await nc.close();
  control.close();
  if (!ok) log(`manager log tail:\n${managerLog.slice(-3000)}`);
  return { rows, ok };
}

try {
  const { rows, ok } = await run();
  process.stdout.write(
    `\n### shoal placement (${NODES} simulated nodes, ${REPLICAS} replicas)\n\n| measure | result |\n|---|---|\n`,
  );
  for (const [k, v] of rows) process.stdout.write(`| ${k} | ${v} |\n`);
  if (!ok) exitCode = 1;
} catch (err) {
  process.stderr.write(
    `placement bench failed: ${(err as Error).stack ?? String(err)}\nmanager log tail:\n${managerLog.slice(-4000)}\n`,
  );
  exitCode = 1;
} finally {
  await cleanup();
}
process.exit(exitCode);
