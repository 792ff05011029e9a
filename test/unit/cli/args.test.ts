import test from 'ava';
import { type Command, DEFAULT_HOST, type Invocation, parseCommandLine, parseSubnet } from '../../../cli/args.js';
import { UsageError } from '../../../cli/errors.js';
import { Availability, RestartCondition, ServiceMode, TaskState } from '../../../proto/gen/shoal.js';

const parse = (line: string[], env: Record<string, string> = {}): Invocation => parseCommandLine(line, env);

function command<N extends Command['name']>(line: string[], name: N): Extract<Command, { name: N }> {
  const { command } = parse(line);
  if (command.name !== name) throw new Error(`expected ${name}, got ${command.name}`);
  return command as Extract<Command, { name: N }>;
}

function usageError(line: string[]): string {
  const err = (() => {
    try {
      parse(line);
    } catch (e) {
      return e;
    }
    throw new Error(`no error for ${line.join(' ')}`);
  })();
  if (!(err instanceof UsageError)) throw err;
  if (err.message.includes('\n')) throw new Error(`multi-line message: ${err.message}`);
  return err.message;
}

// ------------------------------------------------------------------ hosts

test('host: default, SHOAL_HOST, --host before and after the command, -H', (t) => {
  t.deepEqual(parse(['node', 'ls']).hosts, [DEFAULT_HOST]);
  t.deepEqual(parse(['node', 'ls'], { SHOAL_HOST: '10.213.0.1:4242' }).hosts, ['10.213.0.1:4242']);
  t.deepEqual(parse(['--host', 'a:1', 'node', 'ls'], { SHOAL_HOST: 'x:9' }).hosts, ['a:1']);
  t.deepEqual(parse(['node', 'ls', '--host', 'b:2']).hosts, ['b:2']);
  t.deepEqual(parse(['node', '--host=c:3', 'ls']).hosts, ['c:3']);
  t.deepEqual(parse(['-H', 'd:4', 'service', 'ls']).hosts, ['d:4']);
  // the one closest to the command wins, like a repeated flag
  t.deepEqual(parse(['--host', 'a:1', 'node', 'ls', '--host', 'b:2']).hosts, ['b:2']);
});

test('host: comma-separated list, default port for a bare host', (t) => {
  const inv = parse(['--host', '127.0.0.1:1, 127.0.0.2 ,[::1]:3', 'node', 'ls']);
  t.deepEqual(inv.hosts, ['127.0.0.1:1', '127.0.0.2:4242', '[::1]:3']);
  t.is(inv.hostLabel, '127.0.0.1:1, 127.0.0.2 ,[::1]:3');
  t.regex(usageError(['--host', ',', 'node', 'ls']), /^invalid manager address ","/);
});

test('--host after IMAGE belongs to the container command', (t) => {
  const inv = parse(['service', 'create', '--name', 'w', 'img', 'prog', '--host', 'x']);
  t.deepEqual(inv.hosts, [DEFAULT_HOST]);
  t.deepEqual((inv.command as Extract<Command, { name: 'service create' }>).spec.command, ['prog', '--host', 'x']);
});

// ------------------------------------------------------------------ help and unknown commands

test('help: bare shoal is usage with ok=false, --help and help are ok', (t) => {
  const bare = parse([]).command;
  t.like(bare, { name: 'help', ok: false });
  t.like(parse(['--help']).command, { name: 'help', ok: true });
  t.like(parse(['-h']).command, { name: 'help', ok: true });
  t.like(parse(['help']).command, { name: 'help', ok: true });
  const service = parse(['service', '--help']).command;
  t.like(service, { name: 'help', ok: true });
  t.regex((service as { text: string }).text, /Usage: {2}shoal service COMMAND/);
  t.regex((service as { text: string }).text, /scale/);
  t.like(parse(['service']).command, { name: 'help', ok: false });
  const create = parse(['service', 'create', '--help']).command as { text: string };
  t.regex(create.text, /--reserve-memory SIZE/);
  t.regex(create.text, /-e, --env KEY=VALUE/);
  t.like(parse(['node', 'update', '-h']).command, { name: 'help', ok: true });
  // --help wins over missing arguments
  t.like(parse(['service', 'create', '--help']).command, { name: 'help', ok: true });
});

test('unknown commands and flags', (t) => {
  t.is(usageError(['frobnicate']), 'unknown command "frobnicate" (see shoal --help)');
  t.is(usageError(['service', 'frob']), 'unknown command "service frob" (see shoal service --help)');
  t.is(usageError(['--foo', 'node', 'ls']), 'unknown flag --foo');
  t.is(usageError(['service', 'create', '--foo', '--name', 'w', 'img']), 'unknown flag --foo for "service create"');
  t.is(usageError(['service', 'ls', '-x']), 'unknown flag -x for "service ls"');
  t.is(usageError(['node', 'ls', '--replicas', '3']), 'unknown flag --replicas for "node ls"');
  t.is(usageError(['service', 'create', '--name']), 'flag --name needs a value');
  t.is(usageError(['service', 'ls', '--quiet=yes']), 'flag --quiet takes no value (or =true / =false), got "yes"');
  t.is(usageError(['service', 'ls', 'extra']), '"service ls" accepts no arguments, got "extra"');
});

