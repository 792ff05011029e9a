// Delivery of secrets and configs on the Assignments stream: only to the node that runs a
// task using them, opened (decrypted) by the leader, once per stream, and again after the
// node stopped using them for a while.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import type { ClientReadableStream } from '@grpc/grpc-js';
import type { AssignmentsMessage, ServiceSpec } from '../../../../proto/gen/shoal.js';
import { AssignmentsMessage_Kind } from '../../../../proto/gen/shoal.js';
import { ControlApi } from '../../../../manager/controlapi/control-api.js';
import { SecretsApi } from '../../../../manager/controlapi/secrets.js';
import { ConfigsApi } from '../../../../manager/controlapi/configs.js';
import { Keyring } from '../../../../manager/secrets/keyring.js';
import { serveDispatcher } from '../../../helpers/dispatcher.js';
import { Core, makeSpec } from '../../../helpers/fixtures.js';
import { until } from '../../../helpers/until.js';

function collect(stream: ClientReadableStream<AssignmentsMessage>): AssignmentsMessage[] {
  const got: AssignmentsMessage[] = [];
  stream.on('data', (m: AssignmentsMessage) => got.push(m));
  stream.on('error', () => {});
  return got;
}

const text = (m: AssignmentsMessage | undefined, kind: 'secrets' | 'configs') =>
  (m?.[kind] ?? []).map((p) => Buffer.from(p.data).toString());

async function setup(t: { teardown(fn: () => Promise<void>): void }, keyring: Keyring | undefined) {
  const core = new Core();
  const logs: string[] = [];
  const d = await serveDispatcher({ core, ...(keyring && { keyring }), log: (l) => logs.push(l) });
  t.teardown(d.close);
  const deps = { state: core.state, sync: () => core.writer.sync(), keyring, now: () => 1 };
  const api = new ControlApi(deps);
  const secrets = new SecretsApi(deps);
  const configs = new ConfigsApi(deps);
  const h1 = await d.register('h1');
  const h2 = await d.register('h2');
  const on = (host: string, over: Partial<ServiceSpec>): Partial<ServiceSpec> => ({
    constraints: [`node.hostname==${host}`],
    ...over,
  });
  const secretRef = (name: string) => ({ secretId: '', secretName: name, target: undefined });
  const configRef = (name: string) => ({ configId: '', configName: name, target: undefined });
  const assigned = (name: string, n: number) =>
    until(() => core.live(name).filter((x) => x.nodeId !== '').length === n);
  const open = (s: { nodeId: string; sessionId: string }) => collect(d.client.assignments(s));
  return { core, api, secrets, configs, h1, h2, on, secretRef, configRef, assigned, open, logs };
}

test('a secret goes to the node that runs a task using it, decrypted, once per stream', async (t) => {
  const keyring = new Keyring(randomBytes(32));
  const { core, api, secrets, configs, h1, h2, on, secretRef, configRef, assigned, open } = await setup(t, keyring);
  const pw = await secrets.create({ spec: { name: 'pw', labels: {}, data: Buffer.from('pw-data') } });
  await configs.create({ spec: { name: 'cfg', labels: {}, data: Buffer.from('cfg-data') } });
  await api.createService({ spec: makeSpec('web', on('h1', { secrets: [secretRef('pw')] })) });
  await api.createService({ spec: makeSpec('plain', on('h2', {})) });
  await assigned('web', 1);
  await assigned('plain', 1);

  const g1 = open(h1);
  const g2 = open(h2);
  await until(() => g1.length >= 1 && g2.length >= 1);
  t.is(g1[0]!.kind, AssignmentsMessage_Kind.COMPLETE);
  t.deepEqual(text(g1[0], 'secrets'), ['pw-data']);
  t.is(g1[0]!.secrets[0]!.id, pw.id);
  t.deepEqual(text(g2[0], 'secrets'), [], 'h2 runs no task using it');

  // Another task using it on h1: the agent has the secret already.
  await api.scaleService({ ref: 'web', replicas: 2 });
  await until(() => g1.length >= 2);
  t.is(g1[1]!.kind, AssignmentsMessage_Kind.INCREMENTAL);
  t.is(g1[1]!.tasks.length, 1);
  t.deepEqual(text(g1[1], 'secrets'), []);

  // A config travels the same way, with the first task that uses it.
  await api.createService({ spec: makeSpec('api', on('h1', { configs: [configRef('cfg')] })) });
  await until(() => g1.some((m) => m.configs.length > 0));
  t.deepEqual(text(g1.at(-1), 'configs'), ['cfg-data']);

  // No task of h1 uses the secret any more: forgotten; a new user gets it sent again.
  await api.removeService({ ref: 'web' });
  await until(() => {
    core.agentsReport(); // the agent stops them; then they leave its set
    return g1.flatMap((m) => m.removedTaskIds).length === 2;
  });
  const before = g1.length;
  await api.createService({ spec: makeSpec('web2', on('h1', { secrets: [secretRef('pw')] })) });
  await until(() => g1.slice(before).some((m) => m.tasks.some((x) => x.serviceName === 'web2')));
  t.deepEqual(
    g1.slice(before).flatMap((m) => text(m, 'secrets')),
    ['pw-data'],
  );
  t.true(
    g2.every((m) => m.secrets.length === 0 && m.configs.length === 0),
    'h2 never got a secret or config',
  );
});

test('a new stream (the agent reconnected) gets every payload again in its complete set', async (t) => {
  const { api, secrets, h1, on, secretRef, assigned, open } = await setup(t, new Keyring(randomBytes(32)));
  await secrets.create({ spec: { name: 'pw', labels: {}, data: Buffer.from('pw-data') } });
  await api.createService({ spec: makeSpec('web', on('h1', { secrets: [secretRef('pw')] })) });
  await assigned('web', 1);
  const first = open(h1);
  await until(() => first.length >= 1);
  const second = open(h1);
  await until(() => second.length >= 1);
  t.deepEqual(text(second[0], 'secrets'), ['pw-data']);
});

test('a secret that does not open (another cluster key) is not sent, and the log names it without data', async (t) => {
  const sealing = new Keyring(randomBytes(32));
  const { core, api, h1, on, secretRef, assigned, open, logs } = await setup(t, new Keyring(randomBytes(32)));
  // Created by a manager holding another cluster key.
  await new SecretsApi({ state: core.state, sync: async () => {}, keyring: sealing, now: () => 1 }).create({
    spec: { name: 'pw', labels: {}, data: Buffer.from('pw-data') },
  });
  await api.createService({ spec: makeSpec('web', on('h1', { secrets: [secretRef('pw')] })) });
  await assigned('web', 1);
  const g = open(h1);
  await until(() => g.length >= 1);
  t.is(g[0]!.tasks.length, 1);
  t.deepEqual(g[0]!.secrets, []);
  t.true(logs.some((l) => /cannot send secret pw to node/.test(l)));
  t.false(logs.join('\n').includes('pw-data'));
});
