// cli/commands/service/update.ts and update-config-flags.ts: flags applied over a service's
// spec; `service update` / `service rollback` through the real cli/bin/shoal on the fake.
import test from 'ava';
import { UpdateFailureAction, UpdateOrder, UpdateState } from '../../../../../proto/gen/shoal.js';
import { DEFAULT_UPDATE_CONFIG } from '../../../../../proto/spec-rules.js';
import { applyUpdateFlags, serviceUpdate, splitArgs } from '../../../../../cli/commands/service/update.js';
import { serviceCreate } from '../../../../../cli/commands/service/create.js';
import { fullSpec, NODE1, startFake } from '../../../../helpers/fake-control.js';
import { lines, parseAs, shoal, usageError } from '../../../../helpers/run-shoal.js';

const base = () =>
  fullSpec({
    name: 'web',
    image: 'busybox:1',
    replicas: 3,
    env: ['A=1', 'B=2'],
    labels: { keep: 'x', drop: 'y' },
    constraints: ['node.role==worker'],
    networks: ['front'],
    update: { ...DEFAULT_UPDATE_CONFIG },
    rollback: { ...DEFAULT_UPDATE_CONFIG },
  });

const apply = (args: string[]) =>
  applyUpdateFlags(base(), parseAs(serviceUpdate, ['service', 'update', ...args, 'web']).flags);

test('update flags change the spec: lists by -add/-rm, values replaced', (t) => {
  const s = apply([
    '--image',
    'busybox:2',
    '--args',
    'sh -c "echo hi; sleep 1"',
    '--replicas',
    '6',
    '--env-add',
    'B=3',
    '--env-add',
    'C=4',
    '--env-rm',
    'A',
    '--label-add',
    'new=1',
    '--label-rm',
    'drop',
    '--constraint-add',
    'node.hostname != host3',
    '--constraint-rm',
    'node.role==worker',
    '--publish-add',
    '8080:80',
    '--network-add',
    'back',
    '--network-rm',
    'front',
    '--update-parallelism',
    '2',
    '--update-order',
    'start-first',
    '--update-failure-action',
    'rollback',
    '--update-monitor',
    '3s',
    '--update-healthy-deadline',
    '10s',
    '--rollback-max-failure-ratio',
    '0.5',
  ]);
  t.is(s.image, 'busybox:2');
  t.deepEqual(s.command, ['sh', '-c', 'echo hi; sleep 1']);
  t.is(s.replicas, 6);
  t.deepEqual(s.env, ['B=3', 'C=4']);
  t.deepEqual(s.labels, { keep: 'x', new: '1' });
  t.deepEqual(s.constraints, ['node.hostname!=host3']);
  t.is(s.ports[0]?.publishedPort, 8080);
  t.deepEqual(s.networks, ['back']);
  t.like(s.update, {
    parallelism: 2,
    order: UpdateOrder.START_FIRST,
    failureAction: UpdateFailureAction.ROLLBACK,
    monitorMs: 3000,
    healthyDeadlineMs: 10_000,
    progressDeadlineMs: DEFAULT_UPDATE_CONFIG.progressDeadlineMs,
  });
  t.is(s.rollback?.maxFailureRatio, 0.5);
  t.is(apply(['--force']).forceUpdate, 1);
  t.deepEqual(apply([]), base(), 'no flag: the same spec');
  const published = apply(['--publish-add', '8080:80']);
  const flags = parseAs(serviceUpdate, ['service', 'update', '--publish-rm', '8080', 'web']).flags;
  t.deepEqual(applyUpdateFlags(published, flags).ports, []);
});

test('update flags are checked as the manager checks them', (t) => {
  t.is(
    usageError(['service', 'update', '--update-failure-action', 'explode', 'web']),
    'invalid --update-failure-action "explode": expected "pause", "continue" or "rollback"',
  );
  t.throws(() => apply(['--rollback-failure-action', 'rollback']), {
    message: 'invalid --rollback-failure-action "rollback": expected "pause" or "continue"',
  });
  t.throws(() => apply(['--update-max-failure-ratio', '1.5']), {
    message: 'invalid --update-max-failure-ratio 1.5: between 0 and 1',
  });
  t.throws(() => apply(['--update-order', 'whenever']), { message: /invalid --update-order "whenever"/ });
  t.throws(() => apply(['--update-delay', 'soon']), { message: /invalid --update-delay "soon"/ });
  t.throws(() => splitArgs('a | b'), { message: /no shell operators/ });
  t.is(
    usageError(['service', 'update', '--rollback', '--image', 'x', 'web']),
    '--rollback cannot be combined with --image',
  );
  t.is(
    usageError(['service', 'update', '--rollback', '--user', '1000', 'web']),
    '--rollback cannot be combined with --user',
  );
  t.is(
    usageError(['service', 'update', '--rollback', '--with-registry-auth', 'web']),
    '--rollback cannot be combined with --with-registry-auth',
  );
  t.is(usageError(['service', 'update']), 'service update requires exactly one SERVICE');
});

