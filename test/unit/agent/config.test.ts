import test from 'ava';
import { parseConfig } from '../../../agent/config.js';

const base = ['--manager', '127.0.0.1:4242', '--join-token', 'tok'];

test('flags: managers, token, name, docker host, labels, state dir', (t) => {
  const c = parseConfig(
    [
      '--manager',
      '10.213.0.1:4242,[::1]:4243',
      '--join-token',
      'tok',
      '--name',
      'host1',
      '--docker-host',
      'unix:///run/shoal-bed/host1/docker.sock',
      '--label',
      'zone=a',
      '--label',
      'disk=ssd=fast',
      '--state-dir',
      '/var/lib/shoal/agent',
    ],
    {},
  );
  t.deepEqual(c.managers, ['10.213.0.1:4242', '[::1]:4243']);
  t.is(c.joinToken, 'tok');
  t.is(c.name, 'host1');
  t.is(c.dockerSocket, '/run/shoal-bed/host1/docker.sock');
  t.deepEqual(c.labels, { zone: 'a', disk: 'ssd=fast' });
  t.is(c.stateDir, '/var/lib/shoal/agent');
});

test('environment fallbacks and defaults', (t) => {
  const c = parseConfig([], { SHOAL_MANAGER: 'm1:1,m2:2', SHOAL_JOIN_TOKEN: 'tok', DOCKER_HOST: 'unix:///tmp/d.sock' });
  t.deepEqual(c.managers, ['m1:1', 'm2:2']);
  t.is(c.joinToken, 'tok');
  t.is(c.dockerSocket, '/tmp/d.sock');
  t.truthy(c.name);
  t.is(c.stateDir, undefined);
  t.is(parseConfig(base, {}).dockerSocket, '/var/run/docker.sock');
  t.is(
    parseConfig(['--manager', 'x:1'], { SHOAL_MANAGER: 'y:2', SHOAL_JOIN_TOKEN: 't' }).managers[0],
    'x:1',
    'flag wins',
  );
});

test('discovery flags: --dns-upstream (repeatable, default resolv.conf) and --dns-listen', (t) => {
  const c = parseConfig(
    [
      ...base,
      '--dns-upstream',
      '10.0.0.2',
      '--dns-upstream',
      '10.0.0.3:5353',
      '--dns-upstream',
      '[fd00::1]:53',
      '--dns-listen',
      '127.0.0.1:5353',
      '--dns-listen',
      '[::1]:53',
    ],
    {},
  );
  t.deepEqual(c.dnsUpstreams, [
    { host: '10.0.0.2', port: 53 },
    { host: '10.0.0.3', port: 5353 },
    { host: 'fd00::1', port: 53 },
  ]);
  t.deepEqual(c.dnsListen, [
    { host: '127.0.0.1', port: 5353 },
    { host: '::1', port: 53 },
  ]);
  const d = parseConfig(base, {});
  t.is(d.dnsUpstreams, undefined, 'undefined: the nameservers of /etc/resolv.conf');
  t.deepEqual(d.dnsListen, []);
});

for (const [args, message] of [
  [['--bogus'], /Unknown option '--bogus'/],
  [['--join-token', 'tok'], /missing --manager/],
  [[...base, '--manager', 'nohost'], /--manager: "nohost" is not HOST:PORT/],
  [['--manager', 'h:99999', '--join-token', 't'], /not HOST:PORT/],
  [[...base, '--label', 'novalue'], /--label: "novalue" is not K=V/],
  [[...base, '--docker-host', 'tcp://1.2.3.4:2375'], /only unix sockets/],
  [[...base, 'positional'], /positional/],
  [[...base, '--dns-upstream', 'dns.example.com'], /--dns-upstream: "dns.example.com" is not IP\[:PORT\]/],
  [[...base, '--dns-listen', '127.0.0.1'], /--dns-listen: "127.0.0.1" is not HOST:PORT/],
] as const) {
  test(`bad flags: ${args.join(' ')}`, (t) => {
    t.throws(() => parseConfig([...args], {}), { name: 'UsageError', message });
  });
}
