// Security on the bed, as a user would check it: who the managers let in (a plaintext
// client, the CLI without or with a worker's certificate), join tokens that rotate without
// touching joined nodes, and certificates that renew (and a root that rotates) while
// services keep running in the same containers.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { ControlClient } from '../../proto/gen/shoal.js';
import { JoinError, joinAddressOf, joinCluster } from '../../proto/pki/join.js';
import {
  HOSTS,
  HTTPD,
  IMAGE,
  SHOAL_HOST,
  containersOf,
  localClusterOk,
  measured,
  removeService,
  shoal,
  shoalOk,
  tasks,
  uniqueName,
  waitFor,
  waitNodesReady,
  type RunResult,
} from '../helpers/bed.js';
import { REPO } from '../helpers/bed.js';
import { execFile } from 'node:child_process';

const LEADER = SHOAL_HOST.split(',')[0]!;

function shoalWithEnv(env: Record<string, string>, ...args: string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      `${REPO}/cli/bin/shoal`,
      args,
      { env: { ...process.env, SHOAL_HOST, ...env }, timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : 1
          : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

const renewals = (host: string): number =>
  (readFileSync(`/var/log/shoal-bed/agent-${host}.log`, 'utf8').match(/certificate renewed/g) ?? []).length;

test.before(async () => {
  await waitNodesReady();
});

test.serial('a plaintext client, the CLI without a certificate and a worker certificate are refused', async (t) => {
  // gRPC in plaintext: no connection at all (the handshake is TLS).
  const plain = new ControlClient(LEADER, credentials.createInsecure());
  const err = await new Promise<ServiceError | undefined>((resolve) =>
    plain.listNodes({}, new Metadata(), { deadline: Date.now() + 5_000 }, (e) => resolve(e ?? undefined)),
  );
  plain.close();
  t.is(err?.code, status.UNAVAILABLE, 'plaintext is refused');

  const none = await shoalWithEnv({ SHOAL_CERT_PATH: '/nonexistent' }, 'node', 'ls');
  t.is(none.code, 1);
  t.regex(none.stderr, /^shoal: no client certificate in SHOAL_CERT_PATH=\/nonexistent[^\n]*\n$/);

  // An agent's own bundle (role worker) gets through the handshake but not into the Control API.
  const worker = await shoalWithEnv({ SHOAL_CERT_PATH: `/var/lib/shoal-bed/${HOSTS[0]}/agent/tls` }, 'node', 'ls');
  t.is(worker.code, 1);
  t.regex(worker.stderr, /^shoal: a worker certificate cannot call the Control API\n$/);

  // The admin bundle the bed printed works.
  t.is((await shoal('node', 'ls')).code, 0);
});

test.serial('join-token --rotate: the old token cannot join, nodes joined with it keep working', async (t) => {
  const old = (await shoalOk('join-token', '-q', 'worker')).stdout.trim();
  t.regex(old, /^SHOAL-1-[0-9a-z]{50}-[0-9a-z]{25}$/);
  const shown = (await shoalOk('join-token', 'worker')).stdout;
  // The leader's address (any of the bed's managers on the HA bed).
  t.regex(shown, new RegExp(`shoal-agent --manager 10\\.213\\.0\\.1:\\d+ --join-token ${old}\n`));
  const rotated = await shoalOk('join-token', '--rotate', 'worker');
  t.regex(rotated.stdout, /Successfully rotated worker join token/);
  const fresh = (await shoalOk('join-token', '-q', 'worker')).stdout.trim();
  t.not(fresh, old);
  const refused = await t.throwsAsync(joinCluster(joinAddressOf(LEADER), old, 'intruder'));
  t.true(refused instanceof JoinError && refused.permanent, String(refused));
  t.regex(refused.message, /not valid/);
  // The manager token did not change with it, and every node is still ready.
  const nodes = await waitNodesReady(10_000);
  t.is(nodes.length, HOSTS.length);
});

test.serial('short-lived certificates renew and the root rotates while services keep running', async (t) => {
  t.timeout(300_000);
  const name = uniqueName('certs');
  const ids = async () => (await containersOf(name)).map((c) => `${c.host}:${c.id}`).sort();
  try {
    await shoalOk('service', 'create', '--name', name, '--replicas', '3', '--stop-grace-period', '1s', IMAGE, ...HTTPD);
    const before = await ids();
    t.is(before.length, 3);

    // The cluster's certificates last 1 minute from now on (manager1 restarted with --cert-expiry 1m).
    await localClusterOk('stop-manager', '--graceful', '1');
    process.env.SHOAL_BED_CERT_EXPIRY = '1m';
    try {
      await localClusterOk('start-manager', '1');
    } finally {
      delete process.env.SHOAL_BED_CERT_EXPIRY;
    }
    await waitNodesReady(60_000);
    const counts0 = HOSTS.map(renewals);

    // A root rotation: every node renews onto the new root (now with 1-minute certificates).
    const started = Date.now();
    const rotate = await shoalOk('ca', 'rotate');
    measured(t, 'ca rotate across the ready nodes', Date.now() - started);
    t.regex(rotate.stdout, /Rotation:\s+none/);
    t.regex(rotate.stdout, /Cert expiry:\s+1m/);

    // Then the 1-minute certificates renew by themselves at 50-80% of their life.
    // (One renewal when the rotation starts, one when it ends, then at least one by the timer.)
    await waitFor(
      () => HOSTS.every((h, i) => renewals(h) >= counts0[i]! + 3),
      150_000,
      'three renewals on every host (rotation start and end, then the 1-minute timer)',
      1_000,
    );
    t.log(`renewals per host: ${HOSTS.map((h, i) => `${h} +${renewals(h) - counts0[i]!}`).join(', ')}`);
    await sleep(2_000);
    await waitNodesReady(10_000);
    t.deepEqual(await ids(), before, 'the same containers run: nothing restarted');
    const rows = await tasks(name);
    t.is(rows.filter((r) => r.state === 'running').length, 3);
    t.is(rows.length, 3, 'no task was replaced');
  } finally {
    await localClusterOk('stop-manager', '--graceful', '1').catch(() => {});
    process.env.SHOAL_BED_CERT_EXPIRY = '2160h';
    await localClusterOk('start-manager', '1').catch(() => {});
    delete process.env.SHOAL_BED_CERT_EXPIRY;
    await waitNodesReady(60_000).catch(() => {});
    await removeService(name);
  }
});
