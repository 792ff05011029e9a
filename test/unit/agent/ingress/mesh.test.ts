// The routing mesh with real loopback TCP: backends on 127.0.0.2..4 (one port, as task IPs
// with one target port), the mesh on 127.0.0.1:<published>, fed by the real EndpointCache.
import net from 'node:net';
import test, { type ExecutionContext } from 'ava';
import { PortConfig, PublishMode, ServiceEndpoints, type Endpoint } from '../../../../proto/gen/shoal.js';
import { EndpointCache, type WatchSender } from '../../../../agent/discovery/cache.js';
import { endpointAddress, IngressMesh, ingressPorts } from '../../../../agent/ingress/mesh.js';
import { freePort } from '../../../helpers/ports.js';
import { until } from '../../../helpers/until.js';
import { ManualClock } from '../../../helpers/manual-clock.js';

/** A cache fed by hand, as the Endpoints stream would. */
function feed(t: ExecutionContext) {
  const cache = new EndpointCache();
  t.teardown(() => cache.close());
  const send: WatchSender = () => {};
  cache.attach(send);
  const names = new Set<string>();
  return {
    cache,
    set(se: ServiceEndpoints) {
      names.add(se.name);
      cache.apply({ services: [se], hasServiceNames: true, serviceNames: [...names] }, send);
    },
    remove(name: string) {
      names.delete(name);
      cache.apply({ services: [], hasServiceNames: true, serviceNames: [...names] }, send);
    },
  };
}

function service(
  name: string,
  published: number,
  target: number,
  hosts: string[],
  extra: Partial<ServiceEndpoints> = {},
): ServiceEndpoints {
  return ServiceEndpoints.fromPartial({
    name,
    exists: true,
    networks: ['shoal'],
    ports: [
      PortConfig.fromPartial({
        protocol: 'tcp',
        targetPort: target,
        publishedPort: published,
        publishMode: PublishMode.INGRESS,
      }),
    ],
    endpoints: hosts.map((ip, i) => ({
      taskId: `t${i + 1}`,
      serviceName: name,
      addresses: [{ network: 'shoal', ip }],
    })) as Endpoint[],
    ...extra,
  } as ServiceEndpoints);
}

