// shoal against Docker Swarm mode on the 3-host bed, with real containers (issue 6 part 2).
//
//   node --import=tsx bench/swarm.ts [--rounds 3] [--replicas 30] [--keep-bed] [--reuse-bed]
//                                    [--only shoal|swarm|lower]... [--json FILE]
//                                    [--heartbeat-period 1s]   (the bed's managers'; default theirs, 500 ms)
//
// One run: the bed up fresh (3 hosts, plain shape), the image pulled on every host (so no
// case pulls), Swarm initialised on host1's dockerd with host2/host3 joined as workers; then
// per round, alternating which system goes first:
//   lower bound   the same containers started directly, `docker run -d` on every host in
//                 parallel (replicas/3 per host, all in flight at once): from 0, from
//                 replicas to 2x replicas, and from 0 on shoal's Docker network (like for
//                 like: shoal's containers are on a user-defined bridge, Swarm's here on the
//                 default bridge)
//   per system    create --replicas R (to R running), scale R -> 2R (to 2R running),
//                 partition host3 (to 2R running on host1+host2), heal (until exactly 2R
//                 run again, bounded), remove (until no container of it is left)
// Every time is measured the same way, from outside: each host's engine is asked for the
// service's running containers every POLL_MS, from the instant before the command is spawned
// until the count is reached. Both CLIs are told --detach: neither one's own wait counts.
//
// Afterwards (also on failure, SIGINT, SIGTERM): services removed, lower-bound containers
// removed, host3 healed, every engine leaves the swarm, and the bed is brought down (unless
// --keep-bed; with --reuse-bed the running bed is used as it is and left up).
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Docker from 'dockerode';
import { ok, run, Started, type Run } from './lib/processes.js';
import { median } from './lib/stats.js';
import { emptyResults, resultsTable, sec } from './swarm/results.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SHOAL = path.join(REPO, 'cli/bin/shoal');
const BED = path.join(REPO, 'deploy/local-cluster');
const DOCKER_CLI = '/usr/bin/docker';
const HOSTS = ['host1', 'host2', 'host3'] as const;
type Host = (typeof HOSTS)[number];
const VICTIM: Host = 'host3'; // a Swarm worker (host1 holds Swarm's only manager)
const MANAGER_HOST: Host = 'host1';
const MANAGER_ADDR = '10.213.0.11';
const SHOAL_HOST = '10.213.0.1:4242';
/** The bed's image, named with its registry so no engine ever looks outside the machine. */
const IMAGE = '10.213.0.1:5000/shoal/busybox:latest';
const COMMAND = ['sleep', '3600'];
/** The Docker network shoal's agents make on every host for the default network `shoal`. */
const SHOAL_DOCKER_NETWORK = 'shoal-shoal';
/** busybox sleep as pid 1 ignores SIGTERM: a short grace keeps removals short (both systems). */
const GRACE = '1s';

/** Every engine is asked this often: fine enough for ~4 s cases, light on 2 cores. */
const POLL_MS = 40;
const CASE_TIMEOUT_MS = 90_000;
/** After heal, each system must come back to exactly the count within this. */
const HEAL_TIMEOUT_MS = 60_000;
const REMOVE_TIMEOUT_MS = 60_000;

const LABEL_SHOAL = 'com.shoal.service.name';
const LABEL_SWARM = 'com.docker.swarm.service.name';
const LABEL_LOWER = 'shoal.bench.lower';

// ---------------------------------------------------------------- small helpers

function sock(h: Host): string {
  return `/run/shoal-bed/${h}/docker.sock`;
}

const engines = new Map<Host, Docker>(HOSTS.map((h) => [h, new Docker({ socketPath: sock(h) })]));
function engine(h: Host): Docker {
  return engines.get(h)!;
}

const dockerOn = (h: Host, args: readonly string[], timeoutMs?: number) =>
  ok(DOCKER_CLI, ['-H', `unix://${sock(h)}`, ...args], { ...(timeoutMs !== undefined && { timeoutMs }) });
