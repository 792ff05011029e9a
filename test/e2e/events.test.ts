// Endpoint events (issue 5): `shoal events --filter type=endpoint --format json`, followed
// live as a user would (the CLI runs for the whole test and is stopped at the end), prints
// `registered` while a service scales up and `deregistered` after one of its containers is
// killed; the same changes are published on NATS as shoal.events.endpoint.<service>.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { connect, JSONCodec, type NatsConnection } from 'nats';
import {
  bedNatsOptions,
  HTTPD,
  IMAGE,
  REPO,
  SHOAL_HOST,
  containersOf,
  docker,
  measured,
  removeService,
  shoalOk,
  tasks,
  uniqueName,
  waitFor,
  waitNodesReady,
} from '../helpers/bed.js';

interface Seen {
  at: number;
  json: Record<string, unknown>;
  line: string;
}

const name = uniqueName('ev');
const printed: Seen[] = [];
const published: Seen[] = [];
let cli: ChildProcess | undefined;
let cliErr = '';
let nc: NatsConnection | undefined;

/** What happened to the endpoint: `registered` / `deregistered`, wherever the JSON puts it. */
function action(e: Record<string, unknown>): string {
  const payload = (e.payload ?? (typeof e.payloadJson === 'string' ? JSON.parse(e.payloadJson) : undefined)) as
    Record<string, unknown> | undefined;
  for (const o of [e, payload ?? {}]) {
    for (const k of ['action', 'event', 'type', 'change']) {
      const v = o[k];
      if (typeof v === 'string' && /^(de)?registered$/.test(v)) return v;
    }
  }
  return '';
}

/** The task id the event is about. */
const taskOf = (e: Seen): string => {
  const m = /"(?:task|taskId|task_id)":"([a-z0-9]+)"/.exec(e.line);
  return m?.[1] ?? '';
};

const about = (list: Seen[], act: string, taskId: string, since = 0) =>
  list.find((e) => e.at >= since && action(e.json) === act && taskOf(e) === taskId && e.line.includes(name));

test.before(async () => {
  await waitNodesReady();
  // plain bed: the manager's embedded nats-server; --managers/--etcd: the bed's own (both need credentials)
  nc = await connect({ ...bedNatsOptions(), name: 'shoal-e2e-events' });
  const sub = nc.subscribe(`shoal.events.endpoint.${name}`);
  const codec = JSONCodec<Record<string, unknown>>();
  void (async () => {
    for await (const m of sub) {
      let json: Record<string, unknown> = {};
      try {
        json = codec.decode(m.data);
      } catch {
        // keep the subject only
      }
      published.push({ at: Date.now(), json, line: JSON.stringify(json) });
    }
  })();
  await nc.flush();
  cli = spawn(path.join(REPO, 'cli/bin/shoal'), ['events', '--filter', 'type=endpoint', '--format', 'json'], {
    env: { ...process.env, SHOAL_HOST },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  cli.stderr!.on('data', (d: Buffer) => (cliErr += d.toString()));
  createInterface({ input: cli.stdout! }).on('line', (line) => {
    if (line.trim() === '') return;
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(line) as Record<string, unknown>;
    } catch {
      // not JSON: kept as is, the test says so
    }
    printed.push({ at: Date.now(), json, line });
  });
  await sleep(2_000); // the stream is subscribed (nothing to wait on: no event is due yet)
  if (cli.exitCode !== null) throw new Error(`shoal events exited ${cli.exitCode}: ${cliErr}`);
});

test.after.always(async () => {
  cli?.kill('SIGTERM');
  await nc?.close();
  await removeService(name).catch(() => {});
});

const running = async (n: number) =>
  waitFor(
    async () => {
      const rows = (await tasks(name)).filter((r) => r.state === 'running' && r.desiredState === 'running');
      return rows.length === n ? rows : undefined;
    },
    60_000,
    `${n} running task(s) of ${name}`,
  );

test.serial(
  'shoal events --filter type=endpoint prints registered while a service scales and deregistered after a kill; NATS has them too',
  async (t) => {
    t.timeout(120_000);
    await shoalOk('service', 'create', '--name', name, '--replicas', '2', '--stop-grace-period', '1s', IMAGE, ...HTTPD);
    const two = await running(2);
    for (const task of two) {
      await waitFor(() => about(printed, 'registered', task.id), 10_000, `registered for ${task.id} printed`).catch(
        () => {},
      );
      t.truthy(
        about(printed, 'registered', task.id),
        `shoal events printed registered for ${task.id}:\n${printed.map((e) => e.line).join('\n')}\n${cliErr}`,
      );
    }

    await shoalOk('service', 'scale', `${name}=3`);
    const three = await running(3);
    const added = three.find((r) => !two.some((x) => x.id === r.id))!;
    await waitFor(() => about(printed, 'registered', added.id), 10_000, `registered for ${added.id}`).catch(() => {});
    t.truthy(about(printed, 'registered', added.id), `registered for the task the scale added (${added.id})`);

    const victim = (await containersOf(name))[0]!;
    const killedAt = Date.now();
    await docker(victim.host).getContainer(victim.id).kill();
    const gone = await waitFor(
      () => about(printed, 'deregistered', victim.taskId, killedAt),
      10_000,
      `deregistered for ${victim.taskId}`,
    ).catch(() => undefined);
    t.truthy(
      gone,
      `shoal events printed deregistered for the killed task ${victim.taskId}:\n${printed
        .slice(-5)
        .map((e) => e.line)
        .join('\n')}`,
    );
    if (gone) measured(t, 'docker kill -> deregistered printed by shoal events', gone.at - killedAt);

    // the filter holds: endpoint events only, each a JSON object naming its type
    t.true(printed.length >= 4, `${printed.length} events printed`);
    for (const e of printed) {
      t.true(Object.keys(e.json).length > 0, `a JSON object per line: ${e.line}`);
      t.notRegex(e.line, /"type":"(task|node|service|health)"/, `only endpoint events: ${e.line}`);
    }
    t.is(cli?.exitCode, null, `shoal events still follows: ${cliErr}`);

    // NATS: the documented subject carries the same changes
    for (const task of [...two, added])
      t.truthy(about(published, 'registered', task.id), `NATS shoal.events.endpoint.${name}: registered ${task.id}`);
    t.truthy(
      about(published, 'deregistered', victim.taskId),
      `NATS shoal.events.endpoint.${name}: deregistered ${victim.taskId}:\n${published.map((e) => e.line).join('\n')}`,
    );
  },
);
