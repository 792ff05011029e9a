// Names outside the cluster go to the host's upstream resolvers, as they were asked: the raw
// query over UDP (TCP for a query that came over TCP), each upstream in turn, the next one
// after FORWARD_TIMEOUT_MS; the answer is relayed as it is.
import dgram from 'node:dgram';
import { readFile } from 'node:fs/promises';
import net from 'node:net';

/** An upstream that has not answered in this long is skipped for the next one. */
export const FORWARD_TIMEOUT_MS = 1_000;

export interface Upstream {
  host: string;
  port: number;
}

export function upstreamString(u: Upstream): string {
  return net.isIPv6(u.host) ? `[${u.host}]:${u.port}` : `${u.host}:${u.port}`;
}

/** "IP", "IP:PORT", "[IPv6]:PORT" -> an upstream (port 53 by default); undefined if not one. */
export function parseUpstream(s: string): Upstream | undefined {
  const v6 = /^\[([0-9a-fA-F:.]+)\](?::(\d{1,5}))?$/.exec(s);
  const v4 = /^([0-9.]+)(?::(\d{1,5}))?$/.exec(s);
  let host: string;
  let port = 53;
  if (v6?.[1] !== undefined) {
    host = v6[1];
    if (v6[2] !== undefined) port = Number(v6[2]);
  } else if (v4?.[1] !== undefined) {
    host = v4[1];
    if (v4[2] !== undefined) port = Number(v4[2]);
  } else if (net.isIPv6(s)) {
    host = s;
  } else {
    return undefined;
  }
  if (net.isIP(host) === 0 || port < 1 || port > 65535) return undefined;
  return { host, port };
}

/** The `nameserver` lines of a resolv.conf, in order. */
export function parseResolvConf(text: string): Upstream[] {
  const out: Upstream[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (m?.[1] === undefined) continue;
    const host = m[1].replace(/%.*$/, ''); // fe80::1%eth0: the zone is not kept
    if (net.isIP(host) !== 0) out.push({ host, port: 53 });
  }
  return out;
}

export async function resolvConfUpstreams(path = '/etc/resolv.conf'): Promise<Upstream[]> {
  try {
    return parseResolvConf(await readFile(path, 'utf8'));
  } catch {
    return [];
  }
}

/** One UDP exchange: the answer with the query's id from that upstream, or undefined. */
export function udpExchange(query: Buffer, up: Upstream, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket(net.isIPv6(up.host) ? 'udp6' : 'udp4');
    const id = query.readUInt16BE(0);
    let done = false;
    const finish = (answer: Buffer | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.close();
      resolve(answer);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    sock.on('error', () => finish(undefined));
    sock.on('message', (msg, rinfo) => {
      // Only the upstream's answer to this query (a fresh socket per query: a random port).
      if (rinfo.address !== up.host || rinfo.port !== up.port || msg.length < 12 || msg.readUInt16BE(0) !== id) return;
      finish(msg);
    });
    sock.send(query, up.port, up.host, (err) => {
      if (err) finish(undefined);
    });
  });
}

/** One TCP exchange (2-byte length prefix both ways), or undefined. */
export function tcpExchange(query: Buffer, up: Upstream, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: up.host, port: up.port });
    let buf: Buffer = Buffer.alloc(0);
    let done = false;
    const finish = (answer: Buffer | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    sock.on('error', () => finish(undefined));
    sock.on('close', () => finish(undefined));
    sock.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(query.length);
      sock.write(Buffer.concat([len, query]));
    });
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < 2) return;
      const n = buf.readUInt16BE(0);
      if (buf.length >= 2 + n) finish(buf.subarray(2, 2 + n));
    });
  });
}

/** How one upstream is asked: the raw answer, or undefined when it gave none within timeoutMs. */
export type Exchange = (
  query: Buffer,
  up: Upstream,
  transport: 'udp' | 'tcp',
  timeoutMs: number,
) => Promise<Buffer | undefined>;

/** The real exchange: UDP, or TCP for a query that came over TCP. */
export const exchange: Exchange = (query, up, transport, timeoutMs) =>
  transport === 'udp' ? udpExchange(query, up, timeoutMs) : tcpExchange(query, up, timeoutMs);

/** Each upstream in turn until one answers; undefined when none did (SERVFAIL). */
export async function forward(
  query: Buffer,
  upstreams: Upstream[],
  transport: 'udp' | 'tcp',
  timeoutMs = FORWARD_TIMEOUT_MS,
  ask: Exchange = exchange,
): Promise<Buffer | undefined> {
  for (const up of upstreams) {
    const answer = await ask(query, up, transport, timeoutMs);
    if (answer !== undefined) return answer;
  }
  return undefined;
}
