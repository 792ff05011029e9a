// cli/commands/service/container-flags.ts: every container option flag of `service create`
// and `service update` as docker spells them, and each bad value refused in one line,
// naming the flag and the value, before any call.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { serviceCreate } from '../../../../../cli/commands/service/create.js';
import {
  CONTAINER_UPDATE_FLAGS,
  containerOptions,
  updateContainerOptions,
} from '../../../../../cli/commands/service/container-flags.js';
import { parseFlags } from '../../../../../cli/parse/flags.js';
import { UsageError } from '../../../../../cli/errors.js';
import { type Mount, MountType, ServiceSpec } from '../../../../../proto/gen/shoal.js';
import { parseAs, usageError } from '../../../../helpers/run-shoal.js';

const create = (line: string[]) => parseAs(serviceCreate, ['service', 'create', '--name', 'web', ...line, 'busybox']);
const bad = (line: string[]) => usageError(['service', 'create', '--name', 'web', ...line, 'busybox']);

const mount = (m: Partial<Mount>): Mount => ({
  type: MountType.VOLUME,
  source: '',
  target: '',
  readOnly: false,
  volumeNocopy: false,
  volumeLabels: {},
  tmpfsSizeBytes: 0,
  tmpfsMode: 0,
  bindPropagation: '',
  ...m,
});

test('create: --mount in docker CSV form, each type and option', (t) => {
  const { spec } = create([
    '--mount', 'type=volume,source=data,target=/data',
    '--mount', 'src=cache,dst=/cache,ro,volume-nocopy,volume-label=app=db,volume-label=x=y',
    '--mount', 'type=bind,source=/var/log,destination=/logs,readonly=true,bind-propagation=rslave',
    '--mount', 'type=tmpfs,target=/scratch,tmpfs-size=64m,tmpfs-mode=1770',
    '--mount', 'type=volume,target=/anon,readonly=false',
    '--mount', '"type=bind","src=/a,b",target=/ab',
  ]); // prettier-ignore
  t.deepEqual(spec.mounts, [
    mount({ source: 'data', target: '/data' }),
    mount({
      source: 'cache',
      target: '/cache',
      readOnly: true,
      volumeNocopy: true,
      volumeLabels: { app: 'db', x: 'y' },
    }),
    mount({ type: MountType.BIND, source: '/var/log', target: '/logs', readOnly: true, bindPropagation: 'rslave' }),
    mount({ type: MountType.TMPFS, target: '/scratch', tmpfsSizeBytes: 64 * 2 ** 20, tmpfsMode: 0o1770 }),
    mount({ target: '/anon' }),
    mount({ type: MountType.BIND, source: '/a,b', target: '/ab' }),
  ]);
});

test('create: user, workdir, entrypoint, hostname, labels, signal, read-only, init, caps, ulimits, dns, prefs', (t) => {
  const { spec } = create([
    '-u', '1000:1000', '-w', '/srv', '--entrypoint', `/bin/sh -c 'echo "a b"; exit 0'`,
    '--hostname', 'db1', '--container-label', 'tier=back', '--container-label', 'x=',
    '--stop-signal', 'int', '--read-only', '--init', '--cap-add', 'net_admin', '--cap-add', 'CAP_SYS_TIME',
    '--cap-drop', 'ALL', '--ulimit', 'nofile=1024:2048', '--ulimit', 'nproc=512',
    '--dns', '10.0.0.2', '--dns', '10.0.0.2', '--dns-search', 'example.com', '--dns-option', 'ndots:2',
    '--placement-pref', 'spread=node.labels.zone', '--placement-pref', 'spread=node.labels.rack',
    '--max-replicas-per-node', '2', '--limit-cpu', '0.5', '--limit-memory', '64M',
  ]); // prettier-ignore
  t.is(spec.user, '1000:1000');
  t.is(spec.workdir, '/srv');
  t.deepEqual(spec.entrypoint, ['/bin/sh', '-c', 'echo "a b"; exit 0']);
  t.is(spec.hostname, 'db1');
  t.deepEqual(spec.containerLabels, { tier: 'back', x: '' });
  t.is(spec.stopSignal, 'SIGINT');
  t.true(spec.readOnly);
  t.true(spec.init);
  t.deepEqual(spec.capAdd, ['CAP_NET_ADMIN', 'CAP_SYS_TIME']);
  t.deepEqual(spec.capDrop, ['ALL']);
  t.deepEqual(spec.ulimits, [
    { name: 'nofile', soft: 1024, hard: 2048 },
    { name: 'nproc', soft: 512, hard: 512 },
  ]);
  t.deepEqual(spec.dns, { nameservers: ['10.0.0.2'], search: ['example.com'], options: ['ndots:2'] });
  t.deepEqual(spec.preferences, [{ spread: 'node.labels.zone' }, { spread: 'node.labels.rack' }]);
  t.is(spec.maxReplicasPerNode, 2);
  t.deepEqual(spec.limits, { nanoCpus: 500_000_000, memoryBytes: 64 * 2 ** 20 });
});

