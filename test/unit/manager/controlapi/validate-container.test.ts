// The manager checks every container option itself (proto/container-rules.ts through
// checkServiceSpec), whatever client sent the spec: INVALID_ARGUMENT with the CLI's message,
// nothing written. A valid spec is stored with every option as sent.
import test from 'ava';
import { status } from '@grpc/grpc-js';
import { type Mount, MountType, type ServiceSpec } from '../../../../proto/gen/shoal.js';
import { ApiError } from '../../../../manager/errors.js';
import { Core, makeNode, makeSpec } from '../../../helpers/fixtures.js';

const mount = (m: Partial<Mount>): Mount => ({
  type: MountType.VOLUME,
  source: '',
  target: '/data',
  readOnly: false,
  volumeNocopy: false,
  volumeLabels: {},
  tmpfsSizeBytes: 0,
  tmpfsMode: 0,
  bindPropagation: '',
  ...m,
});

const cases: Array<[string, Partial<ServiceSpec>, RegExp]> = [
  ['relative target', { mounts: [mount({ target: 'data' })] }, /^invalid --mount target "data": must be an absolute path$/],
  ['no target', { mounts: [mount({ target: '' })] }, /^invalid --mount: target is required$/],
  [
    'duplicate target',
    { mounts: [mount({ source: 'a' }), mount({ type: MountType.TMPFS, target: '/data/' })] },
    /target "\/data\/" is mounted twice/,
  ],
  ['unknown type', { mounts: [mount({ type: 7 as MountType })] }, /^invalid --mount type 7: expected volume, bind or tmpfs$/],
  ['bind without source', { mounts: [mount({ type: MountType.BIND })] }, /a bind mount needs a source/],
  ['bind relative source', { mounts: [mount({ type: MountType.BIND, source: 'x' })] }, /--mount source "x": must be an absolute path/],
  ['tmpfs with source', { mounts: [mount({ type: MountType.TMPFS, source: 'x' })] }, /a tmpfs mount takes no source/],
  ['bad volume name', { mounts: [mount({ source: '../etc' })] }, /invalid --mount source "..\/etc": a volume name/],
  ['tmpfs-size on a volume', { mounts: [mount({ tmpfsSizeBytes: 10 })] }, /tmpfs-size and tmpfs-mode are for type=tmpfs/],
  ['bad propagation', { mounts: [mount({ type: MountType.BIND, source: '/x', bindPropagation: 'up' })] }, /bind-propagation "up"/],
  ['too many mounts', { mounts: Array.from({ length: 65 }, (_, i) => mount({ target: `/m${i}` })) }, /too many --mount values: 65, at most 64/],
  ['bad user', { user: 'a b' }, /^invalid --user "a b"/],
  ['relative workdir', { workdir: 'app' }, /^invalid --workdir "app": must be an absolute path$/],
  ['bad hostname', { hostname: 'my_host!' }, /^invalid --hostname "my_host!"/],
  ['bad signal', { stopSignal: 'SIGFOO' }, /^invalid --stop-signal "SIGFOO"/],
  ['bad capability', { capAdd: ['CAP_FLY'] }, /^invalid --cap-add "CAP_FLY": not a Linux capability/],
  ['unknown ulimit', { ulimits: [{ name: 'files', soft: 1, hard: 1 }] }, /^invalid --ulimit "files=1:1": unknown name/],
  ['soft over hard', { ulimits: [{ name: 'nofile', soft: 10, hard: 5 }] }, /the soft limit must not exceed the hard limit/],
  ['ulimit twice', { ulimits: [{ name: 'nofile', soft: 1, hard: 1 }, { name: 'nofile', soft: 2, hard: 2 }] }, /"nofile" is given twice/],
  ['bad nameserver', { dns: { nameservers: ['dns.example'], search: [], options: [] } }, /^invalid --dns "dns.example": expected an IP address$/],
  ['bad dns option', { dns: { nameservers: [], search: [], options: ['nd ots'] } }, /^invalid --dns-option "nd ots"/],
  ['bad spread', { preferences: [{ spread: 'node.zone' }] }, /^invalid --placement-pref "spread=node.zone"/],
  ['too many prefs', { preferences: Array.from({ length: 9 }, () => ({ spread: 'node.hostname' })) }, /too many --placement-pref values/],
  ['big container label', { containerLabels: { a: 'x'.repeat(5000) } }, /--container-label value of "a"/],
  ['long entrypoint', { entrypoint: ['x'.repeat(200_000)] }, /^invalid --entrypoint/],
]; // prettier-ignore

for (const [what, fields, message] of cases) {
  test(`refused: ${what}`, async (t) => {
    const c = new Core([makeNode('host1')]);
    const err = await c.api.createService({ spec: makeSpec('web', fields) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.true(err instanceof ApiError, String(err));
    t.is((err as ApiError).code, status.INVALID_ARGUMENT);
    t.regex((err as ApiError).message, message);
    t.is(c.state.serviceByName('web'), undefined, 'nothing written');
  });
}

test('a valid spec keeps every container option', async (t) => {
  const c = new Core([makeNode('host1')]);
  const fields: Partial<ServiceSpec> = {
    mounts: [
      mount({ source: 'data', volumeLabels: { app: 'db' } }),
      mount({ type: MountType.TMPFS, target: '/tmp/x', tmpfsSizeBytes: 1 << 20, tmpfsMode: 0o1770 }),
      mount({ type: MountType.BIND, source: '/var/log', target: '/logs', readOnly: true, bindPropagation: 'rslave' }),
    ],
    user: '1000:1000',
    workdir: '/srv',
    entrypoint: ['/bin/sh', '-c'],
    hostname: 'db-1.example',
    containerLabels: { tier: 'back' },
    stopSignal: 'SIGINT',
    readOnly: true,
    init: true,
    capAdd: ['CAP_NET_ADMIN', 'SYS_TIME'],
    capDrop: ['ALL'],
    ulimits: [{ name: 'nofile', soft: 1024, hard: -1 }],
    dns: { nameservers: ['10.0.0.2', 'fd00::1'], search: ['example.com'], options: ['ndots:2'] },
    preferences: [{ spread: 'node.labels.zone' }],
    maxReplicasPerNode: 2,
  };
  const svc = await c.api.createService({ spec: makeSpec('web', fields) });
  for (const [k, v] of Object.entries(fields)) t.deepEqual(svc.spec?.[k as keyof ServiceSpec], v, k);
});
