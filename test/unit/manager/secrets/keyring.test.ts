// Secrets at rest: AES-256-GCM seal/open, the data key wrapped by the cluster key, and what
// the store really holds (no plaintext, no unwrapped key, in any stored value).
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { OpenError, open, seal } from '../../../../manager/secrets/cipher.js';
import { Keyring, SECRETS_DATA_KEY } from '../../../../manager/secrets/keyring.js';
import { ClusterState } from '../../../../manager/store/cluster-state.js';
import { MemoryStore } from '../../../../manager/store/memory-store.js';
import { Writer } from '../../../../manager/store/writer.js';
import { ControlApi } from '../../../../manager/controlapi/control-api.js';
import { SecretsApi } from '../../../../manager/controlapi/secrets.js';

const PLAIN = 'correct-horse-battery-staple-PLAINTEXT';

test('seal/open round-trips; every seal has its own nonce', (t) => {
  const key = randomBytes(32);
  const a = seal(key, Buffer.from(PLAIN), 'shoal secret s1');
  const b = seal(key, Buffer.from(PLAIN), 'shoal secret s1');
  t.not(a.toString('hex'), b.toString('hex'));
  t.is(open(key, a, 'shoal secret s1').toString(), PLAIN);
  t.false(a.includes(Buffer.from(PLAIN)));
});

test('sealed data does not open with another key, other associated data, or one bit changed', (t) => {
  const key = randomBytes(32);
  const sealed = seal(key, Buffer.from(PLAIN), 'shoal secret s1');
  t.throws(() => open(randomBytes(32), sealed, 'shoal secret s1'), { instanceOf: OpenError });
  t.throws(() => open(key, sealed, 'shoal secret s2'), { instanceOf: OpenError });
  const tampered = Buffer.from(sealed);
  tampered[tampered.length - 1]! ^= 1;
  t.throws(() => open(key, tampered, 'shoal secret s1'), { instanceOf: OpenError });
  t.throws(() => open(key, Buffer.from([1, 2, 3]), 'shoal secret s1'), { instanceOf: OpenError });
});

test('the first secret creates one data key, stored wrapped; another cluster key cannot open it', (t) => {
  const state = new ClusterState();
  const clusterKey = randomBytes(32);
  const keyring = new Keyring(clusterKey);
  const sealed1 = keyring.sealSecret(state, 's1', Buffer.from(PLAIN));
  keyring.sealSecret(state, 's2', Buffer.from('other'));
  t.deepEqual([...state.keyring.keys()], [SECRETS_DATA_KEY]);
  const secret = { id: 's1', spec: { name: 'a', labels: {}, data: sealed1 }, size: 0, createdAtMs: 0, updatedAtMs: 0 };
  t.is(keyring.openSecret(state, secret).toString(), PLAIN);
  // A manager holding the same cluster key (a fresh Keyring, no cache) opens it too.
  t.is(new Keyring(clusterKey).openSecret(state, secret).toString(), PLAIN);
  t.throws(() => new Keyring(randomBytes(32)).openSecret(state, secret), { instanceOf: OpenError });
  // Moved to another secret's record, the sealed data does not open.
  t.throws(() => keyring.openSecret(state, { ...secret, id: 's2' }), { instanceOf: OpenError });
});

test('a raw read of every stored value shows neither the plaintext nor the data key', async (t) => {
  const store = new MemoryStore();
  const writer = new Writer(store);
  const state = new ClusterState(writer);
  const keyring = new Keyring(randomBytes(32));
  const api = new SecretsApi({ state, sync: () => writer.sync(), keyring, now: () => 1 });
  const created = await api.create({ spec: { name: 'db_pass', labels: {}, data: Buffer.from(PLAIN) } });
  await writer.sync();
  t.is(created.spec?.data.length, 0, 'the answer carries no data');
  t.is(created.size, PLAIN.length);
  const values = [...store.data.values()].join('\n');
  t.true(values.includes('db_pass'), 'the secret is stored');
  for (const needle of [PLAIN, Buffer.from(PLAIN).toString('base64'), Buffer.from(PLAIN).toString('hex')])
    t.false(values.includes(needle), `no ${needle.slice(0, 8)}... in etcd`);
  // The unwrapped data key is in no stored value either.
  const dataKey = (keyring as unknown as { unwrapped: Map<string, Buffer> }).unwrapped.values().next().value!;
  t.false(values.includes(dataKey.toString('base64')));
  t.false(values.includes(dataKey.toString('hex')));
  // And a manager that loads the store (a new leader) opens it with the same cluster key.
  const loaded = new ClusterState();
  loaded.load(await store.load());
  const stored = loaded.secretByName('db_pass')!;
  t.is(keyring.openSecret(loaded, stored).toString(), PLAIN);
  await writer.close();
});

test('without a keyring CreateSecret is unavailable, and nothing is stored', async (t) => {
  const state = new ClusterState();
  const api = new ControlApi({ state, sync: async () => {} });
  const impl = api.implementation();
  const err = await new Promise<{ code?: number; details?: string } | null>((resolve) =>
    impl.createSecret(
      { request: { spec: { name: 'x', labels: {}, data: Buffer.from('y') } }, getPeer: () => '' } as never,
      (e) => resolve(e),
    ),
  );
  t.regex(err?.details ?? '', /no cluster key/);
  t.is(state.secrets.size, 0);
});