test('aliases: ls/list, rm/remove', (t) => {
  t.is(parse(['node', 'list']).command.name, 'node ls');
  t.is(parse(['service', 'list']).command.name, 'service ls');
  t.is(parse(['service', 'remove', 'web']).command.name, 'service rm');
});

// ------------------------------------------------------------------ service create

test('service create: docker defaults', (t) => {
  const { spec, wait } = command(['service', 'create', '--name', 'web', 'nginx'], 'service create');
  t.is(spec.name, 'web');
  t.is(spec.image, 'nginx');
  t.deepEqual(spec.command, []);
  t.is(spec.mode, ServiceMode.REPLICATED);
  t.is(spec.replicas, 1);
  // unset: the manager's defaults (10 s grace, restart any after 1 s), the image's health check
  t.false('stopGracePeriodMs' in spec);
  t.is(spec.restart, undefined);
  t.is(spec.health, undefined);
  t.is(spec.reservations, undefined);
  t.is(spec.limits, undefined);
  t.deepEqual(spec.env, []);
  t.deepEqual(spec.labels, {});
  t.deepEqual(wait, { timeoutMs: 120_000 });
});

test('service create: every flag', (t) => {
  const { spec, wait } = command(
    [
      'service',
      'create',
      '--name=web',
      '--replicas',
      '3',
      '--constraint',
      'node.labels.zone==a',
      '--constraint',
      'node.hostname != host2',
      '--reserve-cpu',
      '0.5',
      '--reserve-memory',
      '64M',
      '--limit-cpu',
      '2',
      '--limit-memory',
      '1G',
      '-e',
      'A=1',
      '--env',
      'B=x=y',
      '-eC=',
      '-l',
      'tier=front',
      '--label',
      'team=core',
      '--stop-grace-period',
      '1m30s',
      '--timeout',
      '30s',
      'img:1',
    ],
    'service create',
  );
  t.is(spec.replicas, 3);
  t.deepEqual(spec.constraints, ['node.labels.zone==a', 'node.hostname!=host2']);
  t.deepEqual(spec.reservations, { nanoCpus: 500_000_000, memoryBytes: 64 * 1024 ** 2 });
  t.deepEqual(spec.limits, { nanoCpus: 2_000_000_000, memoryBytes: 1024 ** 3 });
  t.deepEqual(spec.env, ['A=1', 'B=x=y', 'C=']);
  t.deepEqual(spec.labels, { tier: 'front', team: 'core' });
  t.is(spec.stopGracePeriodMs, 90_000);
  t.deepEqual(wait, { timeoutMs: 30_000 });
  t.is(spec.image, 'img:1');
});

test('service create: --stop-grace-period 0 is sent as 0', (t) => {
  t.is(
    command(['service', 'create', '--name', 'w', '--stop-grace-period', '0', 'img'], 'service create').spec
      .stopGracePeriodMs,
    0,
  );
  t.is(
    command(['service', 'create', '--name', 'w', '--stop-grace-period', '0s', 'img'], 'service create').spec
      .stopGracePeriodMs,
    0,
  );
});

// ------------------------------------------------------------------ health check

const create = (...flags: string[]) =>
  command(['service', 'create', '--name', 'w', ...flags, 'img'], 'service create').spec;

test("health: --health-cmd and its settings; unset settings are 0 (the engine's defaults)", (t) => {
  t.deepEqual(create('--health-cmd', 'wget -q -O- localhost:80 || exit 1').health, {
    test: ['CMD-SHELL', 'wget -q -O- localhost:80 || exit 1'],
    intervalMs: 0,
    timeoutMs: 0,
    retries: 0,
    startPeriodMs: 0,
  });
  t.deepEqual(
    create(
      '--health-cmd=test -f /ok',
      '--health-interval',
      '2s',
      '--health-timeout',
      '500ms',
      '--health-retries',
      '5',
      '--health-start-period',
      '1m',
    ).health,
    { test: ['CMD-SHELL', 'test -f /ok'], intervalMs: 2000, timeoutMs: 500, retries: 5, startPeriodMs: 60_000 },
  );
});

test("health: settings without --health-cmd keep the image's test (empty test, as docker)", (t) => {
  t.deepEqual(create('--health-interval', '5s').health, {
    test: [],
    intervalMs: 5000,
    timeoutMs: 0,
    retries: 0,
    startPeriodMs: 0,
  });
  t.deepEqual(create('--health-retries', '0').health?.test, []);
});

