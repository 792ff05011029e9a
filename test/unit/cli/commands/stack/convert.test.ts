// cli/commands/stack/compose/convert.ts: every supported compose key in its ServiceSpec
// field, names STACK_NAME, the stack label, networks/volumes/secrets/configs and their errors.
import test from 'ava';
import { convertStack } from '../../../../../cli/commands/stack/compose/convert.js';
import { ComposeError, loadCompose } from '../../../../../cli/commands/stack/compose/load.js';
import {
  MountType,
  PublishMode,
  RestartCondition,
  ServiceMode,
  UpdateFailureAction,
  UpdateOrder,
} from '../../../../../proto/gen/shoal.js';

const FILES: Record<string, string> = {
  '/s/web.env': 'FROM_FILE=1\nA=from-file\n',
  '/s/token': 't0k',
  '/s/app.conf': 'x=1',
};
const readFile = (p: string): Buffer => {
  const text = FILES[p];
  if (text === undefined) throw new Error('ENOENT');
  return Buffer.from(text);
};

function convert(text: string, env = new Map<string, string>([['SHELL_VAR', 'from-shell']])) {
  const { compose } = loadCompose([{ path: '/s/stack.yml', text }], env);
  return convertStack(compose, { stack: 'app', readFile, env });
}

const FULL = `version: "3.8"
services:
  web:
    image: busybox:1
    command: httpd -f -p "8 0"
    entrypoint: ["/bin/sh", "-c"]
    env_file: web.env
    environment: {A: "1", SHELL_VAR: null}
    ports:
      - "8080:80"
      - {target: 53, published: 5353, protocol: udp, mode: host}
    networks:
      front: {aliases: [www]}
      back:
    volumes:
      - data:/data:ro
      - ./html:/html
      - {type: tmpfs, target: /cache, tmpfs: {size: 1m}}
      - {type: volume, source: shared, target: /shared, volume: {nocopy: true}}
    tmpfs: /run
    secrets: [token, {source: token, target: t2, uid: "1", gid: "2", mode: 0o400}]
    configs: [conf, {source: conf, target: /etc/app.conf}]
    healthcheck: {test: "wget -q localhost", interval: 5s, timeout: 2s, retries: 4, start_period: 1s}
    user: "1000:1000"
    working_dir: /srv
    hostname: web-host
    labels: [tier=front]
    stop_grace_period: 3s
    stop_signal: SIGINT
    read_only: true
    init: true
    cap_add: [NET_ADMIN]
    cap_drop: [ALL]
    ulimits: {nofile: {soft: 100, hard: 200}, nproc: 50}
    dns: 10.0.0.2
    dns_search: [example.internal]
    deploy:
      replicas: 3
      endpoint_mode: dnsrr
      labels: {team: a}
      placement:
        constraints: ["node.labels.zone != b"]
        preferences: [{spread: node.labels.zone}]
        max_replicas_per_node: 2
      resources:
        limits: {cpus: "0.5", memory: 64M}
        reservations: {memory: 32M}
      restart_policy: {condition: on-failure, delay: 2s, max_attempts: 3, window: 10s}
      update_config: {parallelism: 2, delay: 1s, failure_action: rollback, monitor: 3s, max_failure_ratio: 0.5, order: start-first}
      rollback_config: {parallelism: 0}
  agent:
    image: busybox
    healthcheck: {disable: true}
    deploy: {mode: global}
networks:
  front:
  back: {external: true, name: shared-back}
volumes:
  data: {labels: {keep: "yes"}}
  shared: {external: true}
secrets:
  token: {file: ./token}
configs:
  conf: {file: ./app.conf}
`;