test('create: defaults leave the image and the engine in charge', (t) => {
  const { spec } = create([]);
  t.deepEqual(spec.mounts, []);
  t.is(spec.user, '');
  t.deepEqual(spec.entrypoint, []);
  t.is(spec.init, undefined);
  t.false(spec.readOnly);
  t.is(spec.dns, undefined);
  t.is(spec.maxReplicasPerNode, 0);
  t.is(create(['--replicas-max-per-node', '3']).spec.maxReplicasPerNode, 3, "docker's name too");
  t.false(create(['--read-only=false']).spec.readOnly);
  t.false(create(['--init=false']).spec.init);
});

test('create: a capability both added and dropped is added (docker)', (t) => {
  const { spec } = create(['--cap-add', 'NET_ADMIN', '--cap-drop', 'NET_ADMIN', '--cap-drop', 'MKNOD']);
  t.deepEqual(spec.capAdd, ['CAP_NET_ADMIN']);
  t.deepEqual(spec.capDrop, ['CAP_MKNOD']);
});

test('create: --env-file lines before --env; comments, blanks, bare names from the environment', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-env-'));
  const a = join(dir, 'a.env');
  const b = join(dir, 'b.env');
  writeFileSync(a, '# comment\n\nA=1\n  B=  spaced \nFROM_ENV\nUNSET_HERE\nQ="quoted"\n');
  writeFileSync(b, 'A=2\r\nC=\n');
  const flags = parseFlags(
    ['--env-file', a, '--env-file', b, '-e', 'A=3'],
    serviceCreate.flags,
    'service create',
    false,
  ).flags;
  const out = containerOptions(flags, { FROM_ENV: 'x y' });
  t.deepEqual(out.env, ['A=1', 'B=  spaced ', 'FROM_ENV=x y', 'Q="quoted"', 'A=2', 'C=', 'A=3']);
  t.deepEqual(create(['-e', 'X=1']).spec.env, ['X=1'], 'without --env-file, --env as before');

  writeFileSync(join(dir, 'bad.env'), 'OK=1\nA B=2\n');
  t.regex(
    bad(['--env-file', join(dir, 'bad.env')]),
    /^invalid --env-file ".*bad\.env" line 2: variable "A B" contains spaces$/,
  );
  writeFileSync(join(dir, 'nokey.env'), '=2\n');
  t.regex(bad(['--env-file', join(dir, 'nokey.env')]), /line 1: no variable name$/);
  t.regex(bad(['--env-file', join(dir, 'missing.env')]), /^invalid --env-file ".*missing\.env": no such file$/);
});

