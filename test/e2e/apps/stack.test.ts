// Stacks on the bed (issue 13): a compose file of 5 services on 2 networks (+ default), a
// named volume, a published port, a placement constraint, interpolation, update_config and
// restart_policy deploys to running (counted through each host's dockerd); the services
// resolve each other by their short names (and a compose alias) inside their containers; a
// redeploy of the same file changes nothing, a redeploy changing one service rolls only that
// one (the others keep their container ids); `stack rm` leaves no container and no network,
// and the volume stays.
import test from 'ava';
import {
  HOSTS,
  IMAGE,
  containerIp,
  containersOf,
  dockerCli,
  execIn,
  hostAddress,
  httpGet,
  measured,
  shoal,
  shoalJson,
  shoalOk,
  timeUntil,
  waitFor,
  waitNodesReady,
  type Container,
} from '../../helpers/bed.js';
import { nslookup } from '../../helpers/dns-watch.js';
import { writeStackFiles } from '../../helpers/stack-files.js';

const STACK = `stk${process.pid.toString(36)}`;
const WEB_PORT = 18_000 + (process.pid % 1000);
const SERVICES = ['api', 'cache', 'db', 'web', 'worker'];
const full = (s: string): string => `${STACK}_${s}`;
const files = writeStackFiles(IMAGE, WEB_PORT);

interface StackServiceRow {
  name: string;
  running: number;
  desired: number;
}

async function allRunning(): Promise<boolean> {
  const rows = await shoalJson<StackServiceRow>('stack', 'services', '--format', 'json', STACK);
  return rows.length === SERVICES.length && rows.every((r) => r.desired > 0 && r.running === r.desired);
}

async function containerIds(): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const s of SERVICES) out[s] = (await containersOf(full(s))).map((c) => c.id).sort();
  return out;
}

async function deploy(...extra: string[]) {
  process.env.STACK_IMAGE = IMAGE;
  process.env.GREETING = 'hello from the shell';
  return shoalOk('stack', 'deploy', '-c', files.base, ...extra, STACK);
}

test.before(async () => {
  await waitNodesReady();
});

test.after.always(async () => {
  await shoal('stack', 'rm', STACK);
});

test.serial('stack deploy: 5 services to running, placed as the file says', async (t) => {
  const started = Date.now();
  const r = await deploy();
  for (const name of ['front', 'back', 'default'])
    t.regex(r.stdout, new RegExp(`^Creating network ${full(name)}$`, 'm'));
  for (const s of SERVICES) t.regex(r.stdout, new RegExp(`^Creating service ${full(s)}$`, 'm'));
  t.regex(r.stderr, /^Ignoring unsupported options: build$/m);
  const { ms } = await timeUntil(() => allRunning(), 60_000, 'every service of the stack running', { since: started });
  measured(t, 'stack deploy of 5 services (8 tasks) to all running', ms);

  const perHost = async (s: string) => {
    const counts: Record<string, number> = {};
    for (const c of await containersOf(full(s))) counts[c.host] = (counts[c.host] ?? 0) + 1;
    return counts;
  };
  t.deepEqual(await perHost('api'), { host2: 1 }, 'node.hostname == host2');
  t.deepEqual(await perHost('cache'), Object.fromEntries(HOSTS.map((h) => [h, 1])), 'global: one per host');
  t.deepEqual(await perHost('worker'), Object.fromEntries(HOSTS.map((h) => [h, 1])), '3 replicas, 1 per node');
  t.is((await containersOf(full('web'))).length, 2);
  t.is((await containersOf(full('db'))).length, 1);

  // Interpolation ($$ is a literal $) in the container's environment, as its dockerd has it.
  const [api] = await containersOf(full('api'));
  const env = await execIn(api!.host, api!.id, ['env']);
  t.regex(env.stdout, /^GREETING=hello from the shell$/m);
  t.regex(env.stdout, /^PRICE=\$5$/m);

  // The published port answers on every host (routing mesh).
  const reply = await waitFor(
    () => httpGet(`http://${hostAddress('host1')}:${WEB_PORT}/`).catch(() => undefined),
    20_000,
    'web on the published port',
  );
  t.true(reply.status > 0);

  const ls = await shoalOk('stack', 'ls');
  t.regex(ls.stdout, new RegExp(`^${STACK}\\s+5$`, 'm'));
});