test('health: --no-healthcheck is ["NONE"] and conflicts with every --health-* flag', (t) => {
  t.deepEqual(create('--no-healthcheck').health, {
    test: ['NONE'],
    intervalMs: 0,
    timeoutMs: 0,
    retries: 0,
    startPeriodMs: 0,
  });
  t.is(create('--no-healthcheck=false').health, undefined);
  const msg = (...f: string[]): string => usageError(['service', 'create', '--name', 'w', ...f, 'img']);
  t.is(msg('--no-healthcheck', '--health-cmd', 'true'), '--no-healthcheck conflicts with --health-cmd');
  t.is(msg('--health-interval', '1s', '--no-healthcheck'), '--no-healthcheck conflicts with --health-interval');
  t.is(msg('--no-healthcheck', '--health-timeout', '1s'), '--no-healthcheck conflicts with --health-timeout');
  t.is(msg('--no-healthcheck', '--health-retries', '1'), '--no-healthcheck conflicts with --health-retries');
  t.is(msg('--no-healthcheck', '--health-start-period', '1s'), '--no-healthcheck conflicts with --health-start-period');
});

test('health: bad values name the flag', (t) => {
  const msg = (...f: string[]): string => usageError(['service', 'create', '--name', 'w', ...f, 'img']);
  t.is(msg('--health-cmd', ''), '--health-cmd must not be empty');
  t.is(msg('--health-cmd', '  '), '--health-cmd must not be empty');
  t.is(msg('--health-interval', '5'), 'invalid --health-interval "5": expected a duration like 10s, 500ms or 1m30s');
  t.is(
    msg('--health-timeout', 'soon'),
    'invalid --health-timeout "soon": expected a duration like 10s, 500ms or 1m30s',
  );
  t.is(
    msg('--health-start-period', '-1s'),
    'invalid --health-start-period "-1s": expected a duration like 10s, 500ms or 1m30s',
  );
  t.is(msg('--health-retries', '-1'), '--health-retries must be a non-negative integer, got "-1"');
  t.is(msg('--health-retries', 'many'), '--health-retries must be a non-negative integer, got "many"');
  // the engine refuses a non-zero interval or timeout under 1ms
  t.is(msg('--health-interval', '100us'), '--health-interval must be 0 or at least 1ms, got "100us"');
  t.is(msg('--health-timeout', '10ns'), '--health-timeout must be 0 or at least 1ms, got "10ns"');
  t.is(create('--health-interval', '0s').health?.intervalMs, 0);
});

// ------------------------------------------------------------------ restart policy

test('restart: sent only when a --restart-* flag is given; unset delay is left to the manager', (t) => {
  t.is(create().restart, undefined);
  const onFailure = create('--restart-condition', 'on-failure');
  t.deepEqual(onFailure.restart, { condition: RestartCondition.ON_FAILURE, maxAttempts: 0, windowMs: 0 });
  t.false('delayMs' in (onFailure.restart ?? {}));
  t.deepEqual(create('--restart-condition', 'none').restart?.condition, RestartCondition.NONE);
  t.deepEqual(create('--restart-delay', '5s', '--restart-max-attempts', '3', '--restart-window', '1m').restart, {
    condition: RestartCondition.ANY,
    delayMs: 5000,
    maxAttempts: 3,
    windowMs: 60_000,
  });
  // 0 means 0: restart at once
  t.is(create('--restart-delay', '0').restart?.delayMs, 0);
  t.deepEqual(create('--restart-max-attempts', '0').restart, {
    condition: RestartCondition.ANY,
    maxAttempts: 0,
    windowMs: 0,
  });
});

test('restart: bad values name the flag', (t) => {
  const msg = (...f: string[]): string => usageError(['service', 'create', '--name', 'w', ...f, 'img']);
  t.is(msg('--restart-condition', 'always'), 'invalid --restart-condition "always": expected none, on-failure or any');
  t.is(
    msg('--restart-condition', 'on_failure'),
    'invalid --restart-condition "on_failure": expected none, on-failure or any',
  );
  t.is(msg('--restart-delay', '1'), 'invalid --restart-delay "1": expected a duration like 10s, 500ms or 1m30s');
  t.is(msg('--restart-window', 'x'), 'invalid --restart-window "x": expected a duration like 10s, 500ms or 1m30s');
  t.is(msg('--restart-max-attempts', '-1'), '--restart-max-attempts must be a non-negative integer, got "-1"');
  t.is(msg('--restart-max-attempts', '2.5'), '--restart-max-attempts must be a non-negative integer, got "2.5"');
});

test('health and restart flags are listed by --help', (t) => {
  const text = (parse(['service', 'create', '--help']).command as { text: string }).text;
  for (const flag of [
    '--health-cmd CMD',
    '--health-interval DURATION',
    '--health-timeout DURATION',
    '--health-retries N',
    '--health-start-period DURATION',
    '--no-healthcheck',
    '--restart-condition CONDITION',
    '--restart-delay DURATION',
    '--restart-max-attempts N',
    '--restart-window DURATION',
  ]) {
    t.true(text.includes(flag), flag);
  }
});

