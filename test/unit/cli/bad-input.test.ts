// Bad input is refused by the CLI before any call: names with spaces, capitals, dots,
// unicode and 300 characters, 10^9 replicas, huge durations, every refused subnet, oversized
// values. Each gets exit 1 and one line on stderr naming it, and the fake manager records no
// call. The messages are proto/'s, the same the manager gives.
import test from 'ava';
import { startFake } from '../../helpers/fake-control.js';
import { runInProcess } from '../../helpers/run-shoal.js';

const BAD_NAMES: Array<[string, RegExp]> = [
  ['web server', /invalid (service|network) name "web server": use only lowercase letters, digits, '-' and '_'/],
  ['Web', /invalid (service|network) name "Web": no capitals/],
  ['github.com', /invalid (service|network) name "github.com": no dots/],
  ['wéb', /invalid (service|network) name "wéb": use only lowercase/],
  ['日本', /invalid (service|network) name "日本": use only lowercase/],
  ['a'.repeat(300), /invalid (service|network) name "a{64}"\.\.\.\(300 characters\): at most 63 characters/],
  ['web-', /must start and end with a letter or digit/],
  ['web_', /must start and end with a letter or digit, not '-' or '_'/],
];

const HUGE = '1000000000h';

const cases: Array<{ what: string; args: string[]; names: RegExp }> = [
  ...BAD_NAMES.map(([name, names]) => ({
    what: `service name ${JSON.stringify(name.slice(0, 12))}`,
    args: ['service', 'create', '--name', name, 'nginx'],
    names,
  })),
  ...BAD_NAMES.map(([name, names]) => ({
    what: `network name ${JSON.stringify(name.slice(0, 12))}`,
    args: ['network', 'create', name],
    names,
  })),
  {
    what: '10^9 replicas',
    args: ['service', 'create', '--name', 'web', '--replicas', '1000000000', 'nginx'],
    names: /shoal: invalid --replicas 1000000000: at most 100000$/,
  },
  {
    what: 'scale to 10^9',
    args: ['service', 'scale', 'web=1000000000'],
    names: /shoal: invalid --replicas 1000000000: at most 100000$/,
  },
  ...[
    'stop-grace-period',
    'health-interval',
    'health-timeout',
    'health-start-period',
    'restart-delay',
    'restart-window',
  ].map((flag) => ({
    what: `--${flag} ${HUGE}`,
    args: ['service', 'create', '--name', 'web', `--${flag}`, HUGE, 'nginx'],
    names: new RegExp(`^shoal: invalid --${flag} "${HUGE}": at most 24h$`),
  })),
  {
    what: '--timeout of 10^9 hours',
    args: ['service', 'create', '--name', 'web', '--timeout', HUGE, 'nginx'],
    names: /shoal: invalid --timeout "1000000000h": at most 24h$/,
  },
  ...[
    ['127.0.0.0/8', /127\.0\.0\.0\/8 \(loopback\)/],
    ['127.1.0.0/16', /127\.0\.0\.0\/8 \(loopback\)/],
    ['169.254.0.0/16', /169\.254\.0\.0\/16 \(link-local\)/],
    ['169.0.0.0/8', /169\.254\.0\.0\/16 \(link-local\)/],
    ['224.0.0.0/8', /224\.0\.0\.0\/4 \(multicast\)/],
    ['239.255.0.0/16', /224\.0\.0\.0\/4 \(multicast\)/],
    ['240.0.0.0/8', /240\.0\.0\.0\/4 \(reserved\)/],
    ['255.255.255.0/24', /240\.0\.0\.0\/4 \(reserved\)/],
    ['0.0.0.0/8', /0\.0\.0\.0\/8 \("this network"\)/],
    ['0.1.0.0/16', /0\.0\.0\.0\/8 \("this network"\)/],
    ['10.0.0.0/7', /prefix length must be between \/8 and \/24/],
    ['10.43.0.0/25', /prefix length must be between \/8 and \/24/],
    ['10.43.1.0/16', /host bits are set/],
    ['nonsense', /expected an IPv4 CIDR/],
  ].map(([subnet, names]) => ({
    what: `subnet ${String(subnet)}`,
    args: ['network', 'create', '--subnet', String(subnet), 'backend'],
    names: names as RegExp,
  })),
  {
    what: 'an environment variable of 40 KB',
    args: ['service', 'create', '--name', 'web', '-e', `K=${'v'.repeat(40_000)}`, 'nginx'],
    names: /shoal: invalid --env "K=v+"\.\.\.\(40002 characters\): 40002 bytes, at most 32 KiB$/,
  },
  {
    what: 'a label value of 5 KB',
    args: ['service', 'create', '--name', 'web', '-l', `k=${'v'.repeat(5_000)}`, 'nginx'],
    names: /shoal: invalid --label value of "k"/,
  },
  {
    what: 'an image reference of 2 KB',
    args: ['service', 'create', '--name', 'web', 'x'.repeat(2_000)],
    names: /shoal: invalid image reference "x+"\.\.\.\(2000 characters\): 2000 bytes, at most 1 KiB$/,
  },
  {
    what: 'a node label key of 300 bytes',
    args: ['node', 'update', '--label-add', `${'k'.repeat(300)}=v`, 'host1'],
    names: /shoal: invalid --label-add key "k+"\.\.\./,
  },
  {
    what: 'a node reference of 300 characters',
    args: ['node', 'update', '--availability', 'drain', 'n'.repeat(300)],
    names: /shoal: invalid node reference "n+"\.\.\.\(300 characters\): at most 253 characters/,
  },
];

for (const c of cases) {
  test(`refused before any call: ${c.what}`, async (t) => {
    const { fake, host } = await startFake(t);
    const r = await runInProcess(c.args, host);
    const err = r.stderr.trim();
    t.is(r.code, 1, `exit code; stderr: ${err.slice(0, 200)}`);
    t.false(err.includes('\n'), `one line: ${err.slice(0, 300)}`);
    t.true(err.length < 400, `a short message (${err.length} characters)`);
    t.regex(err, c.names);
    t.deepEqual(fake.methods(), [], 'no call reached the manager');
  });
}

test('the bounds are not too tight: a 63-character name, 100000 replicas and 24h are accepted', async (t) => {
  const { fake, host } = await startFake(t);
  const name = `w${'a'.repeat(62)}`;
  const r = await runInProcess(
    ['service', 'create', '-d', '--name', name, '--replicas', '100000', '--stop-grace-period', '24h', 'nginx'],
    host,
  );
  t.is(r.code, 0, r.stderr);
  t.deepEqual(fake.methods(), ['createService']);
  const n = await runInProcess(['network', 'create', '--subnet', '172.30.0.0/16', 'back-end2'], host);
  t.is(n.code, 0, n.stderr);
});
