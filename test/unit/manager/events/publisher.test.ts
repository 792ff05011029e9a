// The event publisher against a real nats-server: task, node, service and health subjects,
// and nothing more once the state's subscription is dropped.
import test from 'ava';
import { connect, JSONCodec } from 'nats';
import { natsOptions } from '../../../../manager/config/connections.js';
import { NodeStatus } from '../../../../proto/gen/shoal.js';
import { TaskState } from '../../../../proto/task-state.js';
import { EventPublisher } from '../../../../manager/events/publisher.js';
import { startNats } from '../../../helpers/control-plane.js';
import { Core, makeNode, makeSpec } from '../../../helpers/fixtures.js';
import { until } from '../../../helpers/until.js';

test('publishes task, node, service and health events; nothing after the subscription is dropped', async (t) => {
  const nats = await startNats('shoal-events-');
  const sub = await connect({ ...natsOptions(nats.auth), servers: nats.url });
  const codec = JSONCodec<Record<string, unknown>>();
  const got: { subject: string; data: Record<string, unknown> }[] = [];
  const s = sub.subscribe('shoal.events.>');
  void (async () => {
    for await (const m of s) got.push({ subject: m.subject, data: codec.decode(m.data) });
  })();
  await sub.flush();
  const publisher = new EventPublisher(nats.url, undefined, nats.auth);
  publisher.connect();
  const core = new Core([makeNode('host1')]);
  const stopFollowing = publisher.followState(core.state);
  const subjects = () => JSON.stringify(got.map((g) => g.subject));
  try {
    // wait until the publisher is connected: a node change it must see
    await until(() => got.some((g) => g.subject === 'shoal.events.node.host1'), 'the publisher connected', {
      pollMs: 20,
      tick: () => {
        core.state.putNode({ ...core.state.nodes.get('id-host1')!, status: NodeStatus.DOWN, updatedAtMs: Date.now() });
        core.state.putNode({ ...core.state.nodes.get('id-host1')!, status: NodeStatus.READY, updatedAtMs: Date.now() });
      },
    });
    await core.api.createService({
      spec: makeSpec('web', {
        replicas: 1,
        health: { test: ['CMD-SHELL', 'true'], intervalMs: 1000, timeoutMs: 1000, retries: 1, startPeriodMs: 0 },
      }),
    });
    core.settle();
    core.agentsReport(); // -> RUNNING: healthy
    const task = core.live('web')[0]!;
    core.report(task.id, TaskState.FAILED, { err: 'unhealthy', exitCode: 137 });
    await until(() => got.filter((g) => g.subject === 'shoal.events.health.web').length >= 2, subjects());
    const health = got.filter((g) => g.subject === 'shoal.events.health.web').map((g) => g.data.health);
    t.deepEqual(health, ['healthy', 'unhealthy']);
    t.true(got.some((g) => g.subject === 'shoal.events.service.web' && g.data.type === 'created'));
    const taskEvents = got.filter((g) => g.subject === 'shoal.events.task.web').map((g) => g.data.state);
    t.true(taskEvents.includes('running') && taskEvents.includes('failed'), JSON.stringify(taskEvents));

    // Unsubscribed (the leader term ended): a change of this state publishes nothing. The
    // control loop stops first (no more changes of its own), then a last node change is
    // waited for: NATS keeps one connection's order, so everything before it has arrived.
    await core.close();
    core.state.putNode({ ...core.state.nodes.get('id-host1')!, status: NodeStatus.DOWN, updatedAtMs: 1 });
    await until(
      () => got.at(-1)?.subject === 'shoal.events.node.host1' && got.at(-1)?.data.status === 'down',
      subjects(),
    );
    stopFollowing();
    const before = got.length;
    core.state.putNode({ ...core.state.nodes.get('id-host1')!, status: NodeStatus.READY, updatedAtMs: 2 });
    core.state.deleteService(core.state.serviceByName('web')!.id);
    await publisher.close(); // hands NATS whatever was still queued
    await sub.flush();
    t.is(got.length, before, `nothing published after the unsubscribe: ${subjects()}`);
  } finally {
    stopFollowing();
    await core.close();
    await publisher.close();
    await sub.close();
    await nats.close();
  }
});
