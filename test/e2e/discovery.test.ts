// Service discovery (issue 5), as a program in a container sees it: busybox nslookup and wget
// inside a global `client` service (one asking container per host), against a `web` service
// whose page names its container. What DNS answers is compared with `service ps` and with
// each host's dockerd; freshness is measured by a query loop running inside the clients
// (timestamps taken in the container, right after each answer); the Consul-shaped HTTP API
// and `shoal service lookup` must list the same endpoints; names outside the cluster go to
// a responder this test binds on the bed's DNS upstream (10.213.0.1:10053).
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import test, { type ExecutionContext } from 'ava';
import dnsPacket from 'dns-packet';
import {
  BED,
  HOSTS,
  IMAGE,
  SLEEP,
  containerIp,
  containersOf,
  docker,
  execIn,
  hostAddress,
  httpGet,
  managerHttp,
  measured,
  removeService,
  services,
  shoal,
  shoalJson,
  shoalOk,
  tasks,
  uniqueName,
  waitFor,
  waitNodesReady,
  type Container,
} from '../helpers/bed.js';

const BED_RUN = '/run/shoal-bed';
const NEW_TASK_BUDGET_MS = 200; // issue 5: the answer has the new tasks within 0.2 s of their running
const KILLED_BUDGET_MS = 500; // issue 5: a killed task's IP leaves the answer within 0.5 s
// An unhealthy task leaves the answer as fast as a killed one (0.5 s), after the probe that
// sees it fail (every 200 ms): not once its container has stopped, which takes the stop grace
// period (3 s here, Swarm's default is 10 s) while the task is no longer fit to serve.
const UNHEALTHY_BUDGET_MS = 200 + KILLED_BUDGET_MS + 300;
const HC_GRACE = '3s';
const SCALE_DOWN_BOUND_MS = 1_500; // CLI start + the manager's shutdown order + propagation
const HEALTHY_BOUND_MS = 2_000; // the issue sets none for this; loose
const UPSTREAM = { address: '10.213.0.1', port: 10053 }; // the agents' --dns-upstream on the bed
const OUTSIDE = { name: 'outside.test', ip: '192.0.2.10' };

