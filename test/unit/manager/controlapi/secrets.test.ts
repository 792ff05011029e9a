// Control's secrets and configs over a real grpc-js server: answers never carry a secret's
// data, names and sizes are checked, a service refers to them by name (resolved at create,
// refused when missing), and one in use cannot be removed.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { Server, ServerCredentials, credentials, status, type ServiceError } from '@grpc/grpc-js';
import {
  ControlClient,
  ControlService,
  type Config,
  type ListSecretsResponse,
  type Secret,
  type Service,
  type ServiceSpec,
} from '../../../../proto/gen/shoal.js';
import { ControlApi } from '../../../../manager/controlapi/control-api.js';
import { Keyring } from '../../../../manager/secrets/keyring.js';
import { MAX_CONFIG_BYTES, MAX_SECRET_BYTES } from '../../../../manager/secrets/rules.js';
import { Core, makeNode, makeSpec } from '../../../helpers/fixtures.js';

async function setup(t: { teardown(fn: () => Promise<void> | void): void }) {
  const core = new Core([makeNode('host1')]);
  const api = new ControlApi({
    state: core.state,
    sync: () => core.writer.sync(),
    keyring: new Keyring(randomBytes(32)),
    now: () => 1_000,
  });
  const server = new Server();
  server.addService(ControlService, api.implementation());
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  const client = new ControlClient(`127.0.0.1:${port}`, credentials.createInsecure());
  t.teardown(async () => {
    client.close();
    server.forceShutdown();
    await core.close();
  });
  const call = <T>(fn: (cb: (e: ServiceError | null, r: T) => void) => void) =>
    new Promise<T>((res, rej) => fn((e, r) => (e ? rej(e) : res(r))));
  const c = {
    createSecret: (name: string, data: string | Buffer) =>
      call<Secret>((cb) => client.createSecret({ spec: { name, labels: {}, data: Buffer.from(data) } }, cb)),
    getSecret: (ref: string) => call<Secret>((cb) => client.getSecret({ ref }, cb)),
    listSecrets: () => call<ListSecretsResponse>((cb) => client.listSecrets({}, cb)),
    removeSecret: (ref: string) => call((cb) => client.removeSecret({ ref }, cb)),
    createConfig: (name: string, data: string | Buffer) =>
      call<Config>((cb) => client.createConfig({ spec: { name, labels: {}, data: Buffer.from(data) } }, cb)),
    getConfig: (ref: string) => call<Config>((cb) => client.getConfig({ ref }, cb)),
    removeConfig: (ref: string) => call((cb) => client.removeConfig({ ref }, cb)),
    createService: (spec: ServiceSpec) =>
      call<Service>((cb) => client.createService({ spec, resolveImage: 0, registryAuth: '' }, cb)),
    removeService: (ref: string) => call((cb) => client.removeService({ ref }, cb)),
  };
  return { core, c };
}

async function refused(t: { throwsAsync: (p: Promise<unknown>) => Promise<unknown> }, p: Promise<unknown>) {
  const err = (await t.throwsAsync(p)) as ServiceError;
  return { code: err.code, details: err.details };
}

test('create, inspect and list show no data; the store holds it sealed', async (t) => {
  const { core, c } = await setup(t);
  const created = await c.createSecret('web_pass', 's3cr3t-value');
  t.is(created.spec?.name, 'web_pass');
  t.is(created.spec?.data.length, 0);
  t.is(created.size, 12);
  const got = await c.getSecret('web_pass');
  t.is(got.id, created.id);
  t.is(got.spec?.data.length, 0);
  t.is((await c.getSecret(created.id.slice(0, 6))).id, created.id, 'a unique id prefix finds it');
  const list = await c.listSecrets();
  t.deepEqual(
    list.secrets.map((s) => [s.spec?.name, s.spec?.data.length]),
    [['web_pass', 0]],
  );
  t.false([...core.store.data.values()].join('').includes('s3cr3t-value'));
  t.deepEqual(await refused(t, c.getSecret('nope')), { code: status.NOT_FOUND, details: 'secret nope not found' });
});

test('names and sizes are checked: Swarm limits, docker names, no duplicates', async (t) => {
  const { c } = await setup(t);
  await c.createSecret('max', Buffer.alloc(MAX_SECRET_BYTES, 1));
  const over = await refused(t, c.createSecret('over', Buffer.alloc(MAX_SECRET_BYTES + 1, 1)));
  t.is(over.code, status.INVALID_ARGUMENT);
  t.is(over.details, `secret over is ${MAX_SECRET_BYTES + 1} bytes: at most ${MAX_SECRET_BYTES} (500 KiB)`);
  t.regex((await refused(t, c.createSecret('empty', ''))).details ?? '', /secret empty has no data/);
  for (const bad of ['with space', '-dash', 'ünï', 'a/b', 'x'.repeat(65), ''])
    t.is((await refused(t, c.createSecret(bad, 'x'))).code, status.INVALID_ARGUMENT, bad);
  await c.createSecret('a.b-c_d', 'x');
  t.deepEqual(await refused(t, c.createSecret('max', 'x')), {
    code: status.ALREADY_EXISTS,
    details: 'secret max already exists',
  });
  await c.createConfig('cfg_max', Buffer.alloc(MAX_CONFIG_BYTES, 1));
  t.is((await refused(t, c.createConfig('cfg_over', Buffer.alloc(MAX_CONFIG_BYTES + 1, 1)))).code, 3);
});

