// cli/commands/service/ports.ts: --publish parsed (and sent by the real cli/bin/shoal), and
// the PORTS cell.
import test from 'ava';
import { serviceCreate } from '../../../../../cli/commands/service/create.js';
import { portRow, portsText } from '../../../../../cli/commands/service/ports.js';
import { type CreateServiceRequest, PublishMode } from '../../../../../proto/gen/shoal.js';
import { startFake } from '../../../../helpers/fake-control.js';
import { parseAs, shoal, usageError } from '../../../../helpers/run-shoal.js';

const create = (...flags: string[]) => parseAs(serviceCreate, ['service', 'create', '--name', 'w', ...flags, 'img']);

test('--publish: short and long forms; defaults ingress and tcp; repeatable', (t) => {
  const ports = create(
    '-p',
    '8080:80',
    '--publish=443:8443/TCP',
    '--publish',
    'target=53,published=5353,protocol=udp,mode=host',
  ).spec.ports;
  t.deepEqual(ports, [
    { publishedPort: 8080, targetPort: 80, protocol: 'tcp', publishMode: 0 },
    { publishedPort: 443, targetPort: 8443, protocol: 'tcp', publishMode: 0 },
    { publishedPort: 5353, targetPort: 53, protocol: 'udp', publishMode: 1 },
  ]);
  t.deepEqual(create().spec.ports, []);
  // the same port over tcp and udp are two ports
  t.is(create('-p', '53:53', '-p', 'published=53,target=53,protocol=udp,mode=host').spec.ports.length, 2);
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

test('portsText: ingress as *:P->T/proto, host mode at "host" or the given address', (t) => {
  const ports = [
    portRow({ publishedPort: 8080, targetPort: 80, protocol: '', publishMode: PublishMode.INGRESS }),
    portRow({ publishedPort: 53, targetPort: 53, protocol: 'udp', publishMode: PublishMode.HOST }),
  ];
  t.deepEqual(ports[0], { published: 8080, target: 80, protocol: 'tcp', mode: 'ingress' });
  t.is(portsText(ports), '*:8080->80/tcp, host:53->53/udp');
  t.is(portsText(ports, '10.213.0.12'), '*:8080->80/tcp, 10.213.0.12:53->53/udp');
  t.is(portsText([]), '');
});

// ------------------------------------------------------------------ through shoal

test('service create --publish: short and long forms on the wire, in order', async (t) => {
  const { fake, host } = await startFake(t);
  const r = await shoal(
    [
      'service',
      'create',
      '--detach',
      '--name',
      'web',
      '--publish',
      '8080:80',
      '-p',
      '8443:443/tcp',
      '--publish',
      'published=9000,target=90,mode=host',
      '--publish',
      'mode=host,protocol=udp,target=53,published=53',
      '--publish',
      'published=8081,target=81,protocol=tcp,mode=ingress',
      'img',
    ],
    host,
  );
  t.is(r.code, 0, r.stderr);
  const [call] = fake.calls.filter((c) => c.method === 'createService');
  t.deepEqual((call?.request as CreateServiceRequest).spec?.ports, [
    { publishedPort: 8080, targetPort: 80, protocol: 'tcp', publishMode: PublishMode.INGRESS },
    { publishedPort: 8443, targetPort: 443, protocol: 'tcp', publishMode: PublishMode.INGRESS },
    { publishedPort: 9000, targetPort: 90, protocol: 'tcp', publishMode: PublishMode.HOST },
    { publishedPort: 53, targetPort: 53, protocol: 'udp', publishMode: PublishMode.HOST },
    { publishedPort: 8081, targetPort: 81, protocol: 'tcp', publishMode: PublishMode.INGRESS },
  ]);
});

test('bad --publish: one stderr line, exit 1, nothing sent', async (t) => {
  const { fake, host } = await startFake(t);
  const cases: Array<[string[], string]> = [
    [['80x:80'], 'invalid --publish "80x:80": published port must be a number 1-65535'],
    [['8080:0'], 'invalid --publish "8080:0": target port must be a number 1-65535'],
    [['70000:80'], 'invalid --publish "70000:80": published port must be a number 1-65535'],
    [['80'], 'invalid --publish "80": a published port is required, e.g. 8080:80 (shoal does not pick one)'],
    [['8080-8081:80-81'], 'invalid --publish "8080-8081:80-81": port ranges are not supported'],
    [
      ['127.0.0.1:8080:80'],
      'invalid --publish "127.0.0.1:8080:80": a host IP is not supported (the port is published on the hosts themselves)',
    ],
    [['8080:80/sctp'], 'invalid --publish "8080:80/sctp": protocol must be tcp or udp'],
    [
      ['53:53/udp'],
      "--publish 53:53/udp: the routing mesh carries tcp only; publish udp on the task's host with published=53,target=53,protocol=udp,mode=host",
    ],
    [
      ['published=53,target=53,protocol=udp'],
      "--publish published=53,target=53,protocol=udp: the routing mesh carries tcp only; add mode=host to publish udp on the task's host",
    ],
    [
      ['target=80'],
      'invalid --publish "target=80": a published port is required, e.g. published=8080,target=80 (shoal does not pick one)',
    ],
    [['published=8080'], 'invalid --publish "published=8080": target is required'],
    [
      ['published=8080,target=80,mode=global'],
      'invalid --publish "published=8080,target=80,mode=global": mode must be ingress or host',
    ],
    [
      ['published=8080,target=80,src=1'],
      'invalid --publish "published=8080,target=80,src=1": unknown field "src" (expected published, target, protocol or mode)',
    ],
    [
      ['published=8080,published=8081,target=80'],
      'invalid --publish "published=8080,published=8081,target=80": published is given twice',
    ],
    [['published=8080,target'], 'invalid --publish "published=8080,target": expected KEY=VALUE, got "target"'],
    [['8080:80', 'published=8080,target=81,mode=host'], 'published port 8080/tcp is given twice'],
  ];
  const results = await Promise.all(
    cases.map(([values]) =>
      shoal(['service', 'create', '--name', 'w', ...values.flatMap((v) => ['--publish', v]), 'img'], host),
    ),
  );
  results.forEach((r, i) => {
    const [values, expected] = cases[i]!;
    t.is(r.code, 1, values.join(' '));
    t.is(r.stdout, '', values.join(' '));
    t.is(r.stderr, `shoal: ${expected}\n`, values.join(' '));
  });
  t.deepEqual(fake.calls, []);
});
