// cli/commands/service/spec-flags.ts: the ServiceSpec fields' flags, through `service create`.
import test from 'ava';
import { serviceCreate } from '../../../../../cli/commands/service/create.js';
import { RestartCondition } from '../../../../../proto/gen/shoal.js';
import { helpText, parseAs, usageError } from '../../../../helpers/run-shoal.js';

const create = (...flags: string[]) =>
  parseAs(serviceCreate, ['service', 'create', '--name', 'w', ...flags, 'img']).spec;
const msg = (...flags: string[]): string => usageError(['service', 'create', '--name', 'w', ...flags, 'img']);

// ------------------------------------------------------------------ health check

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
  t.is(msg('--no-healthcheck', '--health-cmd', 'true'), '--no-healthcheck conflicts with --health-cmd');
  t.is(msg('--health-interval', '1s', '--no-healthcheck'), '--no-healthcheck conflicts with --health-interval');
  t.is(msg('--no-healthcheck', '--health-timeout', '1s'), '--no-healthcheck conflicts with --health-timeout');
  t.is(msg('--no-healthcheck', '--health-retries', '1'), '--no-healthcheck conflicts with --health-retries');
  t.is(msg('--no-healthcheck', '--health-start-period', '1s'), '--no-healthcheck conflicts with --health-start-period');
});

test('health: bad values name the flag', (t) => {
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
  const text = helpText(['service', 'create', '--help']);
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

// ------------------------------------------------------------------ constraints, resources, KEY=VALUE

test('service create: bad constraints', (t) => {
  const bad = (c: string): string => msg('--constraint', c);
  t.is(bad('nonsense'), 'invalid constraint "nonsense": expected KEY==VALUE or KEY!=VALUE');
  for (const shape of ['node.hostname=host1', '==a', 'a b==c', 'k==v==w', '!=x', 'node.labels.a>=1']) {
    t.regex(bad(shape), /^invalid constraint ".*": expected KEY==VALUE or KEY!=VALUE$/, shape);
  }
  // the manager's own rules, checked before anything is sent (proto/constraint.ts)
  t.is(bad('node.hostname=='), 'invalid constraint "node.hostname==": missing value after ==');
  t.regex(bad('node.color==red'), /^invalid constraint "node.color==red": unknown key "node.color"/);
});

test('service create: bad sizes, cpus and durations name the flag', (t) => {
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
  t.is(msg('-e', 'NOVALUE'), 'invalid --env "NOVALUE": expected KEY=VALUE');
  t.is(msg('--env', '=x'), 'invalid --env "=x": expected KEY=VALUE');
  t.is(msg('-l', 'tier'), 'invalid --label "tier": expected KEY=VALUE');
  t.is(msg('-e', 'MY VAR=1'), 'invalid --env "MY VAR=1": the name must not contain spaces');
});

test('service create --network: repeatable, in order, each once; none: empty (the default network)', (t) => {
  t.deepEqual(create().networks, []);
  t.deepEqual(create('--network', 'front').networks, ['front']);
  t.deepEqual(create('--network', 'front', '--network=back').networks, ['front', 'back']);
  t.is(msg('--network', 'a', '--network', 'a'), 'network "a" is given twice');
  t.is(msg('--network', ''), '--network must not be empty');
  // after IMAGE it is the container's
  t.deepEqual(parseAs(serviceCreate, ['service', 'create', '--name', 'w', 'img', '--network', 'x']).spec.command, [
    '--network',
    'x',
  ]);
});
