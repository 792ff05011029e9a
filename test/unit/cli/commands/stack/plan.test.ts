// cli/commands/stack/plan.ts: what a deploy sends, against what the cluster holds: create
// what is missing, update what changed (with the spec_version read), leave the rest, prune.
import test from 'ava';
import { ServiceSpec, type Service, RestartCondition } from '../../../../../proto/gen/shoal.js';
import type { StackObjects } from '../../../../../cli/commands/stack/compose/convert.js';
import { ComposeError } from '../../../../../cli/commands/stack/compose/load.js';
import { planDeploy, sameSpec } from '../../../../../cli/commands/stack/plan.js';

const LABEL = { 'com.docker.stack.namespace': 'app' };
const spec = (name: string, over: Partial<ServiceSpec> = {}): ServiceSpec => ({
  ...ServiceSpec.fromPartial({}),
  name,
  image: 'busybox',
  labels: { ...LABEL },
  networks: ['app_default'],
  ...over,
});
/** As the manager stores it: its defaults filled in. */
const stored = (s: ServiceSpec, id: string, specVersion = 4): Service => ({
  id,
  spec: {
    ...s,
    restart: s.restart ?? { condition: RestartCondition.ANY, delayMs: 1000, maxAttempts: 0, windowMs: 0 },
    stopGracePeriodMs: s.stopGracePeriodMs ?? 10_000,
    image: `${s.image}@sha256:${'a'.repeat(64)}`,
  },
  specVersion,
  createdAtMs: 0,
  updatedAtMs: 0,
  updateStatus: undefined,
  previousVersions: [],
  hasRegistryAuth: false,
});

const objects = (services: ServiceSpec[]): StackObjects => ({
  networks: [{ name: 'app_default', external: false, labels: { ...LABEL } }],
  files: [{ kind: 'secret', name: 'app_token', external: false, labels: { ...LABEL }, data: Buffer.from('x') }],
  services,
});

test('a first deploy creates networks, then secrets, then services', (t) => {
  const plan = planDeploy(
    objects([spec('app_web'), spec('app_db')]),
    { services: [], networks: [], secrets: [], configs: [] },
    'app',
    false,
  );
  t.deepEqual(
    plan.actions.map((a) => a.kind),
    ['create-network', 'create-file', 'create-service', 'create-service'],
  );
});

test('redeploy: unchanged services are left alone, a changed one is updated with the version read, --prune removes the missing', (t) => {
  const web = spec('app_web');
  const db = spec('app_db', { env: ['A=1'] });
  const gone = spec('app_old');
  const other = spec('other-web', { labels: { 'com.docker.stack.namespace': 'other' } });
  const now = {
    services: [stored(web, 'w1'), stored(db, 'd1', 7), stored(gone, 'o1'), stored(other, 'x1')],
    networks: ['app_default'],
    secrets: ['app_token'],
    configs: [],
  };
  const changedDb = spec('app_db', { env: ['A=2'] });
  const plan = planDeploy(objects([web, changedDb]), now, 'app', false);
  t.deepEqual(plan.unchanged, ['app_web']);
  t.deepEqual(plan.actions, [
    { kind: 'update-service', id: 'd1', spec: { ...changedDb, forceUpdate: 0 }, specVersion: 7 },
  ]);

  const pruned = planDeploy(objects([web, db]), now, 'app', true);
  t.deepEqual(pruned.actions, [{ kind: 'remove-service', id: 'o1', name: 'app_old' }], "another stack's service stays");
});

test('sameSpec: what the manager fills in is no change; what the file says is', (t) => {
  const s = spec('app_web', {
    secrets: [{ secretId: '', secretName: 'app_token', target: { name: 'token', uid: 0, gid: 0, mode: 0o444 } }],
  });
  const kept = stored(s, 'w1').spec!;
  kept.secrets = kept.secrets.map((r) => ({ ...r, secretId: 'sec123' }));
  t.true(sameSpec(s, kept));
  t.false(sameSpec({ ...s, image: 'busybox:2' }, kept));
  t.false(sameSpec({ ...s, replicas: 5 }, kept));
  t.false(sameSpec({ ...s, stopGracePeriodMs: 1000 }, kept));
  t.false(sameSpec({ ...s, networkAliases: [{ network: 'app_default', aliases: ['web'] }] }, kept));
});

test('an external network, secret or config that does not exist stops the deploy before anything is sent', (t) => {
  const o = objects([spec('app_web')]);
  o.networks.push({ name: 'shared', external: true, labels: {} });
  t.throws(() => planDeploy(o, { services: [], networks: [], secrets: [], configs: [] }, 'app', false), {
    instanceOf: ComposeError,
    message:
      'network "shared" is declared as external, but could not be found. You need to create a network before the stack is deployed',
  });
  const f = objects([]);
  f.files = [{ kind: 'config', name: 'conf', external: true, labels: {} }];
  t.throws(() => planDeploy(f, { services: [], networks: ['app_default'], secrets: [], configs: [] }, 'app', false), {
    message: 'config "conf" is declared as external, but could not be found',
  });
});

test('sameSpec: label maps compare whatever their key order', (t) => {
  const a = spec('app_web', { labels: { a: '1', ...LABEL } });
  const b = stored(spec('app_web', { labels: { ...LABEL, a: '1' } }), 'w1').spec!;
  t.true(sameSpec(a, b));
});