test('every supported service key lands in its ServiceSpec field', (t) => {
  const { services, networks, files } = convert(FULL);
  const web = services.find((s) => s.name === 'app_web')!;
  t.is(web.image, 'busybox:1');
  t.deepEqual(web.command, ['httpd', '-f', '-p', '8 0']);
  t.deepEqual(web.entrypoint, ['/bin/sh', '-c']);
  t.deepEqual(web.env, ['A=1', 'FROM_FILE=1', 'SHELL_VAR=from-shell']);
  t.deepEqual(web.ports, [
    { protocol: 'tcp', targetPort: 80, publishedPort: 8080, publishMode: PublishMode.INGRESS },
    { protocol: 'udp', targetPort: 53, publishedPort: 5353, publishMode: PublishMode.HOST },
  ]);
  t.deepEqual(web.networks, ['app_front', 'shared-back']);
  t.deepEqual(web.networkAliases, [
    { network: 'app_front', aliases: ['web', 'www'] },
    { network: 'shared-back', aliases: ['web'] },
  ]);
  t.deepEqual(
    web.mounts.map((m) => [m.type, m.source, m.target, m.readOnly, m.volumeNocopy, m.tmpfsSizeBytes]),
    [
      [MountType.VOLUME, 'app_data', '/data', true, false, 0],
      [MountType.BIND, '/s/html', '/html', false, false, 0],
      [MountType.TMPFS, '', '/cache', false, false, 1024 * 1024],
      [MountType.VOLUME, 'shared', '/shared', false, true, 0],
      [MountType.TMPFS, '', '/run', false, false, 0],
    ],
  );
  t.deepEqual(web.mounts[0]!.volumeLabels, { keep: 'yes', 'com.docker.stack.namespace': 'app' });
  t.deepEqual(web.secrets, [
    { secretId: '', secretName: 'app_token', target: { name: 'token', uid: 0, gid: 0, mode: 0o444 } },
    { secretId: '', secretName: 'app_token', target: { name: 't2', uid: 1, gid: 2, mode: 0o400 } },
  ]);
  t.deepEqual(
    web.configs.map((c) => [c.configName, c.target?.name]),
    [
      ['app_conf', '/conf'],
      ['app_conf', '/etc/app.conf'],
    ],
  );
  t.deepEqual(web.health, {
    test: ['CMD-SHELL', 'wget -q localhost'],
    intervalMs: 5000,
    timeoutMs: 2000,
    retries: 4,
    startPeriodMs: 1000,
  });
  t.is(web.user, '1000:1000');
  t.is(web.workdir, '/srv');
  t.is(web.hostname, 'web-host');
  t.deepEqual(web.containerLabels, { tier: 'front', 'com.docker.stack.namespace': 'app' });
  t.deepEqual(web.labels, { team: 'a', 'com.docker.stack.namespace': 'app' });
  t.is(web.stopGracePeriodMs, 3000);
  t.is(web.stopSignal, 'SIGINT');
  t.true(web.readOnly);
  t.true(web.init);
  t.deepEqual(web.capAdd, ['NET_ADMIN']);
  t.deepEqual(web.capDrop, ['ALL']);
  t.deepEqual(web.ulimits, [
    { name: 'nofile', soft: 100, hard: 200 },
    { name: 'nproc', soft: 50, hard: 50 },
  ]);
  t.deepEqual(web.dns, { nameservers: ['10.0.0.2'], search: ['example.internal'], options: [] });
  t.is(web.mode, ServiceMode.REPLICATED);
  t.is(web.replicas, 3);
  t.deepEqual(web.constraints, ['node.labels.zone!=b']);
  t.deepEqual(web.preferences, [{ spread: 'node.labels.zone' }]);
  t.is(web.maxReplicasPerNode, 2);
  t.deepEqual(web.limits, { nanoCpus: 5e8, memoryBytes: 64 * 1024 * 1024 });
  t.deepEqual(web.reservations, { nanoCpus: 0, memoryBytes: 32 * 1024 * 1024 });
  t.deepEqual(web.restart, { condition: RestartCondition.ON_FAILURE, delayMs: 2000, maxAttempts: 3, windowMs: 10000 });
  t.deepEqual(web.update, {
    parallelism: 2,
    delayMs: 1000,
    failureAction: UpdateFailureAction.ROLLBACK,
    monitorMs: 3000,
    maxFailureRatio: 0.5,
    order: UpdateOrder.START_FIRST,
    healthyDeadlineMs: 300_000,
    progressDeadlineMs: 600_000,
  });
  t.is(web.rollback?.parallelism, 0, 'the rest: the defaults');
  t.is(web.rollback?.monitorMs, 5000);

  const agent = services.find((s) => s.name === 'app_agent')!;
  t.is(agent.mode, ServiceMode.GLOBAL);
  t.is(agent.replicas, 0);
  t.deepEqual(agent.health?.test, ['NONE']);
  t.deepEqual(agent.networks, ['app_default'], 'no networks: STACK_default');
  t.is(agent.update, undefined, "no update_config: the manager's defaults");
  t.is(agent.restart, undefined);

  t.deepEqual(
    networks.map((n) => [n.name, n.external]),
    [
      ['app_front', false],
      ['shared-back', true],
      ['app_default', false],
    ],
  );
  t.deepEqual(
    files.map((f) => [f.kind, f.name, f.data?.toString()]),
    [
      ['secret', 'app_token', 't0k'],
      ['config', 'app_conf', 'x=1'],
    ],
  );
});

test('conversion errors name the key', (t) => {
  const msg = (text: string): string =>
    t.throws(() => convert(`version: "3.8"\n${text}`), { instanceOf: ComposeError }).message;
  t.is(
    msg('services:\n  web:\n    command: x\n'),
    'services.web: image is required (stack deploy does not build images)',
  );
  t.is(
    msg('services:\n  web:\n    image: b\n    networks: [nope]\n'),
    'services.web.networks: refers to undefined network nope',
  );
  t.is(
    msg('services:\n  web:\n    image: b\n    volumes: ["nope:/x"]\n'),
    'services.web.volumes.0: refers to undefined volume nope',
  );
  t.is(
    msg('services:\n  web:\n    image: b\n    secrets: [nope]\n'),
    'services.web.secrets.0: refers to undefined secret nope',
  );
  t.regex(
    msg('services:\n  web:\n    image: b\n    ports: ["80"]\n'),
    /^services\.web\.ports\.0: invalid port "80": a published port is required/,
  );
  t.is(
    msg('services:\n  web:\n    image: b\n    stop_grace_period: soon\n'),
    'services.web.stop_grace_period: invalid duration "soon" (e.g. 10s, 500ms or 1m30s)',
  );
  t.regex(
    msg('services:\n  web:\n    image: b\n    deploy: {placement: {constraints: ["zone=a"]}}\n'),
    /^services\.web\.deploy\.placement\.constraints: /,
  );
  t.is(
    msg('services:\n  web:\n    image: b\n    deploy: {mode: global, replicas: 2}\n'),
    'services.web.deploy.replicas: replicas can only be used with mode replicated',
  );
  t.is(
    msg('networks:\n  n: {driver: bridge}\n'),
    'networks.n.driver: "bridge" is not supported (shoal networks are overlay)',
  );
  t.regex(msg('secrets:\n  s: {file: ./missing}\n'), /^secrets\.s\.file: cannot read \/s\/missing/);
});