test('service create: only the given resource is set', (t) => {
  const { spec } = command(['service', 'create', '--name', 'w', '--limit-memory', '512k', 'img'], 'service create');
  t.is(spec.reservations, undefined);
  t.deepEqual(spec.limits, { nanoCpus: 0, memoryBytes: 512 * 1024 });
});

test('service create: everything after IMAGE is the command, verbatim', (t) => {
  const { spec } = command(
    ['service', 'create', '--name', 'w', 'img', 'sh', '-c', 'x --y', '--name', 'other', '-d', '--', '--help'],
    'service create',
  );
  t.is(spec.name, 'w');
  t.is(spec.image, 'img');
  t.deepEqual(spec.command, ['sh', '-c', 'x --y', '--name', 'other', '-d', '--', '--help']);
});

test('service create: -- ends the flags, the next word is IMAGE', (t) => {
  const { spec } = command(['service', 'create', '--name', 'w', '--', '-weird-image', 'a'], 'service create');
  t.is(spec.image, '-weird-image');
  t.deepEqual(spec.command, ['a']);
});

test('service create: --detach / -d', (t) => {
  t.is(command(['service', 'create', '-d', '--name', 'w', 'img'], 'service create').wait, undefined);
  t.is(command(['service', 'create', '--detach', '--name', 'w', 'img'], 'service create').wait, undefined);
  t.truthy(command(['service', 'create', '--detach=false', '--name', 'w', 'img'], 'service create').wait);
});

test('service create: global mode', (t) => {
  const { spec } = command(['service', 'create', '--name', 'w', '--mode', 'global', 'img'], 'service create');
  t.is(spec.mode, ServiceMode.GLOBAL);
  t.is(spec.replicas, 0);
  t.is(
    usageError(['service', 'create', '--name', 'w', '--mode', 'global', '--replicas', '2', 'img']),
    '--replicas can only be used with --mode replicated',
  );
  t.is(
    usageError(['service', 'create', '--name', 'w', '--mode', 'both', 'img']),
    'invalid --mode "both": expected replicated or global',
  );
});

test('service create: replicas 0 is allowed', (t) => {
  t.is(command(['service', 'create', '--name', 'w', '--replicas', '0', 'img'], 'service create').spec.replicas, 0);
});

test('service create: missing name or image', (t) => {
  t.is(usageError(['service', 'create', 'img']), 'service create requires --name');
  t.is(usageError(['service', 'create', '--name', '', 'img']), 'service create requires --name');
  t.is(usageError(['service', 'create', '--name', 'w']), 'service create requires an IMAGE');
  t.is(usageError(['service', 'create', '--name', 'w', '-d']), 'service create requires an IMAGE');
});

test('service create: bad replicas', (t) => {
  const msg = (v: string): string => usageError(['service', 'create', '--name', 'w', '--replicas', v, 'img']);
  t.is(msg('-1'), '--replicas must be a non-negative integer, got "-1"');
  t.is(msg('1.5'), '--replicas must be a non-negative integer, got "1.5"');
  t.is(msg('three'), '--replicas must be a non-negative integer, got "three"');
  t.is(msg(''), '--replicas must be a non-negative integer, got ""');
  t.is(msg('1e3'), '--replicas must be a non-negative integer, got "1e3"');
  t.is(
    usageError(['service', 'create', '--name', 'w', '--replicas=-1', 'img']),
    '--replicas must be a non-negative integer, got "-1"',
  );
});

test('service create: bad constraints', (t) => {
  const msg = (c: string): string => usageError(['service', 'create', '--name', 'w', '--constraint', c, 'img']);
  t.is(msg('nonsense'), 'invalid constraint "nonsense": expected KEY==VALUE or KEY!=VALUE');
  for (const bad of ['node.hostname=host1', '==a', 'a b==c', 'k==v==w', '!=x', 'node.labels.a>=1']) {
    t.regex(msg(bad), /^invalid constraint ".*": expected KEY==VALUE or KEY!=VALUE$/, bad);
  }
  // the manager's own rules, checked before anything is sent (proto/constraint.ts)
  t.is(msg('node.hostname=='), 'invalid constraint "node.hostname==": missing value after ==');
  t.regex(msg('node.color==red'), /^invalid constraint "node.color==red": unknown key "node.color"/);
});

