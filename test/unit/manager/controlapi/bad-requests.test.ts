// 1,000 generated malformed or oversized Control API requests (seeded: reproducible) against
// a real ControlApi over gRPC on a memory store: each is refused with a one-line message,
// the server stays up, the state (memory and store) is unchanged, and a normal CreateService
// right after succeeds. Raw over-limit messages are refused by the size cap.
import test from 'ava';
import {
  type Client,
  type ServiceError,
  Server,
  ServerCredentials,
  credentials,
  makeGenericClientConstructor,
  status,
} from '@grpc/grpc-js';
import { ControlClient, ControlService, type Service } from '../../../../proto/gen/shoal.js';
import { CLIENT_MESSAGE_LIMITS, MAX_REQUEST_BYTES, SERVER_MESSAGE_LIMITS } from '../../../../proto/limits.js';
import { Core, makeNode, makeSpec } from '../../../helpers/fixtures.js';
import { BadRequests, sendBad } from '../../../helpers/bad-requests.js';

const SEED = Number(process.env.SHOAL_FUZZ_SEED ?? 12_345);
const COUNT = 1_000;

async function setup() {
  const nodes = [1, 2, 3].map((i) => {
    const n = makeNode(`host${i}`);
    n.description!.address = `192.168.1.${10 + i}`;
    return n;
  });
  const core = new Core(nodes);
  const server = new Server(SERVER_MESSAGE_LIMITS);
  server.addService(ControlService, core.api.implementation());
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  const address = `127.0.0.1:${port}`;
  const client = new ControlClient(address, credentials.createInsecure(), CLIENT_MESSAGE_LIMITS);
  const close = async () => {
    client.close();
    server.forceShutdown();
    await core.close();
  };
  return { core, client, address, close };
}

/** The state as memory and store hold it, canonical. */
function fingerprint(core: Core): string {
  const snap = core.state.snapshot();
  const byId = <T extends { id?: string }>(xs: T[]) => [...xs].sort((a, b) => (a.id ?? '').localeCompare(b.id ?? ''));
  const memory = JSON.stringify({
    nodes: byId(snap.nodes),
    services: byId(snap.services),
    tasks: byId(snap.tasks),
    networks: byId(snap.networks),
    leases: [...snap.leases].sort((a, b) => `${a.networkId}${a.nodeId}`.localeCompare(`${b.networkId}${b.nodeId}`)),
  });
  const stored = JSON.stringify([...core.store.data.entries()].sort(([a], [b]) => a.localeCompare(b)));
  return `${memory}\n${stored}`;
}

test(`${COUNT} generated bad requests (seed ${SEED}) are refused, change nothing, and the server goes on`, async (t) => {
  t.timeout(120_000);
  const { core, client, close } = await setup();
  t.teardown(close);
  const base = await core.api.createService({ spec: makeSpec('base', { replicas: 2 }) });
  const net = await core.api.createNetwork({ spec: { name: 'backend', subnet: '', labels: {} } });
  core.settle();
  await core.writer.sync();
  const before = fingerprint(core);

  const gen = new BadRequests(SEED, { service: base.spec!.name, node: 'host1', network: net.spec!.name });
  const codes = new Map<string, number>();
  for (let i = 0; i < COUNT; i++) {
    const bad = gen.next();
    const r = await sendBad(client, bad);
    const what = `#${i} ${bad.method} (${bad.defect}, seed ${SEED})`;
    if (r.ok) {
      t.fail(`${what} was accepted: ${JSON.stringify(bad.request).slice(0, 300)}`);
      continue;
    }
    t.false(r.details.includes('\n'), `${what}: one line: ${r.details.slice(0, 200)}`);
    t.true(r.details.length < 600, `${what}: a short message (${r.details.length} characters)`);
    t.not(r.code, status.INTERNAL, `${what}: ${r.details}`);
    t.not(r.code, status.UNKNOWN, `${what}: ${r.details}`);
    const name = status[r.code] ?? String(r.code);
    codes.set(name, (codes.get(name) ?? 0) + 1);
  }
  t.log(`refusals by code: ${JSON.stringify(Object.fromEntries(codes))}`);
  t.true((codes.get('INVALID_ARGUMENT') ?? 0) > COUNT / 2, 'most are refused as invalid');

  core.settle();
  await core.writer.sync();
  t.is(fingerprint(core), before, 'state (memory and store) unchanged');

  const created = await new Promise<Service>((res, rej) =>
    client.createService({ spec: makeSpec('after'), resolveImage: 0, registryAuth: '' }, (e, s) =>
      e ? rej(e) : res(s),
    ),
  );
  t.is(created.spec?.name, 'after');
  t.truthy(core.state.serviceByName('after'));
});