test('service create takes the --update-* and --rollback-* flags', (t) => {
  const c = parseAs(serviceCreate, [
    'service',
    'create',
    '--name',
    'web',
    '--update-parallelism',
    '0',
    '--update-delay',
    '2s',
    'busybox',
  ]);
  t.deepEqual(c.spec.update, { ...DEFAULT_UPDATE_CONFIG, parallelism: 0, delayMs: 2000 });
  t.is(c.spec.rollback, undefined, 'unset: the manager stores its defaults');
});

// ------------------------------------------------------------------ through shoal

test('service update follows the update: progress lines, then converged', async (t) => {
  const { fake, host } = await startFake(t, [NODE1]);
  fake.addService({ name: 'web', replicas: 2, image: 'busybox:1' });
  fake.updateScript.set('web', [{ state: UpdateState.UPDATING }, { state: UpdateState.COMPLETED }]);
  const r = await shoal(['service', 'update', '--image', 'busybox:2', 'web'], host);
  t.is(r.code, 0, r.stderr);
  const out = lines(r.stdout);
  t.is(out[0], 'web');
  t.true(out.includes('overall progress: 0 out of 2 tasks'));
  t.true(out.includes('1/2: new       [                                                  ]'));
  t.is(out.at(-1), 'verify: Service converged');
  const call = fake.calls.find((c) => c.method === 'updateService');
  t.like(call?.request, { ref: 'web', specVersion: 1, spec: { image: 'busybox:2' } });
  t.is(fake.services[0]?.specVersion, 2);
});

test('service update exits 1 when the update pauses or rolls back, with the reason', async (t) => {
  const { fake, host } = await startFake(t, [NODE1]);
  fake.addService({ name: 'web', replicas: 1 });
  const why = 'update paused due to failure or early termination of task web.1: task exited with code 1';
  fake.updateScript.set('web', [{ state: UpdateState.PAUSED, message: why }]);
  const paused = await shoal(['service', 'update', '--image', 'busybox:2', 'web'], host);
  t.is(paused.code, 1);
  t.is(paused.stderr, `service update paused: ${why}\n`);

  const back = 'update rolled back due to failure of task web.1: task exited with code 1';
  fake.updateScript.set('web', [
    {}, // the update's own GetService (the spec it starts from)
    { state: UpdateState.ROLLBACK_STARTED, message: back },
    { state: UpdateState.ROLLBACK_COMPLETED, message: back },
  ]);
  const rolled = await shoal(['service', 'update', '--image', 'busybox:3', 'web'], host);
  t.is(rolled.code, 1);
  t.true(lines(rolled.stdout).includes(`rollback: ${back}`));
  t.is(rolled.stderr, `rollback: ${back}\n`);
});

test('service rollback goes back a version each time, then refuses', async (t) => {
  const { fake, host } = await startFake(t, [NODE1]);
  fake.addService({ name: 'web', image: 'busybox:1' });
  for (const image of ['busybox:2', 'busybox:3'])
    t.is((await shoal(['service', 'update', '--detach', '--image', image, 'web'], host)).code, 0);
  fake.updateScript.set('web', [{ state: UpdateState.ROLLBACK_COMPLETED }]);
  const first = await shoal(['service', 'rollback', 'web'], host);
  t.is(first.code, 0, first.stderr);
  t.deepEqual(lines(first.stdout).slice(0, 2), ['web', 'rollback: manually requested rollback']);
  t.regex(fake.services[0]?.spec?.image ?? '', /^busybox:2@sha256:/, 'pinned by the (fake) manager');
  t.is((await shoal(['service', 'update', '--rollback', '-d', 'web'], host)).code, 0);
  t.is(fake.services[0]?.spec?.image, 'busybox:1');
  const none = await shoal(['service', 'rollback', 'web'], host);
  t.is(none.code, 1);
  t.is(none.stderr, 'shoal: service web has no previous version to roll back to\n');
});

test('service inspect shows the version, the update status and the versions kept', async (t) => {
  const { fake, host } = await startFake(t, [NODE1]);
  fake.addService({ name: 'web', image: 'busybox:1', update: { ...DEFAULT_UPDATE_CONFIG } });
  t.is((await shoal(['service', 'update', '-d', '--image', 'busybox:2', 'web'], host)).code, 0);
  const r = await shoal(['service', 'inspect', 'web'], host);
  t.is(r.code, 0, r.stderr);
  const [row] = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
  t.like(row, {
    specVersion: 2,
    previousVersions: 1,
    previousSpecVersion: 1,
    updateStatus: { state: 'updating', message: 'update in progress', completedAt: null },
    updateConfig: { parallelism: 1, failureAction: 'pause', order: 'stop-first', healthyDeadlineMs: 300_000 },
  });
});