test('service create: bad sizes, cpus and durations name the flag', (t) => {
  const msg = (...f: string[]): string => usageError(['service', 'create', '--name', 'w', ...f, 'img']);
  t.is(
    msg('--reserve-memory', '64Q'),
    'invalid --reserve-memory "64Q": expected bytes or a number with k, m, g or t (e.g. 64M)',
  );
  t.regex(msg('--limit-memory', '-1'), /^invalid --limit-memory "-1"/);
  t.is(msg('--reserve-cpu', 'half'), 'invalid --reserve-cpu "half": expected a number of CPUs (e.g. 0.5)');
  t.regex(msg('--limit-cpu', '-2'), /^invalid --limit-cpu "-2"/);
  t.is(
    msg('--stop-grace-period', '10'),
    'invalid --stop-grace-period "10": expected a duration like 10s, 500ms or 1m30s',
  );
  t.regex(msg('--timeout', 'soon'), /^invalid --timeout "soon"/);
  t.is(msg('--timeout', '0'), '--timeout must be longer than 0, got "0"');
});

test('service create: bad KEY=VALUE', (t) => {
  const msg = (...f: string[]): string => usageError(['service', 'create', '--name', 'w', ...f, 'img']);
  t.is(msg('-e', 'NOVALUE'), 'invalid --env "NOVALUE": expected KEY=VALUE');
  t.is(msg('--env', '=x'), 'invalid --env "=x": expected KEY=VALUE');
  t.is(msg('-l', 'tier'), 'invalid --label "tier": expected KEY=VALUE');
  t.is(msg('-e', 'MY VAR=1'), 'invalid --env "MY VAR=1": the name must not contain spaces');
});

// ------------------------------------------------------------------ other service commands

test('service ls / ps / inspect options', (t) => {
  t.like(command(['service', 'ls'], 'service ls'), { format: 'table', quiet: false, noTrunc: false });
  t.like(command(['service', 'ls', '--format', 'json', '-q', '--no-trunc'], 'service ls'), {
    format: 'json',
    quiet: true,
    noTrunc: true,
  });
  t.is(usageError(['service', 'ls', '--format', 'yaml']), 'invalid --format "yaml": expected table or json');
  t.like(command(['service', 'ps', 'web', '--format', 'json'], 'service ps'), { refs: ['web'], format: 'json' });
  t.deepEqual(command(['service', 'ps', 'web'], 'service ps').filter, { desiredStates: [] });
  t.is(usageError(['service', 'ps']), 'service ps requires at least one SERVICE');
  t.deepEqual(command(['service', 'inspect', 'a', 'b'], 'service inspect').refs, ['a', 'b']);
  t.deepEqual(command(['service', 'inspect', '--format', 'json', 'a'], 'service inspect').refs, ['a']);
  t.is(usageError(['service', 'inspect', '--format', 'table', 'a']), 'invalid --format "table": expected json');
  t.is(usageError(['service', 'inspect']), 'service inspect requires at least one SERVICE');
  t.deepEqual(command(['service', 'rm', 'a', 'b'], 'service rm').refs, ['a', 'b']);
  t.is(usageError(['service', 'rm']), 'service rm requires at least one SERVICE');
});

test('service ps --filter desired-state', (t) => {
  const states = (...f: string[]): TaskState[] =>
    command(['service', 'ps', ...f, 'web'], 'service ps').filter.desiredStates;
  t.deepEqual(states('--filter', 'desired-state=running'), [TaskState.RUNNING]);
  t.deepEqual(states('-f', 'desired-state=shutdown'), [TaskState.SHUTDOWN, TaskState.REMOVE]);
  t.deepEqual(states('-f', 'desired-state=accepted'), [TaskState.ACCEPTED]);
  t.deepEqual(states('-f', 'desired-state=running', '-f', 'desired-state=running', '--filter=desired-state=shutdown'), [
    TaskState.RUNNING,
    TaskState.SHUTDOWN,
    TaskState.REMOVE,
  ]);
  const msg = (f: string): string => usageError(['service', 'ps', '-f', f, 'web']);
  t.is(msg('desired-state'), 'invalid --filter "desired-state": expected KEY=VALUE');
  t.is(msg('node=host1'), 'invalid --filter "node=host1": unknown filter "node" (expected desired-state)');
  t.is(
    msg('desired-state=failed'),
    'invalid --filter "desired-state=failed": desired-state must be running, shutdown or accepted',
  );
});

test('service scale', (t) => {
  const cmd = command(['service', 'scale', 'web=6', 'api=0', '--detach'], 'service scale');
  t.deepEqual(cmd.targets, [
    { ref: 'web', replicas: 6 },
    { ref: 'api', replicas: 0 },
  ]);
  t.is(cmd.wait, undefined);
  t.deepEqual(command(['service', 'scale', 'web=2', '--timeout', '5s'], 'service scale').wait, { timeoutMs: 5000 });
  t.is(usageError(['service', 'scale']), 'service scale requires at least one SERVICE=REPLICAS');
  t.is(usageError(['service', 'scale', 'web']), 'invalid scale "web": expected SERVICE=REPLICAS');
  t.is(usageError(['service', 'scale', '=3']), 'invalid scale "=3": expected SERVICE=REPLICAS');
  t.is(
    usageError(['service', 'scale', 'web=-1']),
    'invalid scale "web=-1": replicas must be a non-negative integer, got "-1"',
  );
  t.is(usageError(['service', 'scale', 'web=1', 'web=2']), 'service "web" is scaled twice');
});

