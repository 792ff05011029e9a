// Forwarding to the upstream resolvers (agent/discovery/upstream.ts) through the DNS server:
// each upstream in turn with its timeout, TCP for TCP, SERVFAIL when none answers; the
// --dns-upstream and resolv.conf parsers.
import test from 'ava';
import {
  exchange,
  parseResolvConf,
  parseUpstream,
  upstreamString,
  type Exchange,
} from '../../../../agent/discovery/upstream.js';
import { ask, ips, rcode, server, silentUpstream, upstream } from '../../../helpers/dns.js';

test('forwarding: the next upstream after the timeout; SERVFAIL when none answers; TCP over TCP', async (t) => {
  const dead = await silentUpstream(t);
  const { up, seen } = await upstream(t);
  /** Every exchange with an upstream: which one, how, and the timeout it was given. */
  const asked: string[] = [];
  const recording: Exchange = (query, u, transport, timeoutMs) => {
    asked.push(`${upstreamString(u)} ${transport} ${timeoutMs} ms`);
    return exchange(query, u, transport, timeoutMs);
  };
  const { port } = await server(t, { upstreams: [dead.up, up], forwardTimeoutMs: 200, exchange: recording });
  const r = await ask(port, 'example.net', 'A');
  t.deepEqual(ips(r.answers), ['192.0.2.1']);
  t.deepEqual(dead.seen, ['example.net'], 'the first upstream was asked first...');
  t.deepEqual(
    asked,
    [`${upstreamString(dead.up)} udp 200 ms`, `${upstreamString(up)} udp 200 ms`],
    '...and given up after the forward timeout for the next one',
  );
  const viaTcp = await ask(port, 'tcp.example.net', 'A', { tcp: true });
  t.deepEqual(ips(viaTcp.answers), ['192.0.2.1']);
  t.deepEqual(asked.slice(2), [`${upstreamString(dead.up)} tcp 200 ms`, `${upstreamString(up)} tcp 200 ms`]);
  t.deepEqual(seen, ['example.net', 'tcp.example.net']);

  const { port: lonely } = await server(t, { upstreams: [dead.up], forwardTimeoutMs: 100 });
  const fail = await ask(lonely, 'example.net', 'A');
  t.is(rcode(fail), 'SERVFAIL');
  t.is(fail.questions?.[0]?.name, 'example.net');
  const { port: none } = await server(t, { upstreams: [] });
  t.is(rcode(await ask(none, 'example.net', 'A')), 'SERVFAIL', 'no upstream at all');
});

test('upstreams: flags and resolv.conf', (t) => {
  t.deepEqual(parseUpstream('10.0.0.2'), { host: '10.0.0.2', port: 53 });
  t.deepEqual(parseUpstream('10.0.0.2:5353'), { host: '10.0.0.2', port: 5353 });
  t.deepEqual(parseUpstream('[fd00::1]:54'), { host: 'fd00::1', port: 54 });
  t.deepEqual(parseUpstream('fd00::1'), { host: 'fd00::1', port: 53 });
  t.is(parseUpstream('dns.example.com'), undefined);
  t.is(parseUpstream('10.0.0.300'), undefined);
  t.is(parseUpstream('10.0.0.2:0'), undefined);
  t.deepEqual(
    parseResolvConf(
      '# x\nsearch lan\nnameserver 10.255.255.53\nnameserver fe80::1%eth0\nnameserver bogus\noptions ndots:1\n',
    ),
    [
      { host: '10.255.255.53', port: 53 },
      { host: 'fe80::1', port: 53 },
    ],
  );
});
