// The bed's managers against 1,000 generated malformed or oversized Control API requests
// (seeded, test/helpers/bad-requests.ts), sent with the admin certificate: each is refused
// with a one-line message, the cluster is unchanged (services, nodes, networks as the CLI
// shows them; the containers on the hosts), and a normal `service create` right after works.
import test from 'ava';
import { status } from '@grpc/grpc-js';
import { ControlClient } from '../../proto/gen/shoal.js';
import { readBundle } from '../../proto/pki/bundle.js';
import { MANAGER_CHANNEL_OPTIONS, managerCredentials } from '../../proto/pki/grpc-tls.js';
import { CLIENT_MESSAGE_LIMITS } from '../../proto/limits.js';
import { BadRequests, sendBad } from '../helpers/bad-requests.js';
import {
  HOSTS,
  IMAGE,
  SHOAL_CERT_PATH,
  SHOAL_HOST,
  SLEEP,
  containersOf,
  removeService,
  shoalJson,
  shoalOk,
  uniqueName,
  waitNodesReady,
} from '../helpers/bed.js';

const SEED = Number(process.env.SHOAL_FUZZ_SEED ?? 4242);
const COUNT = 1_000;

/** What a user sees of the cluster, without what moves by itself (heartbeats, ages). */
async function fingerprint(service: string): Promise<string> {
  const services = await shoalJson<Record<string, unknown>>('service', 'ls');
  const nodes = await shoalJson<Record<string, unknown>>('node', 'ls');
  const networks = await shoalJson<Record<string, unknown>>('network', 'ls');
  const containers = (await containersOf(service)).map((c) => `${c.host}:${c.id}`).sort();
  return JSON.stringify({
    services: services.map((s) => [s.name, s.mode, s.replicas, s.image]).sort(),
    nodes: nodes.map((n) => [n.id, n.hostname, n.availability]).sort(),
    networks: networks.map((n) => [n.name, n.subnet]).sort(),
    containers,
  });
}

test.before(async () => {
  await waitNodesReady();
});

test(`${COUNT} generated bad requests (seed ${SEED}) leave the managers up and the cluster unchanged`, async (t) => {
  t.timeout(300_000);
  const base = uniqueName('fuzzbase');
  const after = uniqueName('fuzzafter');
  const client = new ControlClient(SHOAL_HOST.split(',')[0]!, managerCredentials(readBundle(SHOAL_CERT_PATH)), {
    ...CLIENT_MESSAGE_LIMITS,
    ...MANAGER_CHANNEL_OPTIONS,
  });
  try {
    await shoalOk('service', 'create', '--name', base, '--replicas', '2', '--stop-grace-period', '1s', IMAGE, ...SLEEP);
    const before = await fingerprint(base);
    // The bed's hosts are 10.213.0.(10+K): those subnets hold them.
    const gen = new BadRequests(SEED, { service: base, node: HOSTS[0]!, network: 'shoal' }, [
      '10.213.0.0/24',
      '10.213.0.0/16',
    ]);
    const codes = new Map<string, number>();
    const started = Date.now();
    for (let i = 0; i < COUNT; i++) {
      const bad = gen.next();
      const r = await sendBad(client, bad);
      const what = `#${i} ${bad.method} (${bad.defect}, seed ${SEED})`;
      if (r.ok) {
        t.fail(`${what} was accepted: ${JSON.stringify(bad.request).slice(0, 300)}`);
        continue;
      }
      t.false(r.details.includes('\n'), `${what}: one line`);
      t.not(r.code, status.INTERNAL, `${what}: ${r.details}`);
      t.not(r.code, status.UNAVAILABLE, `${what}: the manager must stay up: ${r.details}`);
      const name = status[r.code] ?? String(r.code);
      codes.set(name, (codes.get(name) ?? 0) + 1);
    }
    t.log(
      `measured: ${COUNT} bad requests refused in ${((Date.now() - started) / 1000).toFixed(1)} s: ${JSON.stringify(Object.fromEntries(codes))}`,
    );
    t.is(await fingerprint(base), before, 'services, nodes, networks and containers unchanged');
    const t0 = Date.now();
    await shoalOk(
      'service',
      'create',
      '--name',
      after,
      '--replicas',
      '1',
      '--stop-grace-period',
      '1s',
      IMAGE,
      ...SLEEP,
    );
    t.log(`measured: a normal service create right after: ${Date.now() - t0} ms`);
    t.is((await containersOf(after)).length, 1);
  } finally {
    client.close();
    await removeService(after).catch(() => {});
    await removeService(base).catch(() => {});
  }
});