// ------------------------------------------------------------------ node commands

test('node ls / inspect', (t) => {
  t.like(command(['node', 'ls', '--format', 'json'], 'node ls'), { format: 'json' });
  t.deepEqual(command(['node', 'inspect', 'host1', 'host2'], 'node inspect').refs, ['host1', 'host2']);
  t.is(usageError(['node', 'inspect']), 'node inspect requires at least one NODE');
});

test('node update', (t) => {
  const { request } = command(
    [
      'node',
      'update',
      '--availability',
      'drain',
      '--label-add',
      'zone=a',
      '--label-add',
      'ssd=',
      '--label-rm',
      'old',
      'host1',
    ],
    'node update',
  );
  t.deepEqual(request, {
    ref: 'host1',
    availability: Availability.DRAIN,
    labelAdd: { zone: 'a', ssd: '' },
    labelRm: ['old'],
  });
  const labelsOnly = command(['node', 'update', '--label-rm', 'x', 'host1'], 'node update').request;
  t.false('availability' in labelsOnly, 'availability is left unset when not given');
  t.is(
    command(['node', 'update', '--availability', 'active', 'n'], 'node update').request.availability,
    Availability.ACTIVE,
  );
  t.is(
    command(['node', 'update', '--availability', 'pause', 'n'], 'node update').request.availability,
    Availability.PAUSE,
  );

  t.is(
    usageError(['node', 'update', '--availability', 'off', 'n']),
    'invalid --availability "off": expected active, pause or drain',
  );
  t.is(usageError(['node', 'update', '--availability', 'drain']), 'node update requires a NODE');
  t.is(
    usageError(['node', 'update', '--availability', 'drain', 'a', 'b']),
    'node update takes exactly one NODE, got 2',
  );
  t.is(
    usageError(['node', 'update', 'n']),
    'node update needs at least one of --availability, --label-add, --label-rm',
  );
  t.is(usageError(['node', 'update', '--label-add', 'zone', 'n']), 'invalid --label-add "zone": expected KEY=VALUE');
  t.is(usageError(['node', 'update', '--label-rm', 'a=b', 'n']), 'invalid --label-rm "a=b": expected a label KEY');
  t.is(
    usageError(['node', 'update', '--label-add', 'a=1', '--label-rm', 'a', 'n']),
    'label "a" is both added and removed',
  );
});

// ------------------------------------------------------------------ managers

test('manager ls', (t) => {
  t.like(command(['manager', 'ls'], 'manager ls'), { format: 'table', quiet: false });
  t.like(command(['manager', 'list', '--format', 'json'], 'manager ls'), { format: 'json' });
  t.like(command(['manager', 'ls', '-q'], 'manager ls'), { quiet: true });
  t.deepEqual(parse(['manager', 'ls', '--host', 'a:1,b:2']).hosts, ['a:1', 'b:2']);
  t.is(usageError(['manager', 'ls', 'x']), '"manager ls" accepts no arguments, got "x"');
  t.is(usageError(['manager', 'ls', '--format', 'yaml']), 'invalid --format "yaml": expected table or json');
  t.is(usageError(['manager', 'rm']), 'unknown command "manager rm" (see shoal manager --help)');
  t.like(parse(['manager']).command, { name: 'help', ok: false });
  t.regex((parse(['--help']).command as { text: string }).text, /manager +Manage the cluster managers/);
  t.regex((parse(['manager', '--help']).command as { text: string }).text, /ls +List the managers and which one leads/);
});

// ------------------------------------------------------------------ networks

test('network create: NAME, --subnet, --label', (t) => {
  t.deepEqual(command(['network', 'create', 'backend'], 'network create').spec, {
    name: 'backend',
    subnet: '',
    labels: {},
  });
  t.deepEqual(
    command(
      ['network', 'create', '--subnet', '10.50.0.0/16', '--label', 'tier=db', '-l', 'env=', 'backend'],
      'network create',
    ).spec,
    { name: 'backend', subnet: '10.50.0.0/16', labels: { tier: 'db', env: '' } },
  );
  t.is(command(['network', 'create', 'b', '--subnet=10.1.2.0/24'], 'network create').spec.subnet, '10.1.2.0/24');
  t.is(usageError(['network', 'create']), 'network create requires a NETWORK name');
  t.is(usageError(['network', 'create', 'a', 'b']), 'network create takes exactly one NETWORK name, got 2');
  t.is(usageError(['network', 'create', '--label', 'x', 'a']), 'invalid --label "x": expected KEY=VALUE');
  t.is(
    usageError(['network', 'create', '--subnet', '10.0.0.0/33', 'a']),
    'invalid --subnet "10.0.0.0/33": the prefix length must be between /8 and /24 (each host gets a /24 of it)',
  );
  t.regex(
    (parse(['network', 'create', '--help']).command as { text: string }).text,
    /--subnet CIDR +Cluster subnet, \/8 to \/24/,
  );
});