/** A page naming its container (its hostname), served by busybox httpd. */
const PAGE_SERVER = ['sh', '-c', 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www'];

const web = uniqueName('web');
const client = uniqueName('client');
const hc = uniqueName('hc');
const hidden = uniqueName('hidden');
const otherNet = uniqueName('othernet');

// ---- DNS as a container sees it -------------------------------------------------------------

interface Answer {
  at: number; // ms since the epoch, taken inside the container right after nslookup returned
  ips: string[]; // A records, in the order given
  nxdomain: boolean;
  raw: string;
}

/** busybox nslookup's output -> the A records (the server's own "Address:\t..:53" line has a
 * port and a tab, the answers "Address: IP"). */
function parseNslookup(out: string): { ips: string[]; nxdomain: boolean } {
  const ips: string[] = [];
  for (const line of out.split(/[\n|]/)) {
    const m = /^Address: (\d+\.\d+\.\d+\.\d+)$/.exec(line.trim());
    if (m) ips.push(m[1]!);
  }
  return { ips, nxdomain: /NXDOMAIN/.test(out) };
}

/** One `nslookup [-type=a] NAME` inside a container. */
async function nslookup(c: Container, name: string, type = 'a') {
  const r = await execIn(c.host, c.id, ['nslookup', `-type=${type}`, '-timeout=2', '-retry=1', name], 15_000);
  const out = r.stdout + r.stderr;
  return { code: r.code, out, ...parseNslookup(out) };
}

const sameSet = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && [...a].sort().join() === [...b].sort().join();

/**
 * A query loop inside a container: `nslookup -type=a NAME` about every 20 ms, one line per
 * answer with the container's clock (busybox `date` has no %N; `adjtimex` gives µs). Stopped
 * through a file (killing the docker CLI would leave the loop running in the container) and
 * by a 180 s `timeout` in any case.
 */
class DnsWatch {
  readonly answers: Answer[] = [];
  readonly #stopFile = `/tmp/dnswatch-${Math.random().toString(36).slice(2)}`;
  #child: ChildProcess | undefined;
  #listeners = new Set<() => void>();

  constructor(
    readonly c: Container,
    readonly name: string,
  ) {}

  start(): this {
    const loop =
      `while [ ! -e ${this.#stopFile} ]; do ` +
      `o=$(nslookup -type=a -timeout=1 -retry=1 ${this.name} 2>&1 | tr '\\n' '|'); ` +
      `t=$(adjtimex | sed -n 's/^ *time.tv_sec: *//p;s/^ *time.tv_usec: *//p' | tr '\\n' ' '); ` +
      `echo "$t$o"; usleep 20000; done`;
    const child = spawn(
      'docker',
      ['-H', `unix://${BED_RUN}/${this.c.host}/docker.sock`, 'exec', this.c.id, 'timeout', '180', 'sh', '-c', loop],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    this.#child = child;
    createInterface({ input: child.stdout }).on('line', (line) => {
      const m = /^(\d+) (\d+) (.*)$/.exec(line);
      if (!m) return;
      const at = Number(m[1]) * 1000 + Number(m[2]) / 1000;
      this.answers.push({ at, raw: m[3]!, ...parseNslookup(m[3]!) });
      for (const l of this.#listeners) l();
    });
    return this;
  }

  /** The first answer taken after `since` that satisfies `pred` (waits for it). */
  async first(pred: (a: Answer) => boolean, since: number, timeoutMs: number, what: string): Promise<Answer> {
    const find = () => this.answers.find((a) => a.at >= since && pred(a));
    const hit = find();
    if (hit) return hit;
    return new Promise((resolve, reject) => {
      const done = () => {
        const a = find();
        if (!a) return;
        clearTimeout(timer);
        this.#listeners.delete(done);
        resolve(a);
      };
      const timer = setTimeout(() => {
        this.#listeners.delete(done);
        const last = this.answers.at(-1);
        reject(
          new Error(
            `${this.c.host}: no answer for ${this.name} with ${what} within ${timeoutMs} ms (${this.answers.length} answers; last: ${last ? JSON.stringify(last.ips) : 'none'} ${last?.raw.slice(0, 200) ?? ''})`,
          ),
        );
      }, timeoutMs);
      this.#listeners.add(done);
    });
  }

  async stop(): Promise<void> {
    await execIn(this.c.host, this.c.id, ['touch', this.#stopFile], 10_000);
    const child = this.#child;
    if (child && child.exitCode === null) {
      await Promise.race([new Promise((r) => child.once('exit', r)), sleep(3_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }
}

/** One watch per client container (one per host). */
async function watchAll(name: string): Promise<DnsWatch[]> {
  const clients = await clientsPerHost();
  const watches = clients.map((c) => new DnsWatch(c, name).start());
  // every loop answers at least once before anything is measured
  await Promise.all(watches.map((w) => w.first(() => true, 0, 20_000, 'any answer')));
  return watches;
}

async function clientsPerHost(): Promise<Container[]> {
  return waitFor(
    async () => {
      const cs = await containersOf(client);
      const per = HOSTS.map((h) => cs.find((c) => c.host === h));
      return per.every((c) => c !== undefined) && cs.length === HOSTS.length ? per : undefined;
    },
    60_000,
    `one running ${client} container per host`,
  );
}

// ---- what shoal and the engines say ---------------------------------------------------------

/** IPs of a service's running tasks on `network` per `service ps`. */
async function psIps(service: string, network = 'shoal'): Promise<string[]> {
  return (await tasks(service))
    .filter((r) => r.state === 'running' && r.desiredState === 'running')
    .map((r) => r.addresses?.find((a) => a.network === network)?.ip ?? '')
    .filter((ip) => ip !== '')
    .sort();
}

/** IPs of a service's running containers on `network`, from each host's dockerd. */
async function dockerIps(service: string, network = 'shoal'): Promise<Array<Container & { ip: string }>> {
  const out = [];
  for (const c of await containersOf(service)) out.push({ ...c, ip: await containerIp(c.host, c.id, network) });
  return out.sort((a, b) => a.ip.localeCompare(b.ip));
}

async function startedAtMs(c: Container): Promise<number> {
  const info = await docker(c.host).getContainer(c.id).inspect();
  return Date.parse(info.State.StartedAt); // ms resolution is enough against 200 ms budgets
}

/** Waits until `service ps` and every host's dockerd agree on `n` running tasks; their IPs. */
async function settled(service: string, n: number, timeoutMs = 60_000): Promise<Array<Container & { ip: string }>> {
  return waitFor(
    async () => {
      const d = await dockerIps(service);
      const p = await psIps(service);
      return d.length === n &&
        d.every((c) => c.ip !== '') &&
        sameSet(
          p,
          d.map((c) => c.ip),
        )
        ? d
        : undefined;
    },
    timeoutMs,
    `${n} running task(s) of ${service}, service ps and dockerd agreeing on their IPs`,
  );
}

// ---- a DNS responder standing in for the outside world ---------------------------------------

const asked: Array<{ name: string; type: string; from: string }> = [];
let upstream: dgram.Socket | undefined;

function startUpstream(): Promise<void> {
  const sock = dgram.createSocket('udp4');
  sock.on('message', (msg, rinfo) => {
    let q: dnsPacket.Packet;
    try {
      q = dnsPacket.decode(msg);
    } catch {
      return;
    }
    const question = q.questions?.[0];
    if (!question) return;
    asked.push({ name: question.name, type: question.type, from: rinfo.address });
    const known = question.name.toLowerCase() === OUTSIDE.name;
    const reply = dnsPacket.encode({
      id: q.id,
      type: 'response',
      // NXDOMAIN (rcode 3) for any other name
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (known ? 0 : 3),
      questions: q.questions,
      answers:
        known && question.type === 'A'
          ? [{ name: question.name, type: 'A', ttl: 5, class: 'IN', data: OUTSIDE.ip }]
          : [],
    });
    sock.send(reply, rinfo.port, rinfo.address);
  });
  upstream = sock;
  return new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(UPSTREAM.port, UPSTREAM.address, () => resolve());
  });
}

// ---- the cluster under test -----------------------------------------------------------------

test.before(async () => {
  await waitNodesReady();
  await startUpstream();
  await Promise.all([
    shoalOk('service', 'create', '--name', client, '--mode', 'global', '--stop-grace-period', '1s', IMAGE, ...SLEEP),
    shoalOk('service', 'create', '--name', web, '--replicas', '3', '--stop-grace-period', '1s', IMAGE, ...PAGE_SERVER),
  ]);
});

test.after.always(async () => {
  upstream?.close();
  await Promise.all([web, client, hc, hidden].map((s) => removeService(s).catch(() => {})));
  await shoal('network', 'rm', otherNet);
});

test.serial(
  "nslookup tasks.web from a client on every host: exactly the IPs of web's running tasks, in random order; wget http://web/ works",
  async (t) => {
    const running = await settled(web, 3);
    const ips = running.map((c) => c.ip);
    t.deepEqual(await psIps(web), ips, "service ps and the hosts' dockerd agree");
    for (const c of await clientsPerHost()) {
      for (const name of [`tasks.${web}`, web]) {
        // the create returned once the tasks ran; DNS must follow within moments
        const r = await waitFor(
          async () => {
            const a = await nslookup(c, name);
            return sameSet(a.ips, ips) ? a : undefined;
          },
          5_000,
          `${c.host}: nslookup ${name} = ${ips.join(' ')}`,
        ).catch(async () => nslookup(c, name));
        t.deepEqual([...r.ips].sort(), ips, `${c.host}: nslookup ${name}\n${r.out}`);
      }
      const page = await execIn(c.host, c.id, ['timeout', '5', 'wget', '-q', '-O', '-', `http://${web}/`]);
      t.is(page.code, 0, `${c.host}: wget http://${web}/: ${page.stderr}`);
      const hostnames = await Promise.all(
        running.map(async (w) => (await docker(w.host).getContainer(w.id).inspect()).Config.Hostname),
      );
      t.true(
        hostnames.includes(page.stdout.trim()),
        `${c.host}: page "${page.stdout.trim()}" names one of web's containers (${hostnames.join(', ')})`,
      );
    }
    // <task id>.tasks.NAME: that task alone
    const one = (await tasks(web)).find((r) => r.state === 'running')!;
    const oneIp = one.addresses?.find((a) => a.network === 'shoal')?.ip ?? '';
    for (const c of await clientsPerHost()) {
      const r = await nslookup(c, `${one.id}.tasks.${web}`);
      t.deepEqual(r.ips, [oneIp], `${c.host}: nslookup ${one.id}.tasks.${web}:\n${r.out}`);
    }
    // random order: a dozen answers of 3 addresses are not all in one order
    const first = (await clientsPerHost())[0]!;
    const orders = new Set<string>();
    for (let i = 0; i < 12; i++) orders.add((await nslookup(first, `tasks.${web}`)).ips.join(' '));
    t.true(orders.size > 1, `orders seen in 12 answers: ${[...orders].join(' / ')}`);
  },
);

/** Per host: ms from `from` to the first answer (after `since`) satisfying `pred`. */
async function latencies(watches: DnsWatch[], pred: (a: Answer) => boolean, since: number, from: number, what: string) {
  return Promise.all(
    watches.map(async (w) => {
      const a = await w.first(pred, since, 20_000, what);
      return { host: w.c.host, ms: a.at - from, answer: a };
    }),
  );
}

function report(t: ExecutionContext, what: string, lat: Array<{ host: string; ms: number }>, budgetMs: number): void {
  const worst = Math.max(...lat.map((l) => l.ms));
  t.log(lat.map((l) => `${l.host} ${l.ms.toFixed(0)} ms`).join(', '));
  measured(t, `${what} (worst of ${lat.length} hosts)`, worst, budgetMs);
  for (const l of lat)
    t.true(l.ms <= budgetMs, `${l.host}: ${what} after ${l.ms.toFixed(0)} ms (budget ${budgetMs} ms)`);
}

test.serial("scale web=5: every host's answer has the 5 IPs within 0.2 s of the new tasks running", async (t) => {
  t.timeout(120_000);
  const before = await settled(web, 3);
  const watches = await watchAll(`tasks.${web}`);
  try {
    const since = Date.now();
    await shoalOk('service', 'scale', `${web}=5`);
    const after = await settled(web, 5);
    const fresh = after.filter((c) => !before.some((b) => b.id === c.id));
    t.is(fresh.length, 2, 'two new containers');
    const ranAt = Math.max(...(await Promise.all(fresh.map(startedAtMs))));
    const want = after.map((c) => c.ip);
    const lat = await latencies(watches, (a) => sameSet(a.ips, want), since, ranAt, '5 IPs');
    report(t, 'scale 3->5: last new task running -> DNS answers with 5 IPs', lat, NEW_TASK_BUDGET_MS);
    // and it stays that way: the last answers are exactly the running tasks
    await sleep(300);
    for (const w of watches) t.deepEqual([...(w.answers.at(-1)?.ips ?? [])].sort(), want, `${w.c.host}: last answer`);
  } finally {
    await Promise.all(watches.map((w) => w.stop()));
  }
});

test.serial(
  "docker kill of a web container: its IP leaves every host's answer within 0.5 s; the replacement joins",
  async (t) => {
    t.timeout(120_000);
    const before = await settled(web, 5);
    const victim = before.find((c) => c.host === 'host2') ?? before[0]!;
    const others = before.filter((c) => c.id !== victim.id).map((c) => c.ip);
    const watches = await watchAll(`tasks.${web}`);
    try {
      const killedAt = Date.now();
      await docker(victim.host).getContainer(victim.id).kill();
      const lat = await latencies(
        watches,
        (a) => a.ips.length > 0 && !a.ips.includes(victim.ip),
        killedAt,
        killedAt,
        `no ${victim.ip}`,
      );
      report(t, 'docker kill -> its IP gone from DNS', lat, KILLED_BUDGET_MS);
      for (const l of lat)
        t.deepEqual([...l.answer.ips].sort(), [...others].sort(), `${l.host}: the 4 others stay in the answer`);
      // the replacement (restart delay 1 s) joins, and nothing stale remains
      const after = await settled(web, 5);
      const want = after.map((c) => c.ip);
      // (after the victim's IP left: the replacement may get the same address again)
      const back = await Promise.all(
        watches.map(async (w) => {
          const left = lat.find((l) => l.host === w.c.host)!.answer.at;
          return {
            host: w.c.host,
            ms: (await w.first((a) => sameSet(a.ips, want), left, 20_000, 'the replacement')).at - killedAt,
          };
        }),
      );
      t.log(
        `replacement in DNS: ${back.map((b) => `${b.host} ${(b.ms / 1000).toFixed(2)} s`).join(', ')} after the kill`,
      );
      await sleep(300);
      for (const w of watches)
        t.deepEqual([...(w.answers.at(-1)?.ips ?? [])].sort(), want, `${w.c.host}: last answer = running tasks`);
    } finally {
      await Promise.all(watches.map((w) => w.stop()));
    }
  },
);

// ---- lookup and the HTTP API ----------------------------------------------------------------

/** A row of `shoal service lookup --format json` (the fields compared). */
interface LookupRow {
  task: string; // web.1
  taskId: string;
  node: string;
  addresses: Array<{ network: string; ip: string }>;
  healthChecked: boolean;
}

interface ConsulEntry {
  Node: { Node: string; Address: string };
  Service: { ID: string; Service: string; Address: string; Port: number };
  Checks?: Array<{ Status: string }>;
}

const consulUrl = (n: number, service: string, query = 'passing') =>
  `http://${managerHttp(n)}/v1/health/service/${service}?${query}`;

async function consul(n: number, service: string, query = 'passing') {
  const r = await httpGet(consulUrl(n, service, query), 30_000);
  if (r.status !== 200) throw new Error(`GET ${consulUrl(n, service, query)} -> ${r.status}: ${r.body}`);
  return { index: Number(r.headers['x-consul-index']), entries: JSON.parse(r.body) as ConsulEntry[], at: Date.now() };
}

/** "task-id node ip" per endpoint, sorted: what the three views must agree on. */
const lookupPairs = (rows: LookupRow[]) =>
  rows.map((r) => `${r.taskId} ${r.node} ${r.addresses.find((a) => a.network === 'shoal')?.ip ?? ''}`).sort();
const consulPairs = (entries: ConsulEntry[]) =>
  entries.map((e) => `${e.Service.ID} ${e.Node.Node} ${e.Service.Address}`).sort();

/** The replica count `service ls` has for a service. */
async function replicasOf(service: string): Promise<number> {
  const row = (await services()).find((s) => s.name === service);
  if (row?.replicas === undefined) throw new Error(`no replicated service ${service} in service ls`);
  return row.replicas;
}

test.serial(
  'shoal service lookup web and GET /v1/health/service/web?passing (every manager) list the same endpoints as the running tasks',
  async (t) => {
    const running = await settled(web, await replicasOf(web));
    const want = (await tasks(web))
      .filter((r) => r.state === 'running' && r.desiredState === 'running')
      .map((r) => `${r.id} ${r.node} ${r.addresses?.find((a) => a.network === 'shoal')?.ip ?? ''}`)
      .sort();
    t.deepEqual(
      want.map((p) => p.split(' ')[2]).sort(),
      running.map((c) => c.ip),
      'service ps = dockerd',
    );
    const rows = await waitFor(
      async () => {
        const r = await shoalJson<LookupRow>('service', 'lookup', web);
        return sameSet(lookupPairs(r), want) ? r : undefined;
      },
      5_000,
      'lookup = running tasks',
    ).catch(() => shoalJson<LookupRow>('service', 'lookup', web));
    t.deepEqual(
      lookupPairs(rows),
      want,
      `shoal service lookup ${web} --format json:\n${JSON.stringify(rows, null, 1)}`,
    );
    for (const r of rows) t.false(r.healthChecked, `lookup row ${r.task}: web has no health check`);
    const plain = await shoalOk('service', 'lookup', web);
    for (const p of want) t.true(plain.stdout.includes(p.split(' ')[2]!), `plain lookup output names ${p}`);
    for (let n = 1; n <= BED.managers; n++) {
      const c = await consul(n, web);
      t.deepEqual(
        consulPairs(c.entries),
        want,
        `manager ${n} (${managerHttp(n)}): ${JSON.stringify(c.entries).slice(0, 400)}`,
      );
      t.true(Number.isInteger(c.index) && c.index > 0, `manager ${n}: X-Consul-Index ${c.index}`);
      for (const e of c.entries) t.is(e.Service.Service, web);
    }
    // an unknown service: an empty list, not an error (Consul's behaviour)
    const none = await consul(1, uniqueName('nosuch'));
    t.deepEqual(none.entries, []);
  },
);

test.serial(
  'a blocking query (?index=X-Consul-Index&wait=10s) holds while nothing changes and returns promptly after a scale',
  async (t) => {
    t.timeout(120_000);
    const n = await replicasOf(web);
    const before = await settled(web, n);
    const first = await consul(1, web);
    t.is(first.entries.length, n);
    let index = first.index;
    // nothing changes: the query must still be waiting after 1.5 s
    let settledAt = 0;
    const pending = consul(1, web, `passing&index=${index}&wait=10s`).then((r) => ((settledAt = Date.now()), r));
    const askedAt = Date.now();
    await sleep(1_500);
    t.is(settledAt, 0, `the blocking query answered after ${settledAt - askedAt} ms with nothing changed`);
    const scaleAt = Date.now();
    await shoalOk('service', 'scale', `${web}=${n + 1}`, '--detach');
    // Consul semantics: each change of the index ends a query; a client loops until it sees n+1
    let r = await pending;
    const returns = [r.at - scaleAt];
    while (r.entries.length !== n + 1 && Date.now() - scaleAt < 30_000) {
      t.true(r.index >= index, `index never goes back (${index} -> ${r.index})`);
      index = r.index;
      r = await consul(1, web, `passing&index=${index}&wait=10s`);
      returns.push(r.at - scaleAt);
    }
    t.is(
      r.entries.length,
      n + 1,
      `${n + 1} passing entries after the scale: ${JSON.stringify(r.entries).slice(0, 300)}`,
    );
    t.true(r.index > first.index, `X-Consul-Index grew: ${first.index} -> ${r.index}`);
    const after = await settled(web, n + 1);
    const fresh = after.filter((c) => !before.some((b) => b.id === c.id));
    t.is(fresh.length, 1);
    const ranAt = await startedAtMs(fresh[0]!);
    t.log(`blocking queries returned ${returns.map((ms) => `${ms} ms`).join(', ')} after the scale`);
    measured(t, 'new task running -> blocking HTTP query returns with it', r.at - ranAt);
    t.true(r.at - ranAt <= 1_000, `the blocking query returned ${r.at - ranAt} ms after the new task ran`);
    t.true(
      returns.every((ms) => ms < 9_000),
      'no query waited out its 10 s while things changed',
    );
  },
);

test.serial(
  "scale web down to 3: the removed tasks leave every host's answer at once, nothing stale stays",
  async (t) => {
    t.timeout(120_000);
    await settled(web, await replicasOf(web));
    const watches = await watchAll(`tasks.${web}`);
    try {
      const scaleAt = Date.now();
      await shoalOk('service', 'scale', `${web}=3`);
      const left = (await settled(web, 3)).map((c) => c.ip);
      // the CLI's own start (~0.3 s) is included: the bound is loose on purpose
      const lat = await latencies(watches, (a) => sameSet(a.ips, left), scaleAt, scaleAt, `only ${left.join(' ')}`);
      report(t, 'scale down (shoal service scale started) -> removed tasks gone from DNS', lat, SCALE_DOWN_BOUND_MS);
      await sleep(300);
      for (const w of watches) t.deepEqual([...(w.answers.at(-1)?.ips ?? [])].sort(), left, `${w.c.host}: last answer`);
    } finally {
      await Promise.all(watches.map((w) => w.stop()));
    }
  },
);

// ---- names that are not (visible) services ----------------------------------------------------

test.serial(
  "an unknown name is NXDOMAIN; a name outside the cluster is forwarded to the host's upstream",
  async (t) => {
    for (const c of await clientsPerHost()) {
      for (const name of ['nosuch', 'tasks.nosuch', `tasks.${uniqueName('gone')}`]) {
        const r = await nslookup(c, name);
        t.not(r.code, 0, `${c.host}: nslookup ${name} fails`);
        t.true(r.nxdomain, `${c.host}: nslookup ${name} says NXDOMAIN:\n${r.out}`);
        t.deepEqual(r.ips, []);
      }
      asked.length = 0;
      const r = await nslookup(c, OUTSIDE.name);
      t.is(r.code, 0, `${c.host}: nslookup ${OUTSIDE.name}:\n${r.out}`);
      t.deepEqual(r.ips, [OUTSIDE.ip], `${c.host}: ${OUTSIDE.name} answered by the upstream:\n${r.out}`);
      t.true(
        asked.some((q) => q.name === OUTSIDE.name && q.from === hostAddress(c.host)),
        `${c.host}'s agent asked the upstream: ${JSON.stringify(asked)}`,
      );
    }
  },
);

test.serial('a service on another network is not resolvable from a client that is not on it', async (t) => {
  await shoalOk('network', 'create', otherNet);
  await shoalOk(
    'service',
    'create',
    '--name',
    hidden,
    '--network',
    otherNet,
    '--replicas',
    '1',
    '--stop-grace-period',
    '1s',
    IMAGE,
    ...SLEEP,
  );
  const [own] = await waitFor(
    async () => {
      const d = await dockerIps(hidden, otherNet);
      return d.length === 1 && d[0]!.ip !== '' ? d : undefined;
    },
    60_000,
    `${hidden} running with an address on ${otherNet}`,
  );
  // on its own network it resolves (so the refusal below is about the network)
  const self = await waitFor(
    async () => {
      const a = await nslookup(own!, hidden);
      return sameSet(a.ips, [own!.ip]) ? a : undefined;
    },
    5_000,
    `${hidden} resolves from its own container`,
  ).catch(() => nslookup(own!, hidden));
  t.deepEqual(self.ips, [own!.ip], `nslookup ${hidden} from its own container:\n${self.out}`);
  for (const c of await clientsPerHost()) {
    for (const name of [hidden, `tasks.${hidden}`]) {
      const r = await nslookup(c, name);
      t.deepEqual(r.ips, [], `${c.host} (not on ${otherNet}): nslookup ${name}:\n${r.out}`);
      t.not(r.code, 0, `${c.host}: nslookup ${name} finds nothing`);
    }
  }
});

// ---- health ---------------------------------------------------------------------------------

test.serial(
  'health: a task is returned only once healthy, leaves the answer when its check fails, and a never-healthy task is never returned',
  async (t) => {
    t.timeout(120_000);
    // healthy only once /tmp/ready exists and while /tmp/sick does not; failures in the first
    // 30 s (longer than this test) do not count, so a container nobody makes ready stays
    // "starting" (not healthy)
    await shoalOk(
      'service',
      'create',
      '--name',
      hc,
      '--replicas',
      '3',
      '--detach',
      '--stop-grace-period',
      HC_GRACE,
      '--health-cmd',
      'test -e /tmp/ready -a ! -e /tmp/sick',
      '--health-interval',
      '200ms',
      '--health-retries',
      '1',
      '--health-start-period',
      '30s',
      IMAGE,
      ...SLEEP,
    );
    const three = await waitFor(
      async () => {
        const d = await dockerIps(hc);
        return d.length === 3 && d.every((c) => c.ip !== '') ? d : undefined;
      },
      60_000,
      `3 running containers of ${hc}`,
    );
    const [a, b, never] = three as [Container & { ip: string }, Container & { ip: string }, Container & { ip: string }];
    const watches = await watchAll(`tasks.${hc}`);
    try {
      await sleep(1_500); // several probes have run (and failed, uncounted): nobody is healthy
      for (const w of watches)
        t.deepEqual(
          w.answers.flatMap((x) => x.ips),
          [],
          `${w.c.host}: no IP of ${hc} while none is healthy`,
        );

      for (const c of [a, b]) t.is((await execIn(c.host, c.id, ['touch', '/tmp/ready'])).code, 0);
      const readyAt = Date.now();
      const up = await latencies(watches, (x) => sameSet(x.ips, [a.ip, b.ip]), readyAt, readyAt, `${a.ip} and ${b.ip}`);
      // no budget in the issue for this one: a loose bound (the check runs every 200 ms)
      report(t, 'check passes (touch /tmp/ready, interval 200ms) -> IP in DNS', up, HEALTHY_BOUND_MS);
      // lookup and the HTTP API agree: the two healthy tasks, with their check passing
      const healthy = [a.taskId, b.taskId].sort();
      const rows = await shoalJson<LookupRow>('service', 'lookup', hc);
      t.deepEqual(rows.map((r) => r.taskId).sort(), healthy, `lookup ${hc}: ${JSON.stringify(rows).slice(0, 300)}`);
      t.true(
        rows.every((r) => r.healthChecked),
        'lookup: healthChecked',
      );
      t.deepEqual((await consul(1, hc)).entries.map((e) => e.Service.ID).sort(), healthy, `GET ${consulUrl(1, hc)}`);

      const sickAt = Date.now();
      t.is((await execIn(a.host, a.id, ['touch', '/tmp/sick'])).code, 0);
      const gone = await latencies(watches, (x) => sameSet(x.ips, [b.ip]), sickAt, sickAt, `only ${b.ip}`);
      report(
        t,
        'check fails (touch /tmp/sick, interval 200ms, retries 1) -> IP gone from DNS',
        gone,
        UNHEALTHY_BUDGET_MS,
      );
      t.deepEqual(
        (await consul(1, hc)).entries.map((e) => e.Service.ID),
        [b.taskId],
        `GET ${consulUrl(1, hc)} once ${a.taskId} is unhealthy`,
      );

      // a's task fails "unhealthy" and is replaced by a container nobody makes ready
      await waitFor(
        async () => {
          const d = await dockerIps(hc);
          return d.length === 3 && !d.some((c) => c.id === a.id) && d.every((c) => c.ip !== '') ? d : undefined;
        },
        30_000,
        `${a.id.slice(0, 12)} replaced`,
      );
      await sleep(1_000);
      const replacement = (await dockerIps(hc)).find((c) => c.id !== b.id && c.id !== never.id)!;
      for (const w of watches) {
        const seen = new Set(w.answers.flatMap((x) => x.ips));
        t.false(seen.has(never.ip), `${w.c.host}: the never-healthy ${never.ip} was never returned`);
        const afterGone = w.answers.filter((x) => x.at > (gone.find((g) => g.host === w.c.host)?.answer.at ?? 0));
        t.false(
          afterGone.some((x) => x.ips.includes(a.ip)),
          `${w.c.host}: ${a.ip} never came back once unhealthy`,
        );
        t.false(
          afterGone.some((x) => x.ips.includes(replacement.ip) && replacement.ip !== b.ip),
          `${w.c.host}: the not-yet-healthy replacement ${replacement.ip} is not returned`,
        );
        t.deepEqual(w.answers.at(-1)?.ips, [b.ip], `${w.c.host}: last answer is the one healthy task`);
        t.true(w.answers.length > 50, `${w.c.host}: ${w.answers.length} answers observed`);
      }
    } finally {
      await Promise.all(watches.map((w) => w.stop()));
    }
  },
);