const shoal = (args: readonly string[]) => ok(SHOAL, args, { env: { ...process.env, SHOAL_HOST } });
const bed = (args: readonly string[], env: NodeJS.ProcessEnv = {}) =>
  ok(BED, args, { timeoutMs: 300_000, env: { ...process.env, ...env } });

function log(line: string): void {
  process.stderr.write(`swarm-bench: ${line}\n`);
}

function load(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

/** Running (or, with all, any) containers with label=value, per host. */
async function countPerHost(label: string, value: string, all = false): Promise<Record<Host, number>> {
  const counts = await Promise.all(
    HOSTS.map(async (h) => (await engine(h).listContainers({ all, filters: { label: [`${label}=${value}`] } })).length),
  );
  return Object.fromEntries(HOSTS.map((h, i) => [h, counts[i]!])) as Record<Host, number>;
}

const total = (c: Record<Host, number>, hosts: readonly Host[] = HOSTS) => hosts.reduce((s, h) => s + c[h], 0);

/**
 * Polls every POLL_MS until `done(counts)`; returns ms since `since`. Throws after timeoutMs
 * with the last counts, so a failure says how far it got.
 */
async function until(
  what: string,
  label: string,
  value: string,
  done: (c: Record<Host, number>) => boolean,
  since: number,
  opts: { all?: boolean; timeoutMs?: number; cli?: Started } = {},
): Promise<number> {
  const deadline = since + (opts.timeoutMs ?? CASE_TIMEOUT_MS);
  let last: Record<Host, number> | undefined;
  for (;;) {
    const tick = performance.now();
    last = await countPerHost(label, value, opts.all ?? false);
    const at = performance.now();
    if (done(last)) return at - since;
    if (opts.cli?.failure) throw opts.cli.failure;
    if (at > deadline)
      throw new Error(
        `${what}: not reached within ${Math.round((at - since) / 1000)} s (last: ${JSON.stringify(last)})`,
      );
    const wait = POLL_MS - (performance.now() - tick);
    if (wait > 0) await sleep(wait);
  }
}

// ---------------------------------------------------------------- the two systems

interface System {
  name: 'shoal' | 'swarm';
  label: string;
  create(name: string, replicas: number, since: number): Started;
  scale(name: string, replicas: number, since: number): Started;
  remove(name: string): Promise<Run>;
}

const shoalEnv = () => ({ ...process.env, SHOAL_HOST });

const SHOAL_SYSTEM: System = {
  name: 'shoal',
  label: LABEL_SHOAL,
  create: (name, replicas, since) =>
    new Started(
      SHOAL,
      [
        'service',
        'create',
        '--detach',
        '--name',
        name,
        '--replicas',
        String(replicas),
        '--stop-grace-period',
        GRACE,
        IMAGE,
        ...COMMAND,
      ],
      since,
      shoalEnv(),
    ),
  scale: (name, replicas, since) =>
    new Started(SHOAL, ['service', 'scale', '--detach', `${name}=${replicas}`], since, shoalEnv()),
  remove: (name) => shoal(['service', 'rm', name]),
};

const swarmArgs = (args: readonly string[]) => ['-H', `unix://${sock(MANAGER_HOST)}`, ...args];

const SWARM_SYSTEM: System = {
  name: 'swarm',
  label: LABEL_SWARM,
  // The CLI resolves the tag to a digest through host1's engine (the local registry), so
  // workers that have the image do not pull again: Swarm's default and its faster path.
  create: (name, replicas, since) =>
    new Started(
      DOCKER_CLI,
      swarmArgs([
        'service',
        'create',
        '--detach',
        '--quiet',
        '--name',
        name,
        '--replicas',
        String(replicas),
        '--stop-grace-period',
        GRACE,
        IMAGE,
        ...COMMAND,
      ]),
      since,
    ),
  scale: (name, replicas, since) =>
    new Started(DOCKER_CLI, swarmArgs(['service', 'scale', '--detach', `${name}=${replicas}`]), since),
  remove: (name) => ok(DOCKER_CLI, swarmArgs(['service', 'rm', name])),
};

// ---------------------------------------------------------------- results

const results = emptyResults();
/** When each CLI returned, ms after its start (not measured, shown for reference). */
const cliReturns: Record<'shoal' | 'swarm', number[]> = { shoal: [], swarm: [] };
const table = (replicas: number) => resultsTable(results, replicas, VICTIM);

// ---------------------------------------------------------------- cases

let lowerSeq = 0;

/** `docker run -d` of `perHost` containers on every host, all in flight at once. */
async function lowerBound(perHost: number, have: number, tag: string, extra: readonly string[] = []): Promise<number> {
  const t0 = performance.now();
  const runs = HOSTS.flatMap((h) =>
    Array.from({ length: perHost }, () =>
      dockerOn(h, [
        'run',
        '-d',
        ...extra,
        '--label',
        `${LABEL_LOWER}=${tag}`,
        '--stop-timeout',
        '1',
        IMAGE,
        ...COMMAND,
      ]),
    ),
  );
  const want = have + perHost * HOSTS.length;
  const ms = await until(`lower bound ${tag}`, LABEL_LOWER, tag, (c) => total(c) >= want, t0);
  await Promise.all(runs);
  return ms;
}

async function removeLower(tag: string): Promise<void> {
  await Promise.all(
    HOSTS.map(async (h) => {
      const ids = (await engine(h).listContainers({ all: true, filters: { label: [`${LABEL_LOWER}=${tag}`] } })).map(
        (c) => c.Id,
      );
      if (ids.length > 0) await dockerOn(h, ['rm', '-f', ...ids]);
    }),
  );
}

async function lowerRound(replicas: number, round: number): Promise<void> {
  const tag = `r${round}-${++lowerSeq}`;
  const perHost = Math.ceil(replicas / HOSTS.length);
  try {
    const deploy = await lowerBound(perHost, 0, tag);
    const scale = await lowerBound(perHost, perHost * HOSTS.length, tag);
    results.lower.deploy.push(deploy);
    results.lower.scale.push(scale);
    await removeLower(tag);
    // Like for like with shoal's containers: on the Docker network shoal's agent made for the
    // default network (a user-defined bridge: Docker sets up its embedded DNS per container,
    // one re-exec and ten iptables runs that the default bridge, Swarm's here, does without).
    const onNet = await lowerBound(perHost, 0, tag, ['--network', SHOAL_DOCKER_NETWORK]);
    results.lowerNet.deploy.push(onNet);
    log(
      `round ${round} lower bound: ${sec(deploy)} from 0, ${sec(scale)} from ${perHost * HOSTS.length}, ${sec(onNet)} on ${SHOAL_DOCKER_NETWORK} [load ${load()}]`,
    );
  } finally {
    await removeLower(tag);
  }
}

const services = new Set<string>(); // `${system}:${name}` created and not yet removed

async function systemRound(sys: System, replicas: number, round: number): Promise<void> {
  const name = `bench-${sys.name}-r${round}-${process.pid.toString(36)}`;
  const label = sys.label;
  const twice = 2 * replicas;
  const others = HOSTS.filter((h) => h !== VICTIM);
  services.add(`${sys.name}:${name}`);
  try {
    let t0 = performance.now();
    let cli = sys.create(name, replicas, t0);
    const deploy = await until(`${sys.name} create`, label, name, (c) => total(c) >= replicas, t0, { cli });
    await cli.check();
    cliReturns[sys.name].push(cli.returnedMs!);

    t0 = performance.now();
    cli = sys.scale(name, twice, t0);
    const scale = await until(`${sys.name} scale`, label, name, (c) => total(c) >= twice, t0, { cli });
    await cli.check();
    cliReturns[sys.name].push(cli.returnedMs!);
    // exactly the count, spread so that the victim holds some
    await until(`${sys.name} settled at ${twice}`, label, name, (c) => total(c) === twice, performance.now(), {
      timeoutMs: 30_000,
    });
    const spread = await countPerHost(label, name);
    if (spread[VICTIM] === 0)
      throw new Error(`${sys.name}: no replica on ${VICTIM} to lose (${JSON.stringify(spread)})`);

    t0 = performance.now();
    let recovery: number;
    try {
      await bed(['partition', VICTIM]);
      recovery = await until(`${sys.name} recovery`, label, name, (c) => total(c, others) >= twice, t0);
    } finally {
      await bed(['heal', VICTIM]);
    }
    t0 = performance.now();
    const heal = await until(`${sys.name} back to ${twice} after heal`, label, name, (c) => total(c) === twice, t0, {
      timeoutMs: HEAL_TIMEOUT_MS,
    });

    results[sys.name].deploy.push(deploy);
    results[sys.name].scale.push(scale);
    results[sys.name].recovery.push(recovery);
    results[sys.name].heal.push(heal);
    log(
      `round ${round} ${sys.name}: deploy ${sec(deploy)}, scale ${sec(scale)}, recovery ${sec(recovery)} ` +
        `(${spread[VICTIM]} lost), heal ${sec(heal)} [load ${load()}]`,
    );
  } finally {
    await removeService(sys, name);
  }
}

async function removeService(sys: System, name: string): Promise<void> {
  const key = `${sys.name}:${name}`;
  if (!services.has(key)) return;
  await sys
    .remove(name)
    .catch((err: unknown) => log(`removing ${sys.name} service ${name}: ${(err as Error).message}`));
  await until(`${sys.name} ${name} removed`, sys.label, name, (c) => total(c) === 0, performance.now(), {
    all: true,
    timeoutMs: REMOVE_TIMEOUT_MS,
  });
  services.delete(key);
}

// ---------------------------------------------------------------- setup and cleanup

async function swarmUp(): Promise<void> {
  await swarmLeave(); // a leftover of an aborted run
  await dockerOn(MANAGER_HOST, ['swarm', 'init', '--advertise-addr', MANAGER_ADDR]);
  const token = (await dockerOn(MANAGER_HOST, ['swarm', 'join-token', '-q', 'worker'])).stdout.trim();
  for (const h of HOSTS) {
    if (h !== MANAGER_HOST) await dockerOn(h, ['swarm', 'join', '--token', token, `${MANAGER_ADDR}:2377`]);
  }
  // every node ready before the first case
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await dockerOn(MANAGER_HOST, ['node', 'ls', '--format', '{{.Status}}']);
    const ready = r.stdout.split('\n').filter((l) => l.trim() === 'Ready').length;
    if (ready === HOSTS.length) break;
    if (Date.now() > deadline) throw new Error(`swarm: ${ready}/${HOSTS.length} nodes ready after 30 s`);
    await sleep(200);
  }
}

