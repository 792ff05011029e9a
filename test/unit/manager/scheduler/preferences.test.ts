// --placement-pref spread=... (rank/spread.ts) and --max-replicas-per-node (filters/max-replicas.ts)
// through the control API and the scheduler, as a user sees them: where tasks land, why not.
import test from 'ava';
import { ServiceMode } from '../../../../proto/gen/shoal.js';
import { TaskState } from '../../../../proto/task-state.js';
import { Core, makeNode, makeSpec } from '../../../helpers/fixtures.js';

const zones = () => [
  makeNode('host1', { labels: { zone: 'a' } }),
  makeNode('host2', { labels: { zone: 'a' } }),
  makeNode('host3', { labels: { zone: 'a' } }),
  makeNode('host4', { labels: { zone: 'b' } }),
];

function byZone(core: Core, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of core.live(name)) {
    const zone = core.state.nodes.get(t.nodeId)?.labels.zone ?? '(none)';
    out[zone] = (out[zone] ?? 0) + 1;
  }
  return out;
}

test('spread=node.labels.zone: even over the zones, not over the nodes', async (t) => {
  const core = new Core(zones());
  const spec = makeSpec('web', { replicas: 6, preferences: [{ spread: 'node.labels.zone' }] });
  await core.api.createService({ spec });
  core.settle();
  t.deepEqual(byZone(core, 'web'), { a: 3, b: 3 });
  t.deepEqual(core.spread('web'), { host1: 1, host2: 1, host3: 1, host4: 3 });
});

test('without the preference the same service spreads over the nodes', async (t) => {
  const core = new Core(zones());
  await core.api.createService({ spec: makeSpec('web', { replicas: 8 }) });
  core.settle();
  t.deepEqual(core.spread('web'), { host1: 2, host2: 2, host3: 2, host4: 2 });
});

test('nodes without the label form one group', async (t) => {
  const core = new Core([...zones(), makeNode('host5'), makeNode('host6')]);
  await core.api.createService({
    spec: makeSpec('web', { replicas: 6, preferences: [{ spread: 'node.labels.zone' }] }),
  });
  core.settle();
  t.deepEqual(byZone(core, 'web'), { a: 2, b: 2, '(none)': 2 });
  const s = core.spread('web');
  t.is((s.host5 ?? 0) + (s.host6 ?? 0), 2);
  t.is(s.host5, 1, 'inside a group, the usual spread');
});

test('nested preferences: zone, then rack within each zone', async (t) => {
  const core = new Core([
    makeNode('host1', { labels: { zone: 'a', rack: '1' } }),
    makeNode('host2', { labels: { zone: 'a', rack: '1' } }),
    makeNode('host3', { labels: { zone: 'a', rack: '2' } }),
    makeNode('host4', { labels: { zone: 'b', rack: '1' } }),
  ]);
  const preferences = [{ spread: 'node.labels.zone' }, { spread: 'node.labels.rack' }];
  await core.api.createService({ spec: makeSpec('web', { replicas: 8, preferences }) });
  core.settle();
  // zone a: 4 (rack 1: 2 over host1+host2, rack 2: 2 on host3); zone b: 4 on host4.
  t.deepEqual(core.spread('web'), { host1: 1, host2: 1, host3: 2, host4: 4 });
});

test('the spread counts tasks already running: scaling up fills the emptier zone', async (t) => {
  const core = new Core(zones());
  await core.api.createService({
    spec: makeSpec('web', { replicas: 3, constraints: ['node.labels.zone==a'] }),
  });
  core.settle();
  await core.api.createService({
    spec: makeSpec('db', { replicas: 2, preferences: [{ spread: 'node.labels.zone' }] }),
  });
  core.settle();
  t.deepEqual(byZone(core, 'db'), { a: 1, b: 1 });
  await core.api.scaleService({ ref: 'db', replicas: 4 });
  core.settle();
  t.deepEqual(byZone(core, 'db'), { a: 2, b: 2 });
});

test('max replicas per node: at most N per node, the rest pending with the reason', async (t) => {
  const core = new Core([makeNode('host1'), makeNode('host2'), makeNode('host3')]);
  await core.api.createService({ spec: makeSpec('web', { replicas: 5, maxReplicasPerNode: 1 }) });
  core.settle();
  t.deepEqual(core.spread('web'), { host1: 1, host2: 1, host3: 1 });
  const pending = core.live('web').filter((x) => x.status?.state === TaskState.PENDING);
  t.is(pending.length, 2);
  for (const p of pending) t.is(p.status?.err, 'no suitable node (3 nodes: max replicas per node limit (1) reached)');
});

test('max replicas per node 2 with a constraint to one node: 2 run, the rest wait', async (t) => {
  const core = new Core([makeNode('host1'), makeNode('host2')]);
  await core.api.createService({
    spec: makeSpec('web', { replicas: 3, maxReplicasPerNode: 2, constraints: ['node.hostname==host1'] }),
  });
  core.settle();
  t.deepEqual(core.spread('web'), { host1: 2 });
  const pending = core.live('web').filter((x) => x.status?.state === TaskState.PENDING);
  t.is(pending.length, 1);
  t.regex(pending[0]!.status?.err ?? '', /1 node: max replicas per node limit \(2\) reached/);
});

test('max replicas per node: a node joining takes the waiting task', async (t) => {
  const core = new Core([makeNode('host1')]);
  await core.api.createService({ spec: makeSpec('web', { replicas: 2, maxReplicasPerNode: 1 }) });
  core.settle();
  t.deepEqual(core.spread('web'), { host1: 1 });
  core.state.putNode(makeNode('host2'));
  core.settle();
  t.deepEqual(core.spread('web'), { host1: 1, host2: 1 });
});

test('the manager refuses max replicas per node on a global service, and a bad spread', async (t) => {
  const core = new Core([makeNode('host1')]);
  await t.throwsAsync(
    core.api.createService({ spec: makeSpec('g', { mode: ServiceMode.GLOBAL, maxReplicasPerNode: 1 }) }),
    { message: /--max-replicas-per-node can only be used with replicated mode/ },
  );
  await t.throwsAsync(core.api.createService({ spec: makeSpec('w', { preferences: [{ spread: 'zone' }] }) }), {
    message: /invalid --placement-pref "spread=zone"/,
  });
});
