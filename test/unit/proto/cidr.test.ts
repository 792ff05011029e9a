import test from 'ava';
import {
  CidrError,
  contains,
  formatCidr,
  formatIp,
  nthSubnet,
  overlaps,
  parseCidr,
  parseIpv4,
  parseNetworkSubnet,
  size,
  tryParseCidr,
} from '../../../proto/cidr.js';

test('parseIpv4 / formatIp', (t) => {
  t.is(parseIpv4('10.42.0.7'), 0x0a2a0007);
  t.is(parseIpv4('255.255.255.255'), 0xffffffff);
  t.is(formatIp(0x0a2a0007), '10.42.0.7');
  t.is(formatIp(0xffffffff), '255.255.255.255');
  for (const bad of ['', '10.42.0', '10.42.0.256', '10.42.0.7/32', ' 10.42.0.7', '::1'])
    t.is(parseIpv4(bad), undefined, bad);
});

test('parseCidr: a.b.c.d/n, normalised; every refusal names the label and the problem', (t) => {
  t.is(formatCidr(parseCidr(' 10.043.0.0/16 ')), '10.43.0.0/16');
  t.is(formatCidr(parseCidr('10.42.0.7/32')), '10.42.0.7/32');
  t.is(formatCidr(parseCidr('0.0.0.0/0')), '0.0.0.0/0');
  const message = (text: string, label?: string): string =>
    t.throws(() => parseCidr(text, label), { instanceOf: CidrError }).message;
  for (const shape of ['', 'x', '10.0.0.0', '10.0.0/8', '10.0.0.0/', '10.0.0.0/123'])
    t.is(message(shape), `invalid subnet "${shape}": expected an IPv4 CIDR like 10.43.0.0/16`, shape);
  t.is(
    message('10.256.0.0/16', '--subnet'),
    'invalid --subnet "10.256.0.0/16": each part of the address must be between 0 and 255',
  );
  t.is(message('10.0.0.0/33'), 'invalid subnet "10.0.0.0/33": the prefix length must be at most /32');
  t.is(message('10.43.1.0/16'), 'invalid subnet "10.43.1.0/16": host bits are set (did you mean 10.43.0.0/16?)');
  t.is(message('10.200.0.0/9'), 'invalid subnet "10.200.0.0/9": host bits are set (did you mean 10.128.0.0/9?)');
  t.is(tryParseCidr('10.43.1.0/16'), undefined);
  t.deepEqual(tryParseCidr('10.43.1.0/24'), { base: 0x0a2b0100, prefix: 24 });
});

test('parseNetworkSubnet: /8 to /24 (each host leases a /24)', (t) => {
  for (const ok of ['10.0.0.0/8', '10.43.0.0/16', '192.168.7.0/24', '172.16.0.0/12', '10.128.0.0/9'])
    t.is(formatCidr(parseNetworkSubnet(ok)), ok);
  for (const bad of ['10.0.0.0/7', '10.43.0.0/25', '10.0.0.0/32', '10.43.1.0/0'])
    t.is(
      t.throws(() => parseNetworkSubnet(bad, '--subnet')).message,
      `invalid --subnet "${bad}": the prefix length must be between /8 and /24 (each host gets a /24 of it)`,
    );
});

test('block arithmetic: size, contains, overlaps, nthSubnet', (t) => {
  const net = parseCidr('10.42.0.0/16');
  t.is(size(net), 65536);
  t.true(contains(net, parseIpv4('10.42.255.255')!));
  t.false(contains(net, parseIpv4('10.43.0.0')!));
  t.true(overlaps(net, parseCidr('10.42.7.0/24')));
  t.true(overlaps(parseCidr('10.0.0.0/8'), net));
  t.false(overlaps(net, parseCidr('10.43.0.0/16')));
  t.is(formatCidr(nthSubnet(net, 24, 7)), '10.42.7.0/24');
});

test('parseNetworkSubnet: loopback, link-local, multicast, reserved and 0.0.0.0/8 are refused', (t) => {
  const cases: Array<[string, string]> = [
    ['127.0.0.0/8', '127.0.0.0/8 (loopback)'],
    ['127.42.0.0/16', '127.0.0.0/8 (loopback)'],
    ['169.254.0.0/16', '169.254.0.0/16 (link-local)'],
    ['169.0.0.0/8', '169.254.0.0/16 (link-local)'],
    ['224.0.0.0/8', '224.0.0.0/4 (multicast)'],
    ['239.1.2.0/24', '224.0.0.0/4 (multicast)'],
    ['240.0.0.0/8', '240.0.0.0/4 (reserved)'],
    ['0.0.0.0/8', '0.0.0.0/8 ("this network")'],
  ];
  for (const [subnet, what] of cases)
    t.is(
      t.throws(() => parseNetworkSubnet(subnet, '--subnet'), { instanceOf: CidrError }).message,
      `invalid --subnet "${subnet}": it overlaps ${what}, which no network may use`,
    );
  for (const ok of ['169.253.0.0/16', '223.255.255.0/24', '1.0.0.0/8', '128.0.0.0/8'])
    t.is(formatCidr(parseNetworkSubnet(ok)), ok);
});
