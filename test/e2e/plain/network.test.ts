// Overlay networks across the bed's hosts (issue 4): one container per host on network A,
// one container on network B. Containers on A reach each other by ping and TCP across hosts
// (a 5 MB transfer included), B reaches none of A, all of it survives an agent restart, and
// after `node rm --force` of a host no neighbour/FDB/route entry on the others points at it.
import test from 'ava';
import { readFileSync } from 'node:fs';
import {
  HOSTS,
  IMAGE,
  HTTPD,
  localCluster,
  localClusterOk,
  measured,
  removeService,
  runProgram,
  shoal,
  shoalJson,
  shoalOk,
  uniqueName,
  waitFor,
  waitNodesReady,
  type TaskRow,
} from '../../helpers/bed.js';

const BED_RUN = '/run/shoal-bed';

interface Member {
  host: string;
  container: string;
  ip: string;
}

interface TaskWithAddresses extends TaskRow {
  addresses?: Array<{ network: string; ip: string }>;
}

function dockerExec(host: string, container: string, cmd: string[], timeoutMs = 30_000) {
  return runProgram('docker', ['-H', `unix://${BED_RUN}/${host}/docker.sock`, 'exec', container, ...cmd], timeoutMs);
}

function inNetns(host: string, cmd: string[]) {
  return runProgram('nsenter', [`--net=/run/netns/shoal-${host}`, ...cmd]);
}

/** Running tasks of a service with their address on `network`, one per reported task. */
async function members(service: string, network: string, want: number): Promise<Member[]> {
  return waitFor(
    async () => {
      const rows = (await shoalJson<TaskWithAddresses>('service', 'ps', service)).filter(
        (r) => r.state === 'running' && r.desiredState === 'running',
      );
      const out = rows
        .map((r) => ({
          host: r.node,
          container: r.containerId,
          ip: r.addresses?.find((a) => a.network === network)?.ip ?? '',
        }))
        .filter((m) => m.ip !== '');
      return out.length === want ? out.sort((a, b) => a.host.localeCompare(b.host)) : undefined;
    },
    60_000,
    `${want} running task(s) of ${service} with an address on ${network}`,
  );
}

const ping = (from: Member, to: Member) => dockerExec(from.host, from.container, ['ping', '-c', '1', '-W', '2', to.ip]);
const get = (from: Member, to: Member, path = '/') =>
  dockerExec(from.host, from.container, ['timeout', '5', 'wget', '-q', '-O', '/dev/null', `http://${to.ip}${path}`]);

const netA = uniqueName('neta');
const netB = uniqueName('netb');
const svcA = uniqueName('ona');
const svcB = uniqueName('onb');
let a: Member[] = [];
let b: Member[] = [];
let checks = 0;

test.before(async () => {
  await waitNodesReady();
});

test.after.always(async () => {
  await removeService(svcA).catch(() => {});
  await removeService(svcB).catch(() => {});
  await shoal('network', 'rm', netA);
  await shoal('network', 'rm', netB);
});

test.serial(
  'containers on one network reach each other across hosts; another network reaches none of them',
  async (t) => {
    const t0 = Date.now();
    await shoalOk('network', 'create', netA);
    await shoalOk('network', 'create', netB);
    await shoalOk(
      'service',
      'create',
      '--name',
      svcA,
      '--network',
      netA,
      '--mode',
      'global',
      '--stop-grace-period',
      '1s',
      IMAGE,
      ...HTTPD,
    );
    await shoalOk(
      'service',
      'create',
      '--name',
      svcB,
      '--network',
      netB,
      '--replicas',
      '1',
      '--stop-grace-period',
      '1s',
      IMAGE,
      ...HTTPD,
    );
    a = await members(svcA, netA, HOSTS.length);
    const [first, second] = a;
    if (first === undefined || second === undefined) throw new Error('needs two hosts');
    await waitFor(async () => (await ping(first, second)).code === 0, 30_000, `ping ${first.ip} -> ${second.ip}`);
    measured(t, 'network create to first ping across hosts', Date.now() - t0);
    t.deepEqual(
      a.map((m) => m.host),
      [...HOSTS].sort(),
      'one container per host on A',
    );
    t.is(new Set(a.map((m) => m.ip.split('.').slice(0, 3).join('.'))).size, HOSTS.length, 'each host its own /24');
    b = await members(svcB, netB, 1);
    await checkAll(t);
  },
);