test('parseSubnet: a.b.c.d/n, n from 8 to 24, no host bits', (t) => {
  for (const ok of ['10.0.0.0/8', '10.43.0.0/16', '192.168.7.0/24', '172.16.0.0/12', '10.128.0.0/9'])
    t.is(parseSubnet(ok), ok);
  t.is(parseSubnet(' 10.043.0.0/16 '), '10.43.0.0/16', 'leading zeros and spaces dropped');
  const message = (text: string): string => {
    try {
      parseSubnet(text);
    } catch (e) {
      if (e instanceof UsageError) return e.message;
      throw e;
    }
    throw new Error(`no error for ${text}`);
  };
  for (const shape of ['10.43.0.0', '10.43.0/16', 'ten.0.0.0/8', '10.43.0.0/', '::1/64', '10.43.0.0/16/1', '']) {
    t.is(message(shape), `invalid --subnet "${shape}": expected an IPv4 CIDR like 10.43.0.0/16`, shape);
  }
  t.is(
    message('10.256.0.0/16'),
    'invalid --subnet "10.256.0.0/16": each part of the address must be between 0 and 255',
  );
  t.regex(message('10.0.0.0/7'), /prefix length must be between \/8 and \/24/);
  t.regex(message('10.43.1.0/25'), /prefix length must be between \/8 and \/24/);
  t.regex(message('10.43.1.0/0'), /prefix length must be between \/8 and \/24/);
  t.is(message('10.43.1.0/16'), 'invalid --subnet "10.43.1.0/16": host bits are set (did you mean 10.43.0.0/16?)');
  t.is(message('10.43.1.1/24'), 'invalid --subnet "10.43.1.1/24": host bits are set (did you mean 10.43.1.0/24?)');
  t.is(message('10.200.0.0/9'), 'invalid --subnet "10.200.0.0/9": host bits are set (did you mean 10.128.0.0/9?)');
});

test('network ls / inspect / rm', (t) => {
  t.like(command(['network', 'ls'], 'network ls'), { format: 'table', quiet: false, noTrunc: false });
  t.like(command(['network', 'list', '--format', 'json', '--no-trunc'], 'network ls'), {
    format: 'json',
    noTrunc: true,
  });
  t.like(command(['network', 'ls', '-q'], 'network ls'), { quiet: true });
  t.is(usageError(['network', 'ls', 'x']), '"network ls" accepts no arguments, got "x"');
  t.deepEqual(command(['network', 'inspect', 'a', 'b'], 'network inspect').refs, ['a', 'b']);
  t.is(usageError(['network', 'inspect']), 'network inspect requires at least one NETWORK');
  t.is(usageError(['network', 'inspect', '--format', 'table', 'a']), 'invalid --format "table": expected json');
  t.deepEqual(command(['network', 'rm', 'a', 'b'], 'network rm').refs, ['a', 'b']);
  t.deepEqual(command(['network', 'remove', 'a'], 'network rm').refs, ['a']);
  t.is(usageError(['network', 'rm']), 'network rm requires at least one NETWORK');
  t.like(parse(['network']).command, { name: 'help', ok: false });
  t.regex((parse(['--help']).command as { text: string }).text, /network +Manage overlay networks/);
  const group = (parse(['network', '--help']).command as { text: string }).text;
  for (const sub of ['create', 'ls', 'inspect', 'rm']) t.regex(group, new RegExp(`\\n  ${sub} `));
});

test('node rm: NODE..., --force / -f', (t) => {
  t.deepEqual(command(['node', 'rm', 'host1', 'host2'], 'node rm'), {
    name: 'node rm',
    refs: ['host1', 'host2'],
    force: false,
  });
  t.true(command(['node', 'rm', '--force', 'host1'], 'node rm').force);
  t.true(command(['node', 'remove', '-f', 'host1'], 'node rm').force);
  t.true(command(['node', 'rm', 'host1', '-f'], 'node rm').force);
  t.is(usageError(['node', 'rm']), 'node rm requires at least one NODE');
  t.is(usageError(['node', 'rm', '--forse', 'n']), 'unknown flag --forse for "node rm"');
});

