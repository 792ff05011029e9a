// The event publisher against a real nats-server: task, node, service and health subjects.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, JSONCodec } from 'nats';
import { NodeStatus } from '../../../../proto/gen/shoal.js';
import { TaskState } from '../../../../proto/task-state.js';
import { embeddedNats } from '../../../../manager/embedded.js';
import { EventPublisher } from '../../../../manager/events/publisher.js';
import { Core, makeNode, makeSpec } from '../../../helpers/fixtures.js';
import { freePort } from '../../../helpers/ports.js';

test('publishes task, node, service and health events', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-events-'));
  const port = await freePort();
  const nats = embeddedNats(dir, port, () => {});
  await nats.start();
  const url = `nats://127.0.0.1:${port}`;
  const sub = await connect({ servers: url });
  const codec = JSONCodec<Record<string, unknown>>();
  const got: { subject: string; data: Record<string, unknown> }[] = [];
  const s = sub.subscribe('shoal.events.>');
  void (async () => {
    for await (const m of s) got.push({ subject: m.subject, data: codec.decode(m.data) });
  })();
  await sub.flush();
  const publisher = new EventPublisher(url);
  publisher.connect();
  const core = new Core([makeNode('host1')]);
  const stopFollowing = publisher.followState(core.state);
  try {
    const until = async (cond: () => boolean) => {
      const end = Date.now() + 5000;
      while (!cond()) {
        if (Date.now() > end) throw new Error(`events so far: ${JSON.stringify(got.map((g) => g.subject))}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    // wait until the publisher is connected: a node change it must see
    await until(() => {
      core.state.putNode({ ...core.state.nodes.get('id-host1')!, status: NodeStatus.DOWN, updatedAtMs: Date.now() });
      core.state.putNode({ ...core.state.nodes.get('id-host1')!, status: NodeStatus.READY, updatedAtMs: Date.now() });
      return got.some((g) => g.subject === 'shoal.events.node.host1');
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
    await until(() => got.filter((g) => g.subject === 'shoal.events.health.web').length >= 2);
    const health = got.filter((g) => g.subject === 'shoal.events.health.web').map((g) => g.data.health);
    t.deepEqual(health, ['healthy', 'unhealthy']);
    t.true(got.some((g) => g.subject === 'shoal.events.service.web' && g.data.type === 'created'));
    const taskEvents = got.filter((g) => g.subject === 'shoal.events.task.web').map((g) => g.data.state);
    t.true(taskEvents.includes('running') && taskEvents.includes('failed'), JSON.stringify(taskEvents));
  } finally {
    stopFollowing();
    core.close();
    await publisher.close();
    await sub.close();
    await nats.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