test('create: every bad value is one line naming the flag and the value', (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['--mount', 'type=nfs,target=/x'], /^invalid --mount "type=nfs,target=\/x": unknown type "nfs"/],
    [['--mount', 'source=data'], /^invalid --mount "source=data": target is required/],
    [['--mount', 'target=data'], /^invalid --mount target "data": must be an absolute path$/],
    [['--mount', 'target=/x,colour=red'], /^invalid --mount "target=\/x,colour=red": unexpected key "colour"$/],
    [['--mount', 'target=/x,ro=maybe'], /ro takes true or false, got "maybe"/],
    [['--mount', 'type=tmpfs,target=/x,tmpfs-size=big'], /tmpfs-size takes a size/],
    [['--mount', 'type=tmpfs,target=/x,tmpfs-mode=999'], /tmpfs-mode takes an octal mode/],
    [['--mount', 'type=bind,target=/x'], /a bind mount needs a source/],
    [['--mount', 'type=volume,source=/etc,target=/x'], /invalid --mount source "\/etc": a volume name/],
    [['--mount', 'target=/x,volume-driver=nfs'], /only the local volume driver/],
    [['--mount', '"target=/x'], /unterminated quote/],
    [['--mount', 'target=/x', '--mount', 'type=tmpfs,target=/x'], /target "\/x" is mounted twice/],
    [['--user', 'a b'], /^invalid --user "a b"/],
    [['--workdir', 'srv'], /^invalid --workdir "srv": must be an absolute path$/],
    [['--hostname', 'a_b'], /^invalid --hostname "a_b"/],
    [['--stop-signal', 'SIGNOPE'], /^invalid --stop-signal "SIGNOPE"/],
    [['--cap-add', 'FLY'], /^invalid --cap-add "FLY": not a Linux capability/],
    [['--cap-drop', ''], /^invalid --cap-drop ""/],
    [['--ulimit', 'nofile'], /^invalid --ulimit "nofile": expected NAME=SOFT\[:HARD\]/],
    [['--ulimit', 'nofile=10:5'], /^invalid --ulimit "nofile=10:5": the soft limit must not exceed the hard limit$/],
    [['--ulimit', 'files=1'], /^invalid --ulimit "files=1:1": unknown name/],
    [['--dns', 'dns.google'], /^invalid --dns "dns.google": expected an IP address$/],
    [['--dns-search', 'a..b'], /^invalid --dns-search "a..b"/],
    [['--dns-option', 'a b'], /^invalid --dns-option "a b"/],
    [['--placement-pref', 'pack=node.labels.zone'], /^invalid --placement-pref "pack=node.labels.zone": only spread/],
    [['--placement-pref', 'spread=zone'], /^invalid --placement-pref "spread=zone"/],
    [['--max-replicas-per-node', '-1'], /^--max-replicas-per-node must be a non-negative integer, got "-1"$/],
    [['--mode', 'global', '--max-replicas-per-node', '1'], /can only be used with replicated mode/],
    [['--entrypoint', 'sh # x'], /^invalid --entrypoint "sh # x"/],
    [['--container-label', 'novalue'], /^invalid --container-label "novalue": expected KEY=VALUE$/],
  ];
  for (const [line, message] of cases) t.regex(bad(line), message, line.join(' '));
});

// ------------------------------------------------------------------ update

const update = (args: string[], spec: ServiceSpec): ServiceSpec =>
  updateContainerOptions(parseFlags(args, CONTAINER_UPDATE_FLAGS, 'service update', false).flags, spec);

const base = (): ServiceSpec =>
  ServiceSpec.fromPartial({
    name: 'web',
    image: 'busybox',
    mounts: [mount({ source: 'data', target: '/data' }), mount({ type: MountType.TMPFS, target: '/tmp' })],
    containerLabels: { a: '1', b: '2' },
    capAdd: ['CAP_NET_ADMIN'],
    capDrop: ['CAP_MKNOD'],
    ulimits: [{ name: 'nofile', soft: 1, hard: 2 }],
    dns: { nameservers: ['10.0.0.1'], search: ['a.example'], options: ['ndots:1'] },
    preferences: [{ spread: 'node.labels.zone' }],
    user: 'app',
  });