test('a raw request over the 4 MiB cap is refused with RESOURCE_EXHAUSTED; the server goes on', async (t) => {
  const { client, address, close } = await setup();
  t.teardown(close);
  // A client without the send cap, sending raw bytes of the right shape: field 1 (spec), a
  // string field of MAX_REQUEST_BYTES + 1 KiB inside.
  const Raw = makeGenericClientConstructor({}, 'raw') as unknown as new (
    a: string,
    c: ReturnType<typeof credentials.createInsecure>,
    o: object,
  ) => Client;
  const raw = new Raw(address, credentials.createInsecure(), { 'grpc.max_send_message_length': -1 });
  t.teardown(() => raw.close());
  const call = (path: string, body: Buffer) =>
    new Promise<{ code: number; details: string }>((resolve) =>
      raw.makeUnaryRequest(
        path,
        (b: Buffer) => b,
        (b: Buffer) => b,
        body,
        (err) => resolve(err ? { code: err.code, details: err.details } : { code: status.OK, details: '' }),
      ),
    );
  const inner = Buffer.alloc(MAX_REQUEST_BYTES + 1024, 0x61);
  // ServiceSpec.image (field 2, length-delimited) inside CreateServiceRequest.spec (field 1)
  const spec = Buffer.concat([Buffer.from([0x12]), varint(inner.length), inner]);
  const body = Buffer.concat([Buffer.from([0x0a]), varint(spec.length), spec]);
  const r = await call('/shoal.v1.Control/CreateService', body);
  t.is(r.code, status.RESOURCE_EXHAUSTED, r.details);
  // garbage that is not a protobuf at all
  const garbage = await call('/shoal.v1.Control/CreateService', Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]));
  t.not(garbage.code, status.OK);
  // still serving
  const s = await new Promise<Service>((res, rej) =>
    client.createService({ spec: makeSpec('after'), resolveImage: 0, registryAuth: '' }, (e, v) =>
      e ? rej(e) : res(v),
    ),
  );
  t.is(s.spec?.name, 'after');
});

test('a spec of 2 MiB (under the gRPC cap, over the spec bound) is refused before anything is written', async (t) => {
  const { core, client, close } = await setup();
  t.teardown(close);
  await core.writer.sync();
  const commits = core.store.commits;
  const err = await new Promise<ServiceError>((res) =>
    client.createService(
      { spec: makeSpec('huge', { env: [`K=${'v'.repeat(2 * 2 ** 20)}`] }), resolveImage: 0, registryAuth: '' },
      (e) => res(e!),
    ),
  );
  t.is(err.code, status.INVALID_ARGUMENT);
  t.regex(err.details, /^invalid --env "K=v+"\.\.\.\(2097154 characters\): 2097154 bytes, at most 32 KiB$/);
  await core.writer.sync();
  t.is(core.store.commits, commits, 'nothing written');
  t.is(core.state.serviceByName('huge'), undefined);
});

function varint(n: number): Buffer {
  const bytes: number[] = [];
  while (n > 127) {
    bytes.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  bytes.push(n);
  return Buffer.from(bytes);
}
