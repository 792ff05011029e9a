// Secrets and configs on the bed (issue 12): a service with 2 replicas using a secret and a
// config. Inside each task's container the secret is at /run/secrets/NAME on a tmpfs (mode
// 0444, or the reference's), the config at its target; the host without such a task holds
// no copy, and no host holds one on disk; service inspect, secret inspect and every etcd
// value lack the plaintext; `secret rm` is refused while the service uses it.
import { statfsSync, readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { Etcd3 } from 'etcd3';
import { etcdCredentials, etcdGrpcOptions } from '../../manager/config/connections.js';
import {
  BED,
  HOSTS,
  IMAGE,
  SLEEP,
  containersOf,
  execIn,
  removeService,
  shoal,
  shoalOk,
  uniqueName,
  waitFor,
  waitNodesReady,
  type Container,
} from '../helpers/bed.js';

const STATE = '/var/lib/shoal-bed';
const TMPFS_MAGIC = 0x01021994;

/** Files under `dir` holding `needle`, each with whether it is on a tmpfs. */
function copiesUnder(dir: string, needle: string): { file: string; tmpfs: boolean }[] {
  const found: { file: string; tmpfs: boolean }[] = [];
  const walk = (d: string): void => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && readFileSync(p).includes(needle))
        found.push({ file: p, tmpfs: statfsSync(p).type === TMPFS_MAGIC });
    }
  };
  walk(dir);
  return found;
}

async function etcdValues(): Promise<string[]> {
  // The bed's own etcd (HA) or manager1's embedded one: both take only client certificates.
  const embedded = BED.etcd === 0;
  const dir = embedded ? '/var/lib/shoal-bed/manager1/etcd-tls' : '/var/lib/shoal-bed/tls';
  const tls = {
    ca: readFileSync(`${dir}/ca.pem`, 'utf8'),
    cert: readFileSync(`${dir}/client.pem`, 'utf8'),
    key: readFileSync(`${dir}/client-key.pem`, 'utf8'),
    ...(embedded ? { serverName: 'localhost' } : {}),
  };
  const client = new Etcd3({
    hosts: embedded ? 'https://127.0.0.1:12379' : BED.etcdEndpoint(1),
    credentials: etcdCredentials(tls),
    grpcOptions: etcdGrpcOptions(tls),
  });
  try {
    return Object.values(await client.getAll().prefix('/shoal/').strings());
  } finally {
    client.close();
  }
}

test('a secret reaches only its tasks, on a tmpfs at /run/secrets, and is nowhere else in the clear', async (t) => {
  await waitNodesReady();
  const plaintext = `e2e-${uniqueName('pw')}-PLAINTEXT`;
  const configText = `listen 80; # ${uniqueName('cfg')}`;
  const secret = uniqueName('db_pass').replace(/-/g, '_');
  const config = uniqueName('app-conf');
  const service = uniqueName('sec');
  const tmp = path.join('/tmp', `${service}.txt`);
  const { writeFileSync, rmSync } = await import('node:fs');
  writeFileSync(tmp, plaintext);
  writeFileSync(`${tmp}.cfg`, configText);
  t.teardown(async () => {
    await removeService(service);
    await shoal('secret', 'rm', secret);
    await shoal('config', 'rm', config);
    rmSync(tmp, { force: true });
    rmSync(`${tmp}.cfg`, { force: true });
  });
  await shoalOk('secret', 'create', secret, tmp);
  await shoalOk('config', 'create', config, `${tmp}.cfg`);
  await shoalOk(
    ...['service', 'create', '--name', service, '--replicas', '2'],
    ...['--secret', secret, '--secret', `source=${secret},target=private,uid=33,mode=0400`],
    ...['--config', `source=${config},target=/etc/app.conf`],
    ...[IMAGE, ...SLEEP],
  );
  const running: Container[] = await waitFor(
    async () => {
      const cs = await containersOf(service);
      return cs.length === 2 ? cs : undefined;
    },
    60_000,
    `2 running containers of ${service}`,
  );

  for (const c of running) {
    const cat = await execIn(c.host, c.id, ['cat', `/run/secrets/${secret}`]);
    t.is(cat.stdout, plaintext, `${c.host}: cat /run/secrets/${secret}`);
    const mounts = await execIn(c.host, c.id, ['cat', '/proc/mounts']);
    t.regex(mounts.stdout, /^\S+ \/run\/secrets tmpfs ro[,\s]/m, `${c.host}: /run/secrets is a read-only tmpfs`);
    const modes = await execIn(c.host, c.id, ['stat', '-c', '%a %u', `/run/secrets/${secret}`, '/run/secrets/private']);
    t.deepEqual(modes.stdout.trim().split('\n'), ['444 0', '400 33']);
    t.is((await execIn(c.host, c.id, ['cat', '/etc/app.conf'])).stdout, configText);
    const env = await execIn(c.host, c.id, ['env']);
    t.false(env.stdout.includes(plaintext), 'not in the environment');
  }

  // Hosts: a copy only on the tmpfs of those running a task, none on disk anywhere.
  const withTask = new Set(running.map((c) => c.host));
  t.true(
    HOSTS.some((h) => !withTask.has(h)),
    'a host runs no task of the service',
  );
  for (const host of HOSTS) {
    const dir = path.join(STATE, host, 'agent');
    if (!existsSync(dir)) continue;
    const copies = copiesUnder(dir, plaintext);
    t.deepEqual(
      copies.filter((c) => !c.tmpfs),
      [],
      `${host}: no copy on disk`,
    );
    if (!withTask.has(host)) t.deepEqual(copies, [], `${host} runs no task using it: no copy at all`);
    else t.true(copies.length > 0, `${host}: the task's copy is on the tmpfs`);
  }

  // The Control API and etcd: never the plaintext.
  const b64 = Buffer.from(plaintext).toString('base64');
  for (const args of [
    ['service', 'inspect', service],
    ['secret', 'inspect', secret],
    ['secret', 'ls', '--format', 'json'],
  ]) {
    const out = (await shoalOk(...args)).stdout;
    t.false(out.includes(plaintext) || out.includes(b64), `shoal ${args.join(' ')}`);
  }
  const values = await etcdValues();
  t.true(
    values.some((v) => v.includes(secret)),
    'the secret is in etcd',
  );
  t.false(
    values.some((v) => v.includes(plaintext) || v.includes(b64)),
    'no etcd value holds the plaintext',
  );

  // In use: refused, in one line.
  const rm = await shoal('secret', 'rm', secret);
  t.is(rm.code, 1);
  t.is(rm.stderr.trim(), `shoal: secret ${secret} is in use by service ${service}`);

  // The service gone: the files go with its containers.
  await removeService(service);
  for (const host of withTask) {
    await waitFor(
      async () => copiesUnder(path.join(STATE, host, 'agent'), plaintext).length === 0,
      30_000,
      `${host}: the secret's files removed with the container`,
    );
  }
  await shoalOk('secret', 'rm', secret);
  await shoalOk('config', 'rm', config);
});