async function checkAll(t: import('ava').ExecutionContext): Promise<void> {
  for (const from of a) {
    for (const to of a) {
      if (from === to) continue;
      const p = await ping(from, to);
      t.is(p.code, 0, `ping ${from.host} ${from.ip} -> ${to.host} ${to.ip}: ${p.stdout}${p.stderr}`);
      const g = await get(from, to);
      t.is(g.code, 0, `wget ${from.host} -> ${to.host} ${to.ip}: ${g.stderr}`);
    }
  }
  // 5 MB across hosts.
  const [src, dst] = [a[1]!, a[0]!];
  const mk = await dockerExec(src.host, src.container, [
    'sh',
    '-c',
    'dd if=/dev/urandom of=/var/www/big bs=1048576 count=5 2>/dev/null; wc -c < /var/www/big',
  ]);
  t.is(mk.stdout.trim(), '5242880', mk.stderr);
  const started = Date.now();
  const fetched = await dockerExec(dst.host, dst.container, [
    'sh',
    '-c',
    `timeout 5 wget -q -O /tmp/big http://${src.ip}/big && wc -c < /tmp/big`,
  ]);
  const ms = Date.now() - started;
  t.is(fetched.stdout.trim(), '5242880', `5 MB ${src.host} -> ${dst.host}: ${fetched.stderr}`);
  t.log(
    `measured: 5 MB ${src.host} -> ${dst.host}: ${ms} ms (${(5 / (ms / 1000)).toFixed(1)} MB/s, docker exec included)`,
  );
  console.log(
    `measured: 5 MB over the overlay: ${(ms / 1000).toFixed(2)} s (${(5 / (ms / 1000)).toFixed(1)} MB/s, docker exec included)`,
  );
  // Source addresses survive the overlay (no masquerade between containers).
  const port = 8080 + checks++; // a port per check: the earlier one's httpd may still listen
  const log = `/tmp/httpd-${port}.log`;
  await dockerExec(src.host, src.container, ['sh', '-c', `httpd -f -v -p ${port} 2>${log} & sleep 0.3`]);
  t.is(
    (
      await dockerExec(dst.host, dst.container, [
        'timeout',
        '5',
        'wget',
        '-q',
        '-O',
        '/dev/null',
        `http://${src.ip}:${port}/`,
      ])
    ).code,
    0,
  );
  const seen = await waitFor(
    async () => {
      const r = await dockerExec(src.host, src.container, ['cat', log]);
      return r.stdout.includes('response') ? r.stdout : undefined;
    },
    5_000,
    'httpd -v log line',
  );
  t.true(seen.includes(`${dst.ip}]:`), `${src.host} saw ${seen.trim()}, not ${dst.ip}`);
  // Network B reaches no container of A, on its own host or across.
  for (const from of b) {
    for (const to of a) {
      t.not((await ping(from, to)).code, 0, `B ${from.host} must not ping A ${to.host} ${to.ip}`);
      t.not((await get(from, to)).code, 0, `B ${from.host} must not reach A ${to.host} ${to.ip}:80`);
    }
  }
}

test.serial('after an agent restart everything still holds; containers and addresses are kept', async (t) => {
  const host = a[1]?.host ?? 'host2';
  await localClusterOk('stop-agent', host);
  await localClusterOk('start-agent', host);
  await waitNodesReady();
  // Give the restarted agent its first Networks message (it re-applies the same set).
  await new Promise((r) => setTimeout(r, 3_000));
  const after = await members(svcA, netA, HOSTS.length);
  t.deepEqual(after, a, 'same containers, same addresses');
  await checkAll(t);
});

test.serial(
  'node rm --force of a live node: it stays out; no neighbour, FDB or route entry points at it; it joins again with a fresh token',
  async (t) => {
    const gone = HOSTS[HOSTS.length - 1]!;
    const address = `10.213.0.${10 + HOSTS.length}`;
    const [info] = await shoalJson<{
      vni: number;
      leases: Array<{ node: string; subnet: string; nodeAddress: string }>;
    }>('network', 'inspect', netA);
    if (info === undefined) throw new Error(`network inspect ${netA}: nothing`);
    const vni = info.vni;
    const subnet = info.leases.find((l) => l.node === gone)?.subnet ?? '';
    t.is(info.leases.find((l) => l.node === gone)?.nodeAddress, address);
    t.not(subnet, '', `${gone} has a lease on ${netA}`);
    const peerIp = subnet.split('/')[0]!;
    const others = HOSTS.filter((h) => h !== gone);
    const entries = async (h: string) =>
      [
        (await inNetns(h, ['ip', 'neigh', 'show', 'dev', `vx${vni}`])).stdout,
        (await inNetns(h, ['bridge', 'fdb', 'show', 'dev', `vx${vni}`])).stdout,
        (await inNetns(h, ['ip', 'route', 'show', 'dev', `vx${vni}`])).stdout,
      ].join('');
    for (const h of others) t.true((await entries(h)).includes(address), `${h} has entries for ${gone} first`);
    // Its agent keeps running: node rm revokes its certificate, so it cannot register again.
    try {
      await shoalOk('node', 'rm', '--force', gone);
      const started = Date.now();
      for (const h of others) {
        await waitFor(
          async () => {
            const e = await entries(h);
            return !e.includes(address) && !e.includes(`${peerIp} `) && !e.includes(subnet);
          },
          45_000,
          `no entry for ${gone} (${address}, ${subnet}) on ${h}`,
        );
      }
      measured(t, 'node rm --force to its entries gone', Date.now() - started);
      for (const h of others) t.false((await entries(h)).includes(address), h);
      // It stays out: its agent was refused and stopped; the node never comes back by itself.
      const status = await waitFor(
        async () => new RegExp(`^${gone} .*agent down`, 'm').test((await localCluster('status')).stdout),
        30_000,
        `the agent of ${gone} stops once refused`,
      );
      t.true(status);
      await new Promise((r) => setTimeout(r, 3_000));
      const names = (await shoalJson<{ hostname: string }>('node', 'ls')).map((n) => n.hostname);
      t.false(names.includes(gone), `${gone} is not in node ls: ${names.join(',')}`);
      const log = readFileSync(`/var/log/shoal-bed/agent-${gone}.log`, 'utf8');
      t.regex(log, /was removed from the cluster/);
    } finally {
      // `deploy/local-cluster rejoin`: its old certificate dropped, it joins with a fresh worker token.
      await localClusterOk('rejoin', gone);
      await waitNodesReady(60_000);
    }
  },
);