/** A backend on ip:port that answers each connection with its own address, then closes. */
async function backend(t: ExecutionContext, ip: string, port: number) {
  const seen: string[] = [];
  const server = net.createServer((s) => {
    seen.push(s.remoteAddress ?? '');
    s.end(`${ip}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, ip, () => resolve());
  });
  t.teardown(() => server.close());
  return { server, seen };
}

/** Connect to the mesh, send `data` (then FIN), read everything until the other side ends. */
function request(port: number, data = ''): Promise<{ body: string; error?: string }> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    let body = '';
    s.setTimeout(30_000, () => s.destroy(new Error('timeout'))); // a hang guard only
    s.on('connect', () => s.end(data));
    s.on('data', (c: Buffer) => (body += c.toString()));
    s.on('end', () => {
      s.destroy();
      resolve({ body });
    });
    s.on('error', (err: NodeJS.ErrnoException) => resolve({ body, error: err.code ?? err.message }));
  });
}

async function mesh(t: ExecutionContext, cache: EndpointCache, lines: string[] = [], clock?: ManualClock) {
  const m = new IngressMesh({
    source: cache,
    host: '127.0.0.1',
    log: (l) => lines.push(l),
    connectTimeoutMs: 300,
    bindRetryMs: 50,
    ...(clock !== undefined && { clock }),
  });
  t.teardown(() => m.close());
  m.start();
  return m;
}

test('round robin: each connection goes to the next endpoint, over all of them', async (t) => {
  const [published, target] = [await freePort(), await freePort()];
  const hosts = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
  const backends = await Promise.all(hosts.map((ip) => backend(t, ip, target)));
  const f = feed(t);
  f.set(service('web', published, target, hosts));
  const m = await mesh(t, f.cache);
  await until(() => m.listening().get(published) === 'web', 'listening');
  const answers: string[] = [];
  for (let i = 0; i < 6; i++) answers.push((await request(published)).body.trim());
  t.deepEqual(answers, [...hosts, ...hosts]);
  t.deepEqual(
    backends.map((b) => b.seen.length),
    [2, 2, 2],
  );
  t.is(m.proxied, 6);
});

test('a failed connect moves on to the next endpoint; none left -> the client is closed', async (t) => {
  const [published, target] = [await freePort(), await freePort()];
  await backend(t, '127.0.0.3', target);
  const f = feed(t);
  // 127.0.0.2 and 127.0.0.4 have nothing listening: refused.
  f.set(service('web', published, target, ['127.0.0.2', '127.0.0.3', '127.0.0.4']));
  const m = await mesh(t, f.cache);
  await until(() => m.listening().has(published));
  for (let i = 0; i < 4; i++) t.is((await request(published)).body.trim(), '127.0.0.3', `connection ${i}`);
  f.set(service('web', published, target, ['127.0.0.2', '127.0.0.4']));
  const dead = await request(published);
  t.is(dead.body, '');
  f.set(service('web', published, target, []));
  t.is((await request(published)).body, '', 'no endpoints: closed at once');
  t.is(m.refused, 2);
});

test('half-close both ways: the client ends its side, the backend still answers, then ends', async (t) => {
  const [published, target] = [await freePort(), await freePort()];
  // Reads everything until the client's FIN, then answers with it upper-cased.
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    let got = '';
    s.on('data', (c: Buffer) => (got += c.toString()));
    s.on('end', () => setImmediate(() => s.end(got.toUpperCase())));
  });
  await new Promise<void>((resolve) => server.listen(target, '127.0.0.2', () => resolve()));
  t.teardown(() => server.close());
  const f = feed(t);
  f.set(service('web', published, target, ['127.0.0.2']));
  const m = await mesh(t, f.cache);
  await until(() => m.listening().has(published));
  const big = 'x'.repeat(1_000_000);
  const r = await request(published, `hello ${big}`);
  t.is(r.error, undefined);
  t.is(r.body.length, `hello ${big}`.length);
  t.true(r.body.startsWith('HELLO XXX'));
});

test('a backend that resets ends the client too', async (t) => {
  const [published, target] = [await freePort(), await freePort()];
  const server = net.createServer((s) => s.once('data', () => s.resetAndDestroy()));
  await new Promise<void>((resolve) => server.listen(target, '127.0.0.2', () => resolve()));
  t.teardown(() => server.close());
  const f = feed(t);
  f.set(service('web', published, target, ['127.0.0.2']));
  const m = await mesh(t, f.cache);
  await until(() => m.listening().has(published));
  const r = await new Promise<string>((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port: published });
    s.on('connect', () => s.write('hi'));
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    s.on('close', () => resolve('closed'));
  });
  t.true(['ECONNRESET', 'closed', 'EPIPE'].includes(r), r);
});

test('listeners follow the services: closed when the service is gone or stops publishing the port', async (t) => {
  const [p1, p2, target] = [await freePort(), await freePort(), await freePort()];
  await backend(t, '127.0.0.2', target);
  const f = feed(t);
  const lines: string[] = [];
  const m = await mesh(t, f.cache, lines);
  f.set(service('web', p1, target, ['127.0.0.2']));
  f.set(service('api', p2, target, ['127.0.0.2']));
  await until(() => m.listening().size === 2, 'two listeners');
  t.is((await request(p2)).body.trim(), '127.0.0.2');

  f.set(
    service('api', p2, target, ['127.0.0.2'], {
      ports: [
        PortConfig.fromPartial({
          protocol: 'tcp',
          targetPort: target,
          publishedPort: p2,
          publishMode: PublishMode.HOST,
        }),
      ],
    }),
  );
  await until(() => !m.listening().has(p2), 'host mode now: ingress listener closed');
  t.is((await request(p2)).error, 'ECONNREFUSED');

  f.remove('web');
  await until(() => m.listening().size === 0, 'service gone');
  t.is((await request(p1)).error, 'ECONNREFUSED');
  t.true(
    lines.some((l) => l.includes(`port ${p1} closed`)),
    lines.join('\n'),
  );
});

test('a published port in use: one clear log line, retried until it is free', async (t) => {
  const [published, target] = [await freePort(), await freePort()];
  await backend(t, '127.0.0.2', target);
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(published, '127.0.0.1', () => resolve()));
  const f = feed(t);
  const lines: string[] = [];
  const clock = new ManualClock();
  const m = await mesh(t, f.cache, lines, clock);
  f.set(service('web', published, target, ['127.0.0.2']));
  await until(() => clock.pending().length === 1, 'the first bind failed, a retry is due');
  t.deepEqual(clock.pending(), [50], 'tried again after bindRetryMs');
  for (let retry = 1; retry <= 3; retry++) {
    clock.advance(50);
    await until(() => clock.pending().length === 1, `retry ${retry} failed and the next one is due`);
  }
  t.false(m.listening().has(published));
  const failures = lines.filter((l) => l.includes('cannot listen'));
  t.is(failures.length, 1, `four tries, one line:\n${lines.join('\n')}`);
  t.regex(failures[0] ?? '', new RegExp(`127\\.0\\.0\\.1:${published} for service web: EADDRINUSE`));
  await new Promise<void>((resolve) => blocker.close(() => resolve()));
  clock.advance(50);
  await until(() => m.listening().has(published), 'bound once free');
  t.deepEqual(clock.pending(), [], 'no more retries');
  t.is((await request(published)).body.trim(), '127.0.0.2');
});

test('ingress ports and endpoint addresses', (t) => {
  const se = ServiceEndpoints.fromPartial({
    name: 's',
    exists: true,
    networks: ['b', 'a'],
    ports: [
      { protocol: 'tcp', targetPort: 80, publishedPort: 8080, publishMode: PublishMode.INGRESS },
      { protocol: '', targetPort: 81, publishedPort: 8081, publishMode: PublishMode.INGRESS },
      { protocol: 'udp', targetPort: 53, publishedPort: 5353, publishMode: PublishMode.INGRESS },
      { protocol: 'tcp', targetPort: 82, publishedPort: 8082, publishMode: PublishMode.HOST },
      { protocol: 'tcp', targetPort: 83, publishedPort: 0, publishMode: PublishMode.INGRESS },
    ],
  });
  t.deepEqual(
    [...ingressPorts(se)],
    [
      [8080, 80],
      [8081, 81],
    ],
  );
  t.deepEqual([...ingressPorts({ ...se, exists: false })], []);
  const e = {
    addresses: [
      { network: 'a', ip: '10.1.0.2' },
      { network: 'b', ip: '10.2.0.2' },
    ],
  } as Endpoint;
  t.is(endpointAddress(e, ['b', 'a']), '10.2.0.2', "the service's first network");
  t.is(endpointAddress(e, ['c', 'a']), '10.1.0.2', 'the first one it has an address on');
  t.is(endpointAddress(e, ['c']), undefined);
  t.is(endpointAddress(e, []), '10.1.0.2');
});