async function swarmLeave(): Promise<void> {
  // workers first, so the manager never waits for them
  for (const h of [...HOSTS].reverse()) {
    const r = await run(DOCKER_CLI, ['-H', `unix://${sock(h)}`, 'swarm', 'leave', '--force'], { timeoutMs: 60_000 });
    if (r.code !== 0 && !/not part of a swarm/i.test(r.stderr)) log(`${h}: swarm leave: ${r.stderr.trim()}`);
  }
}

let cleanedUp: Promise<void> | undefined;
function cleanup(opts: { bedDown: boolean }): Promise<void> {
  cleanedUp ??= (async () => {
    log('cleaning up');
    await run(BED, ['heal', VICTIM]).catch(() => undefined);
    for (const key of [...services]) {
      const [sys, name] = key.split(':') as ['shoal' | 'swarm', string];
      await removeService(sys === 'shoal' ? SHOAL_SYSTEM : SWARM_SYSTEM, name).catch((err: unknown) =>
        log(`cleanup: ${(err as Error).message}`),
      );
    }
    await Promise.all(
      HOSTS.map(async (h) => {
        const ids = (
          await engine(h)
            .listContainers({ all: true, filters: { label: [LABEL_LOWER] } })
            .catch(() => [])
        ).map((c) => c.Id);
        if (ids.length > 0) await dockerOn(h, ['rm', '-f', ...ids]).catch(() => undefined);
      }),
    );
    await swarmLeave().catch((err: unknown) => log(`cleanup: ${(err as Error).message}`));
    if (opts.bedDown) {
      const r = await run(BED, ['down'], { timeoutMs: 300_000 });
      if (r.code !== 0) log(`bed down failed: ${r.stderr.trim()}`);
    }
  })();
  return cleanedUp;
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '3' },
      replicas: { type: 'string', default: '30' },
      'keep-bed': { type: 'boolean', default: false },
      'reuse-bed': { type: 'boolean', default: false },
      only: { type: 'string', multiple: true },
      json: { type: 'string' },
      'heartbeat-period': { type: 'string' },
    },
  });
  const rounds = Number(values.rounds);
  const replicas = Number(values.replicas);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds needs a whole number >= 1');
  if (!Number.isInteger(replicas) || replicas < HOSTS.length || replicas % HOSTS.length !== 0) {
    throw new Error(`--replicas needs a multiple of ${HOSTS.length}`);
  }
  const only = new Set(values.only ?? ['lower', 'shoal', 'swarm']);
  const bedDown = !values['keep-bed'] && !values['reuse-bed'];

  let stopping = false;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      if (stopping) return;
      stopping = true;
      log(`${sig}: stopping`);
      void cleanup({ bedDown }).finally(() => process.exit(130));
    });
  }

  const started0 = performance.now();
  try {
    if (!values['reuse-bed']) {
      log('bringing the bed up fresh (3 hosts, plain shape)');
      const hb = values['heartbeat-period'];
      await bed(
        ['up', '--fresh', '--hosts', String(HOSTS.length)],
        hb === undefined ? {} : { SHOAL_BED_HEARTBEAT_PERIOD: hb },
      );
    }
    log(`pulling ${IMAGE} on every host (no case pulls)`);
    await Promise.all(HOSTS.map((h) => dockerOn(h, ['pull', '-q', IMAGE])));
    // the lower bound on shoal's network needs the network each agent makes after it registers
    const netDeadline = Date.now() + 30_000;
    for (const h of HOSTS) {
      while ((await engine(h).listNetworks({ filters: { name: [SHOAL_DOCKER_NETWORK] } })).length === 0) {
        if (Date.now() > netDeadline)
          throw new Error(`${h}: no Docker network ${SHOAL_DOCKER_NETWORK} after 30 s (is its agent up?)`);
        await sleep(200);
      }
    }
    if (only.has('swarm')) {
      log('swarm init on host1, host2 and host3 join as workers');
      await swarmUp();
    }
    log(`machine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; load ${load()}`);

    for (let round = 1; round <= rounds; round++) {
      if (only.has('lower')) await lowerRound(replicas, round);
      const order = round % 2 === 1 ? [SHOAL_SYSTEM, SWARM_SYSTEM] : [SWARM_SYSTEM, SHOAL_SYSTEM];
      for (const sys of order) if (only.has(sys.name)) await systemRound(sys, replicas, round);
    }
  } catch (err) {
    log(`FAILED: ${(err as Error).stack ?? String(err)}`);
    await cleanup({ bedDown });
    if (results.shoal.deploy.length + results.swarm.deploy.length + results.lower.deploy.length > 0)
      console.log(table(replicas));
    return 1;
  }
  await cleanup({ bedDown });

  const median2 = (xs: number[]) => sec(median(xs));
  console.log(
    `\n## shoal vs Docker Swarm, ${replicas} replicas on 3 bed hosts, ${rounds} round(s): median (each round)\n`,
  );
  console.log(table(replicas));
  console.log(
    `\nCLI returned after (--detach; not part of the figures): shoal ${median2(cliReturns.shoal)}, Swarm ${median2(cliReturns.swarm)}. ` +
      `Polled every ${POLL_MS} ms. Whole run ${sec(performance.now() - started0)}; load at the end ${load()}.`,
  );
  if (values.json !== undefined)
    writeFileSync(values.json, JSON.stringify({ replicas, rounds, results, cliReturns }, null, 2));
  return 0;
}

process.exitCode = await main().catch((err: unknown) => {
  log(`FAILED: ${(err as Error).stack ?? String(err)}`);
  return 1;
});