test('update: no flag changes nothing', (t) => {
  t.deepEqual(update([], base()), base());
});

test('update: -add/-rm pairs, docker semantics', (t) => {
  const next = update(
    [
      '--mount-rm', '/tmp/', '--mount-add', 'type=volume,source=data2,target=/data', '--mount-add', 'type=tmpfs,target=/run/x',
      '--container-label-rm', 'a', '--container-label-add', 'b=3', '--container-label-add', 'c=4',
      '--ulimit-add', 'nofile=10:20', '--ulimit-add', 'nproc=5', '--ulimit-rm', 'core',
      '--dns-rm', '10.0.0.1', '--dns-add', '10.0.0.9', '--dns-search-add', 'b.example', '--dns-option-rm', 'ndots:1',
      '--placement-pref-rm', 'spread=node.labels.zone', '--placement-pref-add', 'spread=node.labels.rack',
      '--user', '1000', '--workdir', '/w', '--entrypoint', 'tini --', '--hostname', 'h', '--stop-signal', 'SIGQUIT',
      '--read-only', '--init=false', '--max-replicas-per-node', '4',
    ],
    base(),
  ); // prettier-ignore
  t.deepEqual(next.mounts, [
    mount({ source: 'data2', target: '/data' }),
    mount({ type: MountType.TMPFS, target: '/run/x' }),
  ]);
  t.deepEqual(next.containerLabels, { b: '3', c: '4' });
  t.deepEqual(next.ulimits, [
    { name: 'nofile', soft: 10, hard: 20 },
    { name: 'nproc', soft: 5, hard: 5 },
  ]);
  t.deepEqual(next.dns, { nameservers: ['10.0.0.9'], search: ['a.example', 'b.example'], options: [] });
  t.deepEqual(next.preferences, [{ spread: 'node.labels.rack' }]);
  t.is(next.user, '1000');
  t.is(next.workdir, '/w');
  t.deepEqual(next.entrypoint, ['tini', '--']);
  t.is(next.hostname, 'h');
  t.is(next.stopSignal, 'SIGQUIT');
  t.true(next.readOnly);
  t.false(next.init);
  t.is(next.maxReplicasPerNode, 4);
  t.deepEqual(base().mounts.length, 2, 'the old spec is not changed');
});

test('update: --cap-add takes a capability off the drop list and --cap-drop off the add list', (t) => {
  const next = update(['--cap-add', 'mknod', '--cap-drop', 'NET_ADMIN', '--cap-drop', 'SYS_TIME'], base());
  t.deepEqual(next.capAdd, ['CAP_MKNOD']);
  t.deepEqual(next.capDrop, ['CAP_NET_ADMIN', 'CAP_SYS_TIME']);
  const all = update(['--cap-add', 'ALL'], base());
  t.deepEqual(all.capAdd, ['ALL']);
  t.deepEqual(all.capDrop, ['CAP_MKNOD']);
});

test('update: bad values refused before any call, naming the flag', (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['--mount-add', 'target=rel'], /^invalid --mount-add target "rel": must be an absolute path$/],
    [['--mount-rm', ''], /^--mount-rm must not be empty$/],
    [['--ulimit-add', 'nofile=x'], /^invalid --ulimit-add "nofile=x"/],
    [['--placement-pref-add', 'spread=x'], /^invalid --placement-pref-add "spread=x"/],
    [['--cap-add', 'FLY'], /^invalid --cap-add "FLY"/],
    [['--stop-signal', '99'], /^invalid --stop-signal "99"/],
    [['--container-label-add', 'x'], /^invalid --container-label-add "x": expected KEY=VALUE$/],
  ];
  for (const [line, message] of cases) {
    const err = t.throws(() => update(line, base()), { instanceOf: UsageError }, line.join(' '));
    t.regex(err?.message ?? '', message, line.join(' '));
  }
});
