// cli/commands/network/create.ts: NAME, --subnet (normalised, proto/cidr.ts's rule) and
// --label; `network create` through the real cli/bin/shoal.
import test from 'ava';
import { networkCreate, parseSubnet } from '../../../../../cli/commands/network/create.js';
import { UsageError } from '../../../../../cli/errors.js';
import { NODE1, NODE2, startFake } from '../../../../helpers/fake-control.js';
import { helpText, parseAs, shoal, usageError } from '../../../../helpers/run-shoal.js';

test('network create: NAME, --subnet, --label', (t) => {
  t.deepEqual(parseAs(networkCreate, ['network', 'create', 'backend']).spec, {
    name: 'backend',
    subnet: '',
    labels: {},
  });
  t.deepEqual(
    parseAs(networkCreate, [
      'network',
      'create',
      '--subnet',
      '10.50.0.0/16',
      '--label',
      'tier=db',
      '-l',
      'env=',
      'backend',
    ]).spec,
    { name: 'backend', subnet: '10.50.0.0/16', labels: { tier: 'db', env: '' } },
  );
  t.is(parseAs(networkCreate, ['network', 'create', 'b', '--subnet=10.1.2.0/24']).spec.subnet, '10.1.2.0/24');
  t.is(usageError(['network', 'create']), 'network create requires a NETWORK name');
  t.is(usageError(['network', 'create', 'a', 'b']), 'network create takes exactly one NETWORK name, got 2');
  t.is(usageError(['network', 'create', '--label', 'x', 'a']), 'invalid --label "x": expected KEY=VALUE');
  t.is(
    usageError(['network', 'create', '--subnet', '10.0.0.0/33', 'a']),
    'invalid --subnet "10.0.0.0/33": the prefix length must be between /8 and /24 (each host gets a /24 of it)',
  );
  t.regex(helpText(['network', 'create', '--help']), /--subnet CIDR +Cluster subnet, \/8 to \/24/);
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

// ------------------------------------------------------------------ through shoal

test('network create: prints the id; --subnet and --label on the wire; manager errors as one line', async (t) => {
  const { fake, host } = await startFake(t, [NODE2, NODE1]);
  const r = await shoal(['network', 'create', '--subnet', '10.50.0.0/16', '--label', 'tier=db', 'backend'], host);
  t.is(r.code, 0, r.stderr);
  t.is(r.stderr, '');
  t.is(r.stdout, `${fake.networks[0]?.id}\n`);
  t.deepEqual(fake.calls[0], {
    method: 'createNetwork',
    request: { spec: { name: 'backend', subnet: '10.50.0.0/16', labels: { tier: 'db' } } },
  });
  const pooled = await shoal(['network', 'create', 'front'], host);
  t.is(pooled.code, 0, pooled.stderr);
  t.deepEqual((fake.calls[1]?.request as { spec: unknown }).spec, { name: 'front', subnet: '', labels: {} });
  t.is(fake.networks[1]?.spec?.subnet, '10.43.0.0/16', 'the manager picks the subnet');
  const dup = await shoal(['network', 'create', 'backend'], host);
  t.is(dup.code, 1);
  t.is(dup.stdout, '');
  t.is(dup.stderr, 'shoal: network "backend" already exists\n');
  const overlap = await shoal(['network', 'create', '--subnet', '10.50.0.0/16', 'other'], host);
  t.is(overlap.code, 1);
  t.is(overlap.stderr, 'shoal: subnet 10.50.0.0/16 overlaps network backend (10.50.0.0/16)\n');
});