test('service create --network: repeatable, in order, each once; none: empty (the default network)', (t) => {
  const spec = (line: string[]) => command(['service', 'create', '--name', 'w', ...line, 'img'], 'service create').spec;
  t.deepEqual(spec([]).networks, []);
  t.deepEqual(spec(['--network', 'front']).networks, ['front']);
  t.deepEqual(spec(['--network', 'front', '--network=back']).networks, ['front', 'back']);
  t.is(
    usageError(['service', 'create', '--name', 'w', '--network', 'a', '--network', 'a', 'img']),
    'network "a" is given twice',
  );
  t.is(usageError(['service', 'create', '--name', 'w', '--network', '', 'img']), '--network must not be empty');
  // after IMAGE it is the container's
  t.deepEqual(command(['service', 'create', '--name', 'w', 'img', '--network', 'x'], 'service create').spec.command, [
    '--network',
    'x',
  ]);
});

// ------------------------------------------------------------------ --publish, service lookup, events

test('--publish: short and long forms; defaults ingress and tcp; repeatable', (t) => {
  const ports = command(
    [
      'service',
      'create',
      '--name',
      'w',
      '-p',
      '8080:80',
      '--publish=443:8443/TCP',
      '--publish',
      'target=53,published=5353,protocol=udp,mode=host',
      'img',
    ],
    'service create',
  ).spec.ports;
  t.deepEqual(ports, [
    { publishedPort: 8080, targetPort: 80, protocol: 'tcp', publishMode: 0 },
    { publishedPort: 443, targetPort: 8443, protocol: 'tcp', publishMode: 0 },
    { publishedPort: 5353, targetPort: 53, protocol: 'udp', publishMode: 1 },
  ]);
  t.deepEqual(command(['service', 'create', '--name', 'w', 'img'], 'service create').spec.ports, []);
  // the same port over tcp and udp are two ports
  t.is(
    command(
      ['service', 'create', '--name', 'w', '-p', '53:53', '-p', 'published=53,target=53,protocol=udp,mode=host', 'img'],
      'service create',
    ).spec.ports.length,
    2,
  );
});

test('--publish: what is refused, and why', (t) => {
  const bad = (value: string) => usageError(['service', 'create', '--name', 'w', '--publish', value, 'img']);
  t.is(bad('0:80'), 'invalid --publish "0:80": published port must be a number 1-65535');
  t.is(bad(':80'), 'invalid --publish ":80": published port must be a number 1-65535');
  t.is(bad('8080:'), 'invalid --publish "8080:": target port must be a number 1-65535');
  t.is(
    bad('8080:80/tcp/x'),
    'invalid --publish "8080:80/tcp/x": expected PUBLISHED:TARGET[/PROTOCOL] or published=P,target=T[,protocol=tcp|udp][,mode=ingress|host]',
  );
  t.is(
    bad('a:b:c:d'),
    'invalid --publish "a:b:c:d": expected PUBLISHED:TARGET[/PROTOCOL] or published=P,target=T[,protocol=tcp|udp][,mode=ingress|host]',
  );
  t.is(
    bad('published=8080,target=80,protocol=sctp'),
    'invalid --publish "published=8080,target=80,protocol=sctp": protocol must be tcp or udp',
  );
  t.is(
    bad('published=x,target=80'),
    'invalid --publish "published=x,target=80": published port must be a number 1-65535',
  );
  t.is(
    bad('published=8080,target=80,mode='),
    'invalid --publish "published=8080,target=80,mode=": mode must be ingress or host',
  );
});

test('service lookup: one SERVICE, table or json', (t) => {
  t.deepEqual(command(['service', 'lookup', 'web'], 'service lookup'), {
    name: 'service lookup',
    service: 'web',
    format: 'table',
  });
  t.is(command(['service', 'lookup', '--format', 'json', 'web'], 'service lookup').format, 'json');
});

test('events: a top-level command; --filter maps to EventsRequest; --host after it', (t) => {
  t.deepEqual(command(['events'], 'events'), { name: 'events', request: { types: [], name: '' }, format: 'text' });
  t.deepEqual(command(['events', '-f', 'type=node', '-f', 'type=task', '-f', 'type=node'], 'events').request, {
    types: ['node', 'task'],
    name: '',
  });
  t.deepEqual(command(['events', '--filter', 'service=web', '--filter', 'type=health'], 'events').request, {
    types: ['health'],
    name: 'web',
  });
  t.deepEqual(command(['events', '--filter', 'node=host1'], 'events').request, { types: ['node'], name: 'host1' });
  t.deepEqual(command(['events', '--filter', 'service=web', '--filter', 'service=web'], 'events').request.name, 'web');
  t.is(command(['events', '--format', 'json'], 'events').format, 'json');
  t.deepEqual(parse(['events', '--host', 'm1:1,m2:2']).hosts, ['m1:1', 'm2:2']);
  t.deepEqual(parse(['-H', 'm3:3', 'events']).hosts, ['m3:3']);
  t.like(parse(['events', '--help']).command, { name: 'help', ok: true });
  t.like(parse(['--help', 'events']).command, { name: 'help', ok: true });
  t.regex(usageError(['events', '--since', '1m']), /^unknown flag --since for "events"$/);
});
