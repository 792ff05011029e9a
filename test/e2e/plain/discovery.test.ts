// Service discovery (issue 5), as a program in a container sees it: busybox nslookup and wget
// inside a global `client` service (one asking container per host), against a `web` service
// whose page names its container. What DNS answers is compared with `service ps` and with
// each host's dockerd; freshness is measured by a query loop running inside the clients
// (timestamps taken in the container, right after each answer); the Consul-shaped HTTP API
// (discovery-http.test.ts checks `shoal service lookup` and the HTTP API); names outside the
// cluster go to a responder this test binds on the bed's DNS upstream (10.213.0.1:10053).
import dgram from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';
import test, { type ExecutionContext } from 'ava';
import dnsPacket from 'dns-packet';
import {
  HOSTS,
  IMAGE,
  SLEEP,
  containersOf,
  docker,
  execIn,
  hostAddress,
  measured,
  removeService,
  shoal,
  shoalJson,
  shoalOk,
  tasks,
  uniqueName,
  waitFor,
  waitNodesReady,
  type Container,
} from '../../helpers/bed.js';
import { DnsWatch, nslookup, type Answer } from '../../helpers/dns-watch.js';
import {
  consul,
  consulUrl,
  dockerIps,
  psIps,
  replicasOf,
  sameSet,
  settled,
  startedAtMs,
  type LookupRow,
} from '../../helpers/service-views.js';

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
