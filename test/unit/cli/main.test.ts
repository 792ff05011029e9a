// cli/main.ts and cli/run.ts through the real cli/bin/shoal: usage, exit codes, and bad input
// reported as one line before anything is sent.
import test from 'ava';
import { NODE1, NODE2, startFake } from '../../helpers/fake-control.js';
import { shoal } from '../../helpers/run-shoal.js';

// ------------------------------------------------------------------ usage

test('--help prints usage and exits 0; bare shoal exits 1; unknown command is one line', async (t) => {
  const [help, bare, serviceHelp, unknown] = await Promise.all([
    shoal(['--help'], undefined),
    shoal([], undefined),
    shoal(['service', '--help'], undefined),
    shoal(['frobnicate'], undefined),
  ]);
  t.is(help.code, 0);
  t.regex(help.stdout, /^Usage: {2}shoal/);
  t.is(bare.code, 1);
  t.regex(bare.stderr, /^Usage: {2}shoal/);
  t.is(serviceHelp.code, 0);
  t.regex(serviceHelp.stdout, /shoal service COMMAND[\s\S]*create[\s\S]*scale/);
  t.is(unknown.code, 1);
  t.is(unknown.stdout, '');
  t.is(unknown.stderr, 'shoal: unknown command "frobnicate" (see shoal --help)\n');
});

// ------------------------------------------------------------------ bad input: one line, no call

test('bad input: one stderr line, exit 1, nothing sent to the manager', async (t) => {
  const { fake, host } = await startFake(t, [NODE2, NODE1]);
  const cases: Array<[string[], string]> = [
    [['service', 'create', '--foo', '--name', 'w', 'img'], 'shoal: unknown flag --foo for "service create"'],
    [
      ['service', 'create', '--name', 'w', '--constraint', 'nonsense', 'img'],
      'shoal: invalid constraint "nonsense": expected KEY==VALUE or KEY!=VALUE',
    ],
    [
      ['service', 'create', '--name', 'w', '--replicas', '-1', 'img'],
      'shoal: --replicas must be a non-negative integer, got "-1"',
    ],
    [['service', 'create', '--name', 'w'], 'shoal: service create requires an IMAGE'],
    [['service', 'create', 'img'], 'shoal: service create requires --name'],
    [
      ['service', 'create', '--name', 'w', '--mode', 'global', '--replicas', '2', 'img'],
      'shoal: --replicas can only be used with --mode replicated',
    ],
    [
      ['service', 'create', '--name', 'w', '--reserve-memory', 'lots', 'img'],
      'shoal: invalid --reserve-memory "lots": expected bytes or a number with k, m, g or t (e.g. 64M)',
    ],
    [
      ['service', 'create', '--name', 'w', '--stop-grace-period', '10', 'img'],
      'shoal: invalid --stop-grace-period "10": expected a duration like 10s, 500ms or 1m30s',
    ],
    [['service', 'create', '--name', 'w', '-e', 'NOEQ', 'img'], 'shoal: invalid --env "NOEQ": expected KEY=VALUE'],
    [['service', 'scale', 'web=x'], 'shoal: invalid scale "web=x": replicas must be a non-negative integer, got "x"'],
    [
      ['node', 'update', '--availability', 'gone', 'host1'],
      'shoal: invalid --availability "gone": expected active, pause or drain',
    ],
    [['node', 'update', '--label-add', 'novalue', 'host1'], 'shoal: invalid --label-add "novalue": expected KEY=VALUE'],
    [['service', 'ps'], 'shoal: service ps requires at least one SERVICE'],
    [
      ['service', 'ps', '-f', 'desired-state=gone', 'web'],
      'shoal: invalid --filter "desired-state=gone": desired-state must be running, shutdown or accepted',
    ],
    [
      ['service', 'create', '--name', 'w', '--no-healthcheck', '--health-cmd', 'true', 'img'],
      'shoal: --no-healthcheck conflicts with --health-cmd',
    ],
    [
      ['service', 'create', '--name', 'w', '--health-retries', 'x', 'img'],
      'shoal: --health-retries must be a non-negative integer, got "x"',
    ],
    [
      ['service', 'create', '--name', 'w', '--restart-condition', 'always', 'img'],
      'shoal: invalid --restart-condition "always": expected none, on-failure or any',
    ],
    [
      ['service', 'create', '--name', 'w', '--restart-delay', '5', 'img'],
      'shoal: invalid --restart-delay "5": expected a duration like 10s, 500ms or 1m30s',
    ],
    [['manager', 'ls', 'extra'], 'shoal: "manager ls" accepts no arguments, got "extra"'],
    [
      ['network', 'create', '--subnet', '10.43.0.0/25', 'n'],
      'shoal: invalid --subnet "10.43.0.0/25": the prefix length must be between /8 and /24 (each host gets a /24 of it)',
    ],
    [
      ['network', 'create', '--subnet', '10.43.1.0/16', 'n'],
      'shoal: invalid --subnet "10.43.1.0/16": host bits are set (did you mean 10.43.0.0/16?)',
    ],
    [['network', 'create'], 'shoal: network create requires a NETWORK name'],
    [['network', 'rm'], 'shoal: network rm requires at least one NETWORK'],
    [['node', 'rm'], 'shoal: node rm requires at least one NODE'],
    [
      ['service', 'create', '--name', 'w', '--network', 'a', '--network', 'a', 'img'],
      'shoal: network "a" is given twice',
    ],
  ];
  const results = await Promise.all(cases.map(([args]) => shoal(args, host)));
  results.forEach((r, i) => {
    const [args, expected] = cases[i]!;
    t.is(r.code, 1, args.join(' '));
    t.is(r.stdout, '', args.join(' '));
    t.is(r.stderr, `${expected}\n`, args.join(' '));
  });
  t.deepEqual(fake.calls, []);
});
