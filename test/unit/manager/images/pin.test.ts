// pinImage's modes, and registry credentials: sealed at rest, never in a Service, sent only
// to nodes running a task of their service, removed with it.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { ResolveImage, ServiceSpec, Task } from '../../../../proto/gen/shoal.js';
import { TaskState } from '../../../../proto/task-state.js';
import { pinImage, pinnedSpec } from '../../../../manager/images/pin.js';
import { ImageResolver } from '../../../../manager/images/resolver.js';
import { dropRegistryAuth, openRegistryAuth, storeRegistryAuth } from '../../../../manager/images/credentials.js';
import { PayloadSource } from '../../../../manager/dispatcher/payloads.js';
import { Keyring } from '../../../../manager/secrets/keyring.js';
import { ClusterState } from '../../../../manager/store/cluster-state.js';
import { encodeRegistryAuth } from '../../../../proto/registry-auth.js';
import { FakeRegistry } from '../../../helpers/fake-registry.js';

const spec = (image: string) => ServiceSpec.fromPartial({ name: 'web', image, replicas: 1 });

test('pinImage: always resolves, never keeps, changed only when the image differs; failures keep the tag', async (t) => {
  const r = await new FakeRegistry().start();
  try {
    const d1 = r.put('a/b', 'latest');
    const resolver = new ImageResolver({ allowed: 'any' });
    const image = `${r.host}/a/b:latest`;
    const pinned = `${image}@${d1}`;
    const base = { registryAuth: '', resolver };
    t.is((await pinImage({ ...base, spec: spec(image), resolveImage: ResolveImage.ALWAYS })).image, pinned);
    t.is((await pinImage({ ...base, spec: spec(image), resolveImage: ResolveImage.NEVER })).image, image);
    const previous = spec(image);
    t.is(
      (await pinImage({ ...base, spec: spec(image), resolveImage: ResolveImage.CHANGED, previous })).image,
      image,
      'changed: the same image as before is not resolved',
    );
    r.put('a/c', 'v2');
    const changed = await pinImage({
      ...base,
      spec: spec(`${r.host}/a/c:v2`),
      resolveImage: ResolveImage.CHANGED,
      previous,
    });
    t.regex(changed.image, /^127\.0\.0\.1:\d+\/a\/c:v2@sha256:[0-9a-f]{64}$/);
    // Unknown tag: the tag is kept (the CLI warns).
    t.is((await pinImage({ ...base, spec: spec(`${r.host}/a/b:nope`), resolveImage: 0 })).image, `${r.host}/a/b:nope`);
    // No resolver configured (unit tests, `--resolve-image-registries none`): nothing is contacted.
    const before = r.requests.length;
    t.is((await pinnedSpec(spec(image), {})).image, image);
    t.is(r.requests.length, before);
  } finally {
    await r.close();
  }
});

test('pinnedSpec refuses a bad resolve_image or registry_auth with one line', async (t) => {
  await t.throwsAsync(pinnedSpec(spec('busybox'), { resolveImage: 9 as ResolveImage }), {
    message: 'invalid resolve_image 9: expected always, changed or never',
  });
  await t.throwsAsync(pinnedSpec(spec('busybox'), { registryAuth: '%%%' }), {
    message: 'invalid registry_auth: registry auth is not base64',
  });
});

function task(id: string, serviceId: string, nodeId: string): Task {
  return Task.fromPartial({
    id,
    serviceId,
    nodeId,
    spec: spec('x'),
    desiredState: TaskState.RUNNING,
    status: { state: TaskState.ASSIGNED },
  });
}

test('credentials: sealed at rest, opened for the nodes running the service only, removed with it', (t) => {
  const state = new ClusterState();
  const keyring = new Keyring(randomBytes(32));
  const auth = encodeRegistryAuth({ username: 'shoal', password: 'sekrit', serveraddress: '10.213.0.1:5001' });
  t.false(storeRegistryAuth(state, keyring, 'svc1', ''), 'nothing sent, nothing stored');
  t.true(storeRegistryAuth(state, keyring, 'svc1', auth));
  const stored = JSON.stringify([...state.keyring.values()]);
  t.false(stored.includes(auth) || stored.includes('sekrit'), 'not in the clear at rest');
  t.is(openRegistryAuth(state, keyring, 'svc1'), auth);
  t.true(storeRegistryAuth(state, keyring, 'svc1', ''), 'an update without credentials keeps them');
  t.is(openRegistryAuth(state, keyring, 'svc1'), auth);

  const payloads = new PayloadSource(state, keyring, () => {});
  const onA = [task('t1', 'svc1', 'nodeA')];
  const onB = [task('t2', 'svc2', 'nodeB')];
  const sentA = new Set<string>();
  t.deepEqual(payloads.newFor(onA, sentA, 'nodeA').registryCredentials, [{ serviceId: 'svc1', auth }]);
  t.deepEqual(payloads.newFor(onA, sentA, 'nodeA').registryCredentials, [], 'once per stream');
  t.deepEqual(payloads.newFor(onB, new Set(), 'nodeB').registryCredentials, [], 'not to a node without its tasks');
  // New credentials (an update): sent again.
  const other = encodeRegistryAuth({ username: 'shoal', password: 'new', serveraddress: '10.213.0.1:5001' });
  storeRegistryAuth(state, keyring, 'svc1', other);
  t.deepEqual(payloads.newFor(onA, sentA, 'nodeA').registryCredentials, [{ serviceId: 'svc1', auth: other }]);

  dropRegistryAuth(state, 'svc1');
  t.is(openRegistryAuth(state, keyring, 'svc1'), undefined);
  t.deepEqual(payloads.newFor(onA, new Set(), 'nodeA').registryCredentials, []);
});

test('CreateService stores the credentials sealed: has_registry_auth only, nothing in the Service; rm drops them', async (t) => {
  const { ControlApi } = await import('../../../../manager/controlapi/control-api.js');
  const { MemoryStore } = await import('../../../../manager/store/memory-store.js');
  const { Writer } = await import('../../../../manager/store/writer.js');
  const writer = new Writer(new MemoryStore());
  const state = new ClusterState(writer);
  const keyring = new Keyring(randomBytes(32));
  const api = new ControlApi({ state, sync: () => writer.sync(), keyring });
  const auth = encodeRegistryAuth({ username: 'shoal', password: 'sekrit', serveraddress: '10.213.0.1:5001' });
  const service = await api.createService({ spec: spec('10.213.0.1:5001/p:1'), resolveImage: 0, registryAuth: auth });
  t.true(service.hasRegistryAuth);
  t.false(JSON.stringify(service).includes('sekrit') || JSON.stringify(service).includes(auth));
  t.is(openRegistryAuth(state, keyring, service.id), auth);
  await api.removeService({ ref: 'web' });
  t.is(openRegistryAuth(state, keyring, service.id), undefined);
  await t.throwsAsync(api.createService({ spec: spec('x'), registryAuth: 'not base64!' }), {
    message: 'invalid registry_auth: registry auth is not base64',
  });
  await writer.close();
});
