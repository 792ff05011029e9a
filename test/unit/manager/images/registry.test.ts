// The registry client and the resolver against a fake registry on 127.0.0.1 (never a real one).
import test from 'ava';
import { ImageResolver } from '../../../../manager/images/resolver.js';
import { MAX_MANIFEST_BYTES, parseChallenge } from '../../../../manager/images/registry.js';
import { encodeRegistryAuth } from '../../../../proto/registry-auth.js';
import { FakeRegistry, PASSWORD, USER } from '../../../helpers/fake-registry.js';

async function withRegistry(
  opts: ConstructorParameters<typeof FakeRegistry>[0],
  fn: (r: FakeRegistry) => Promise<void>,
): Promise<void> {
  const r = await new FakeRegistry(opts).start();
  try {
    await fn(r);
  } finally {
    await r.close();
  }
}

const auth = (serveraddress: string) => encodeRegistryAuth({ username: USER, password: PASSWORD, serveraddress });

test('HEAD with the manifest media types; the stored form is NAME:TAG@DIGEST; a digest is kept', async (t) => {
  await withRegistry({}, async (r) => {
    const digest = r.put('shoal/busybox', 'latest');
    const resolver = new ImageResolver({ allowed: 'any' });
    t.is(await resolver.pin(`${r.host}/shoal/busybox`, ''), `${r.host}/shoal/busybox:latest@${digest}`);
    t.is(r.requests[0]?.method, 'HEAD');
    for (const type of ['manifest.list.v2+json', 'oci.image.index.v1+json', 'manifest.v2+json'])
      t.true(r.requests[0]!.accept.includes(type), type);
    const pinned = `${r.host}/shoal/busybox:latest@${digest}`;
    const before = r.requests.length;
    t.is(await resolver.pin(pinned, ''), pinned);
    t.is(r.requests.length, before, 'a reference with a digest is not resolved again');
  });
});

test('without Docker-Content-Digest the manifest is fetched and hashed; a huge one is refused', async (t) => {
  await withRegistry({ noDigestHeader: true }, async (r) => {
    const digest = r.put('a/b', 'v1');
    t.is(await new ImageResolver({ allowed: 'any' }).pin(`${r.host}/a/b:v1`, ''), `${r.host}/a/b:v1@${digest}`);
  });
  await withRegistry({ noDigestHeader: true, manifestBytes: MAX_MANIFEST_BYTES + 1 }, async (r) => {
    r.put('a/b', 'v1');
    await t.throwsAsync(new ImageResolver({ allowed: 'any' }).pin(`${r.host}/a/b:v1`, ''), {
      message: /over the 4194304-byte limit/,
    });
  });
});

test('basic auth: the credentials for that registry are sent; none or wrong ones are one-line errors', async (t) => {
  await withRegistry({ auth: 'basic' }, async (r) => {
    const digest = r.put('p/q', 'latest');
    const resolver = new ImageResolver({ allowed: 'any' });
    t.is(await resolver.pin(`${r.host}/p/q`, auth(r.host)), `${r.host}/p/q:latest@${digest}`);
    await t.throwsAsync(resolver.pin(`${r.host}/p/q`, ''), { message: `${r.host} requires credentials` });
    // Credentials for another registry are never sent here.
    await t.throwsAsync(resolver.pin(`${r.host}/p/q`, auth('other.example:5000')), {
      message: `${r.host} requires credentials`,
    });
    const wrong = encodeRegistryAuth({ username: USER, password: 'nope', serveraddress: r.host });
    await t.throwsAsync(resolver.pin(`${r.host}/p/q`, wrong), { message: `${r.host} refused the credentials for p/q` });
  });
});

test('bearer challenge: a token from the realm (with basic credentials), then the manifest', async (t) => {
  await withRegistry({ auth: 'bearer' }, async (r) => {
    const digest = r.put('p/q', 'v2');
    const resolver = new ImageResolver({ allowed: 'any' });
    t.is(await resolver.pin(`${r.host}/p/q:v2`, auth(r.host)), `${r.host}/p/q:v2@${digest}`);
    const token = r.requests.find((q) => q.url.startsWith('/token'));
    t.regex(token?.url ?? '', /service=fake/);
    t.regex(decodeURIComponent(token?.url ?? ''), /scope=repository:p\/q:pull/);
    t.is(r.requests.at(-1)?.authorization, 'Bearer tok-123');
    await t.throwsAsync(resolver.pin(`${r.host}/p/q:v2`, ''), { message: `${r.host} requires credentials` });
  });
  await withRegistry({ auth: 'bearer', realm: 'https://auth.example.invalid/token' }, async (r) => {
    r.put('p/q', 'v2');
    const only = new ImageResolver({ allowed: [r.host] });
    await t.throwsAsync(only.pin(`${r.host}/p/q:v2`, ''), {
      message: `${r.host}'s token server auth.example.invalid is not a registry this manager may contact`,
    });
  });
});

test('unknown tag, unreachable registry, a registry not allowed, a hanging one: errors, bounded', async (t) => {
  await withRegistry({}, async (r) => {
    await t.throwsAsync(new ImageResolver({ allowed: 'any' }).pin(`${r.host}/x/y:nope`, ''), {
      message: `manifest unknown: ${r.host}/x/y:nope not found`,
    });
    const before = r.requests.length;
    await t.throwsAsync(new ImageResolver({ allowed: ['10.213.0.1:5000'] }).pin(`${r.host}/x/y`, ''), {
      message: `registry ${r.host} is not in this manager's --resolve-image-registries`,
    });
    await t.throwsAsync(new ImageResolver({ allowed: ['10.213.0.1:5000'] }).pin('busybox', ''), {
      message: "registry docker.io is not in this manager's --resolve-image-registries",
    });
    t.is(r.requests.length, before, 'nothing was asked');
  });
  const closed = await new FakeRegistry().start();
  const host = closed.host;
  await closed.close();
  await t.throwsAsync(new ImageResolver({ allowed: 'any' }).pin(`${host}/x/y`, ''), {
    message: new RegExp(`^cannot reach ${host}: ECONNREFUSED$`),
  });
  await withRegistry({ hang: true }, async (r) => {
    const started = Date.now();
    await t.throwsAsync(new ImageResolver({ allowed: 'any', timeoutMs: 300 }).pin(`${r.host}/x/y`, ''), {
      message: `no answer from ${r.host} in time`,
    });
    t.true(Date.now() - started < 2_000, `${Date.now() - started} ms`);
  });
});

test('parseChallenge: scheme and quoted parameters', (t) => {
  t.deepEqual(parseChallenge('Bearer realm="https://a/token",service="registry.docker.io",scope="repository:x:pull"'), {
    scheme: 'bearer',
    params: { realm: 'https://a/token', service: 'registry.docker.io', scope: 'repository:x:pull' },
  });
  t.deepEqual(parseChallenge('Basic realm="Registry Realm"'), { scheme: 'basic', params: { realm: 'Registry Realm' } });
});