test.serial('services resolve each other by their short names on the stack networks', async (t) => {
  const [api] = await containersOf(full('api'));
  const [worker] = await containersOf(full('worker'));
  const ipsOn = async (service: string, network: string) =>
    Promise.all((await containersOf(full(service))).map((c: Container) => containerIp(c.host, c.id, network)));
  const expect = async (from: Container, name: string, service: string, network: string) => {
    const want = (await ipsOn(service, full(network))).sort();
    const got = await waitFor(
      async () => {
        const a = await nslookup(from, name);
        return JSON.stringify([...a.ips].sort()) === JSON.stringify(want) ? a : undefined;
      },
      20_000,
      `${name} from ${from.host} = ${want.join(' ')}`,
    ).catch(async () => nslookup(from, name));
    t.deepEqual([...got.ips].sort(), want, `nslookup ${name}\n${got.out}`);
  };
  await expect(api!, 'web', 'web', 'front');
  await expect(api!, 'db', 'db', 'back');
  await expect(api!, 'database', 'db', 'back'); // the compose alias
  await expect(api!, 'cache', 'cache', 'back');
  await expect(worker!, 'worker', 'worker', 'default');
  const nx = await nslookup(worker!, 'db');
  t.deepEqual(nx.ips, [], `worker shares no network with db\n${nx.out}`);
});

test.serial('a redeploy of the same file changes nothing; one changed service rolls alone', async (t) => {
  const before = await containerIds();
  const same = await deploy();
  t.notRegex(same.stdout, /Creating service|Updating service/, same.stdout);
  t.deepEqual(await containerIds(), before, 'same containers');

  const changed = await deploy('-c', files.override);
  t.regex(changed.stdout, new RegExp(`^Updating service ${full('web')} \\(id: \\w+\\)$`, 'm'));
  t.notRegex(changed.stdout, new RegExp(`Updating service ${STACK}_(api|db|cache|worker)`));
  await waitFor(
    async () => {
      const ids = (await containersOf(full('web'))).map((c) => c.id);
      return ids.length === 2 && ids.every((id) => !before.web!.includes(id)) && (await allRunning());
    },
    60_000,
    'web rolled to 2 new containers',
  );
  const after = await containerIds();
  for (const s of SERVICES.filter((x) => x !== 'web')) t.deepEqual(after[s], before[s], `${s} untouched`);
  const [web] = await containersOf(full('web'));
  t.regex((await execIn(web!.host, web!.id, ['env'])).stdout, /^VERSION=2$/m);
});

test.serial('stack rm: no container, no network left; the volume stays', async (t) => {
  const dbHost = (await containersOf(full('db')))[0]?.host ?? 'host1';
  const r = await shoalOk('stack', 'rm', STACK);
  for (const s of SERVICES) t.regex(r.stdout, new RegExp(`^Removing service ${full(s)}$`, 'm'));
  t.regex(r.stdout, new RegExp(`^Removing network ${full('back')}$`, 'm'));
  await waitFor(
    async () => {
      for (const s of SERVICES) if ((await containersOf(full(s), { all: true })).length > 0) return false;
      return true;
    },
    30_000,
    'no container of the stack',
  );
  const networks = await shoalJson<{ name: string }>('network', 'ls', '--format', 'json');
  t.deepEqual(
    networks.filter((n) => n.name.startsWith(`${STACK}_`)),
    [],
  );
  for (const host of HOSTS) {
    const ls = await dockerCli(host, ['network', 'ls', '--format', '{{.Name}}']);
    t.deepEqual(
      ls.stdout.split('\n').filter((n) => n.includes(`${STACK}_`)),
      [],
      `${host}: docker networks`,
    );
  }
  const volumes = await dockerCli(dbHost, ['volume', 'ls', '--format', '{{.Name}}']);
  t.true(
    volumes.stdout.split('\n').some((v) => v.includes(full('data'))),
    `${dbHost}: volumes\n${volumes.stdout}`,
  );
  const again = await shoal('stack', 'ls');
  t.notRegex(again.stdout, new RegExp(`^${STACK}\\s`, 'm'));
});
