import test from 'ava';
import { familiarString, parseImageRef, registryOf } from '../../../../proto/image-ref.js';
import { decodeRegistryAuth, encodeRegistryAuth, registryHost } from '../../../../proto/registry-auth.js';

const D = `sha256:${'a'.repeat(64)}`;

test("docker's reference rules: docker.io, library/, latest, registries with a port, digests kept", (t) => {
  t.deepEqual(parseImageRef('busybox'), { domain: 'docker.io', path: 'library/busybox', tag: 'latest', digest: '' });
  t.deepEqual(parseImageRef('foo/bar:1.2'), { domain: 'docker.io', path: 'foo/bar', tag: '1.2', digest: '' });
  t.deepEqual(parseImageRef('10.213.0.1:5000/shoal/busybox'), {
    domain: '10.213.0.1:5000',
    path: 'shoal/busybox',
    tag: 'latest',
    digest: '',
  });
  t.deepEqual(parseImageRef('localhost/x:y'), { domain: 'localhost', path: 'x', tag: 'y', digest: '' });
  t.deepEqual(parseImageRef(`busybox@${D}`), { domain: 'docker.io', path: 'library/busybox', tag: '', digest: D });
  t.deepEqual(parseImageRef(`index.docker.io/library/busybox:1@${D}`).domain, 'docker.io');
  t.is(familiarString({ ...parseImageRef('busybox'), digest: D }), `busybox:latest@${D}`);
  t.is(familiarString(parseImageRef('docker.io/library/busybox:1')), 'busybox:1');
  t.is(familiarString(parseImageRef('r.example:5000/a/b')), 'r.example:5000/a/b:latest');
  t.is(registryOf('busybox'), 'docker.io');
  t.is(registryOf('10.213.0.1:5001/shoal/private:latest'), '10.213.0.1:5001');
});

test('bad references are refused with one line naming the reference', (t) => {
  for (const bad of ['', 'Busybox', 'a b', 'busybox:', 'busybox@sha256:abc', 'x/:t', `a:${'t'.repeat(129)}`]) {
    const e = t.throws(() => parseImageRef(bad), undefined, bad);
    t.regex(e?.message ?? '', /^invalid image reference ".*": [^\n]+$/);
  }
});

test('X-Registry-Auth: base64url JSON round trip, bounded, registry hosts normalised', (t) => {
  const auth = { username: 'u', password: 'p?>~', serveraddress: '10.213.0.1:5001' };
  const text = encodeRegistryAuth(auth);
  t.regex(text, /^[A-Za-z0-9_-]+={0,2}$/);
  t.is(text.length % 4, 0, "padded, as Go's base64.URLEncoding (dockerd) needs");
  t.deepEqual(decodeRegistryAuth(text), auth);
  t.deepEqual(decodeRegistryAuth(Buffer.from(JSON.stringify(auth)).toString('base64')), auth);
  t.throws(() => decodeRegistryAuth('!!'), { message: 'registry auth is not base64' });
  t.throws(() => decodeRegistryAuth(Buffer.from('[1]').toString('base64')), {
    message: 'registry auth is not base64 of a JSON object',
  });
  t.throws(() => decodeRegistryAuth('a'.repeat(20_000)), { message: /over the 16384-byte limit/ });
  t.is(registryHost('https://index.docker.io/v1/'), 'docker.io');
  t.is(registryHost('http://10.213.0.1:5001'), '10.213.0.1:5001');
});