test('a service using a missing secret or config is refused, naming it', async (t) => {
  const { c, core } = await setup(t);
  const spec = makeSpec('web', {
    secrets: [{ secretId: '', secretName: 'nope', target: undefined }],
  });
  t.deepEqual(await refused(t, c.createService(spec)), { code: status.NOT_FOUND, details: 'secret nope not found' });
  const spec2 = makeSpec('web', { configs: [{ configId: '', configName: 'gone', target: undefined }] });
  t.deepEqual(await refused(t, c.createService(spec2)), { code: status.NOT_FOUND, details: 'config gone not found' });
  t.is(core.state.services.size, 0);
});

test('references are resolved at create: ids, default targets and mode 0444; bad targets refused', async (t) => {
  const { c } = await setup(t);
  const secret = await c.createSecret('web_pass', 'pw');
  const config = await c.createConfig('nginx.conf', 'server {}');
  const service = await c.createService(
    makeSpec('web', {
      secrets: [
        { secretId: '', secretName: 'web_pass', target: undefined },
        { secretId: '', secretName: 'web_pass', target: { name: 'other', uid: 33, gid: 33, mode: 0o400 } },
      ],
      configs: [{ configId: '', configName: 'nginx.conf', target: undefined }],
    }),
  );
  t.deepEqual(service.spec?.secrets, [
    { secretId: secret.id, secretName: 'web_pass', target: { name: 'web_pass', uid: 0, gid: 0, mode: 0o444 } },
    { secretId: secret.id, secretName: 'web_pass', target: { name: 'other', uid: 33, gid: 33, mode: 0o400 } },
  ]);
  t.deepEqual(service.spec?.configs, [
    { configId: config.id, configName: 'nginx.conf', target: { name: '/nginx.conf', uid: 0, gid: 0, mode: 0o444 } },
  ]);
  const target = (name: string) => ({ name, uid: 0, gid: 0, mode: 0 });
  const cases: [Partial<ServiceSpec>, RegExp][] = [
    [{ secrets: [{ secretId: '', secretName: 'web_pass', target: target('a/b') }] }, /file name under \/run\/secrets/],
    [{ configs: [{ configId: '', configName: 'nginx.conf', target: target('etc/x') }] }, /absolute file path/],
    [{ configs: [{ configId: '', configName: 'nginx.conf', target: target('/a/../b') }] }, /absolute file path/],
    [
      {
        secrets: [
          { secretId: '', secretName: 'web_pass', target: undefined },
          { secretId: '', secretName: 'web_pass', target: undefined },
        ],
      },
      /\/run\/secrets\/web_pass is the target of two/,
    ],
    [
      { secrets: [{ secretId: '', secretName: 'web_pass', target: { name: 'x', uid: 0, gid: 0, mode: 0o1777 } }] },
      /invalid mode 1777/,
    ],
  ];
  for (const [over, re] of cases) {
    const err = await refused(t, c.createService(makeSpec('web2', over)));
    t.is(err.code, status.INVALID_ARGUMENT);
    t.regex(err.details ?? '', re);
  }
});

test('a secret or config in use by a service cannot be removed; once unused it can', async (t) => {
  const { c } = await setup(t);
  await c.createSecret('web_pass', 'pw');
  await c.createConfig('app', 'x=1');
  await c.createService(
    makeSpec('web', {
      secrets: [{ secretId: '', secretName: 'web_pass', target: undefined }],
      configs: [{ configId: '', configName: 'app', target: undefined }],
    }),
  );
  await c.createService(makeSpec('api', { secrets: [{ secretId: '', secretName: 'web_pass', target: undefined }] }));
  t.deepEqual(await refused(t, c.removeSecret('web_pass')), {
    code: status.FAILED_PRECONDITION,
    details: 'secret web_pass is in use by services api, web',
  });
  await c.removeService('api');
  t.is((await refused(t, c.removeSecret('web_pass'))).details, 'secret web_pass is in use by service web');
  t.is((await refused(t, c.removeConfig('app'))).details, 'config app is in use by service web');
  await c.removeService('web');
  await c.removeSecret('web_pass');
  await c.removeConfig('app');
  t.is((await refused(t, c.getSecret('web_pass'))).code, status.NOT_FOUND);
});

test('a config is returned with its data (configs are not confidential)', async (t) => {
  const { c } = await setup(t);
  await c.createConfig('app', 'x=1\n');
  const got = await c.getConfig('app');
  t.is(Buffer.from(got.spec!.data).toString(), 'x=1\n');
});
