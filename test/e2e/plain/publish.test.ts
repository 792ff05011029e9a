// Published ports (issue 5), from the machine itself: `--publish 8080:80` makes every host
// accept connections on 8080 and forward them to the service's tasks on any host (routing
// mesh), a host with no task of the service included; `mode=host` publishes only where a
// task runs; a second service asking for a published port is refused at create time.
import test from 'ava';
import {
  HOSTS,
  IMAGE,
  containerIp,
  containersOf,
  docker,
  execIn,
  hostAddress,
  httpGet,
  removeService,
  services,
  shoal,
  shoalOk,
  uniqueName,
  waitFor,
  waitNodesReady,
  type Container,
} from '../../helpers/bed.js';

/** A page naming its container (its hostname), served by busybox httpd. */
const PAGE_SERVER = ['sh', '-c', 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www'];
const MESH_PORT = 8080;
const HOST_PORT = 8081;
const EMPTY_HOST = HOSTS[HOSTS.length - 1]!; // the mesh service runs everywhere but here
const HOST_MODE_HOST = HOSTS[1] ?? HOSTS[0]!;

const mesh = uniqueName('pubweb');
const hostMode = uniqueName('pubhost');
const rival = uniqueName('rival');

async function hostnames(cs: Container[]): Promise<Map<string, Container>> {
  const out = new Map<string, Container>();
  for (const c of cs) out.set((await docker(c.host).getContainer(c.id).inspect()).Config.Hostname, c);
  return out;
}

/** GET http://HOST:PORT/ -> the page (the serving container's hostname), or the error code. */
async function page(host: string, port: number): Promise<string> {
  try {
    const r = await httpGet(`http://${hostAddress(host)}:${port}/`, 5_000);
    return r.status === 200 ? r.body.trim() : `HTTP ${r.status}`;
  } catch (e) {
    return `error ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
  }
}

test.before(async () => {
  await waitNodesReady();
});

test.after.always(async () => {
  await Promise.all([mesh, hostMode, rival].map((s) => removeService(s).catch(() => {})));
});

test.serial(
  `--publish ${MESH_PORT}:80: port ${MESH_PORT} of every host answers with web's page, also where no task runs, spread over the tasks`,
  async (t) => {
    t.timeout(120_000);
    await shoalOk(
      'service',
      'create',
      '--name',
      mesh,
      '--replicas',
      '2',
      '--constraint',
      `node.hostname!=${EMPTY_HOST}`,
      '--publish',
      `${MESH_PORT}:80`,
      '--stop-grace-period',
      '1s',
      IMAGE,
      ...PAGE_SERVER,
    );
    const running = await waitFor(
      async () => {
        const cs = await containersOf(mesh);
        return cs.length === 2 ? cs : undefined;
      },
      60_000,
      `2 running containers of ${mesh}`,
    );
    t.false(
      running.some((c) => c.host === EMPTY_HOST),
      `no task of ${mesh} on ${EMPTY_HOST}`,
    );
    const names = await hostnames(running);

    for (const host of HOSTS) {
      // the create returned once the tasks ran; the mesh follows within moments
      const first = await waitFor(
        async () => {
          const p = await page(host, MESH_PORT);
          return names.has(p) ? p : undefined;
        },
        5_000,
        `${host}:${MESH_PORT} answers`,
      ).catch(() => page(host, MESH_PORT));
      t.true(
        names.has(first),
        `GET ${hostAddress(host)}:${MESH_PORT} -> "${first}" (web's containers: ${[...names.keys()].join(', ')})`,
      );
      // each request is a new connection: the connections of one host reach both tasks
      const seen = new Map<string, number>();
      for (let i = 0; i < 10; i++) {
        const p = await page(host, MESH_PORT);
        seen.set(p, (seen.get(p) ?? 0) + 1);
      }
      const served = [...seen.keys()];
      t.true(
        served.every((p) => names.has(p)),
        `${host}: every reply is web's page: ${JSON.stringify([...seen])}`,
      );
      t.is(
        served.filter((p) => names.has(p)).length,
        2,
        `${host}: 10 connections reached both tasks: ${JSON.stringify([...seen])}`,
      );
    }
  },
);

test.serial(
  'SRV records: NAME and _NAME._tcp name each task (<task id>.tasks.NAME) with the target port, from a container on its network',
  async (t) => {
    const running = await waitFor(
      async () => {
        const cs = await containersOf(mesh);
        return cs.length === 2 ? cs : undefined;
      },
      60_000,
      `2 running containers of ${mesh}`,
    );
    const asker = running[0]!;
    const want = running.map((c) => `80 ${c.taskId}.tasks.${mesh}`).sort();
    for (const name of [mesh, `_${mesh}._tcp`, `tasks.${mesh}`]) {
      const r = await execIn(asker.host, asker.id, ['nslookup', '-type=srv', '-timeout=2', name], 15_000);
      // busybox: "NAME\tservice = PRIORITY WEIGHT PORT TARGET"
      const got = [...r.stdout.matchAll(/service = \d+ \d+ (\d+ \S+)/g)].map((m) => m[1]!).sort();
      t.deepEqual(got, want, `nslookup -type=srv ${name}:\n${r.stdout}${r.stderr}`);
    }
    const one = running[0]!;
    const r = await execIn(
      asker.host,
      asker.id,
      ['nslookup', '-type=a', '-timeout=2', `${one.taskId}.tasks.${mesh}`],
      15_000,
    );
    t.true(
      r.stdout.includes(`Address: ${await containerIp(one.host, one.id)}`),
      `the SRV target resolves to its task:\n${r.stdout}`,
    );
  },
);

test.serial(
  `published=${HOST_PORT},target=80,mode=host: reachable on the host running the task, refused on the others`,
  async (t) => {
    await shoalOk(
      'service',
      'create',
      '--name',
      hostMode,
      '--replicas',
      '1',
      '--constraint',
      `node.hostname==${HOST_MODE_HOST}`,
      '--publish',
      `published=${HOST_PORT},target=80,mode=host`,
      '--stop-grace-period',
      '1s',
      IMAGE,
      ...PAGE_SERVER,
    );
    const [task] = await waitFor(
      async () => {
        const cs = await containersOf(hostMode);
        return cs.length === 1 ? cs : undefined;
      },
      60_000,
      `the container of ${hostMode}`,
    );
    const name = (await docker(task!.host).getContainer(task!.id).inspect()).Config.Hostname;
    const p = await waitFor(
      async () => ((await page(HOST_MODE_HOST, HOST_PORT)) === name ? name : undefined),
      5_000,
      `${HOST_MODE_HOST}:${HOST_PORT}`,
    ).catch(() => page(HOST_MODE_HOST, HOST_PORT));
    t.is(p, name, `GET ${hostAddress(HOST_MODE_HOST)}:${HOST_PORT}`);
    for (const host of HOSTS.filter((h) => h !== HOST_MODE_HOST)) {
      t.is(await page(host, HOST_PORT), 'error ECONNREFUSED', `GET ${hostAddress(host)}:${HOST_PORT} (no task there)`);
    }
  },
);

test.serial(
  `a second service publishing ${MESH_PORT} is refused at create, and nothing of it is created`,
  async (t) => {
    const before = (await services()).map((s) => s.name).sort();
    t.true(before.includes(mesh), `${mesh} exists (it holds the port)`);
    for (const spec of [`${MESH_PORT}:80`, `published=${MESH_PORT},target=8000`]) {
      const r = await shoal(
        'service',
        'create',
        '--name',
        rival,
        '--publish',
        spec,
        '--stop-grace-period',
        '1s',
        IMAGE,
        ...PAGE_SERVER,
      );
      t.is(r.code, 1, `--publish ${spec}: exit ${r.code}\n${r.stdout}${r.stderr}`);
      t.true(
        r.stderr.includes(`port ${MESH_PORT}/tcp is already published by service ${mesh}`),
        `--publish ${spec}: stderr: ${r.stderr.trim()}`,
      );
    }
    const after = (await services()).map((s) => s.name);
    t.false(after.includes(rival), `no service ${rival} in service ls`);
    for (const s of before) t.true(after.includes(s), `${s} still there`);
    t.is((await shoal('service', 'inspect', rival)).code === 0, false, `no service ${rival}`);
    t.deepEqual(await containersOf(rival, { all: true }), [], `no container of ${rival} on any host`);
    // the port still reaches the first service
    const names = await hostnames(await containersOf(mesh));
    t.true(names.has(await page(EMPTY_HOST, MESH_PORT)), `${EMPTY_HOST}:${MESH_PORT} still serves ${mesh}`);
  },
);

test.serial('after service rm, the published ports are closed on every host', async (t) => {
  await removeService(mesh);
  await removeService(hostMode);
  for (const host of HOSTS) {
    for (const port of [MESH_PORT, HOST_PORT]) {
      const p = await waitFor(
        async () => {
          const r = await page(host, port);
          return r === 'error ECONNREFUSED' ? r : undefined;
        },
        5_000,
        `${host}:${port} closed`,
      ).catch(() => page(host, port));
      t.is(p, 'error ECONNREFUSED', `GET ${hostAddress(host)}:${port} after rm`);
    }
  }
});
