// shoal-manager: flags -> Manager. Wiring only.
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { MAX_CERT_EXPIRY_MS, MIN_CERT_EXPIRY_MS } from './security/authority.js';
import { Manager } from './manager.js';
import { DURATION_EXAMPLES, parseDuration } from '../proto/duration.js';
import { DEFAULT_NETWORK_SUBNET, validateDefaultSubnet } from './allocator/allocator.js';
import { watchEventLoop } from './loop-stall.js';
import { STORE_FLAG_OPTIONS, STORE_FLAGS_HELP, storeSecurity, type StoreSecurity } from './config/store-flags.js';
import { privateDir } from './config/private-dir.js';
import { IMAGE_FLAG_OPTIONS, IMAGE_FLAGS_HELP, imageResolver } from './config/image-flags.js';
import { configureImageResolution } from './images/pin.js';

function fail(message: string): never {
  process.stderr.write(`shoal-manager: ${message}\n`);
  process.exit(1);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      listen: { type: 'string', default: '127.0.0.1:4242' },
      advertise: { type: 'string', default: '' },
      'state-dir': { type: 'string', default: '/var/lib/shoal/manager' },
      'join-token': { type: 'string' },
      join: { type: 'string' },
      'join-listen': { type: 'string', default: '' },
      'cert-expiry': { type: 'string' },
      'external-ca-cert': { type: 'string' },
      'external-ca-key': { type: 'string' },
      'etcd-endpoints': { type: 'string', default: process.env.SHOAL_ETCD_ENDPOINTS ?? '' },
      'nats-url': { type: 'string', default: process.env.SHOAL_NATS_URL ?? '' },
      'embedded-etcd-port': { type: 'string', default: '12379' },
      'embedded-nats-port': { type: 'string', default: '14222' },
      'heartbeat-period': { type: 'string', default: '500ms' },
      'http-listen': { type: 'string', default: '127.0.0.1:8500' },
      'default-network-subnet': { type: 'string', default: DEFAULT_NETWORK_SUBNET },
      ...STORE_FLAG_OPTIONS,
      ...IMAGE_FLAG_OPTIONS,
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  }));
} catch (err) {
  fail((err as Error).message);
}

if (values.help) {
  process.stdout.write(
    'usage: shoal-manager [--listen HOST:PORT] [--advertise HOST:PORT] [--state-dir DIR]\n' +
      '                     [--join-listen HOST:PORT] [--join MANAGER:PORT --join-token SHOAL-1-...]\n' +
      '                     [--cert-expiry 2160h] [--external-ca-cert FILE --external-ca-key FILE]\n' +
      '                     [--etcd-endpoints URL,...] [--nats-url URL] [--heartbeat-period 500ms]\n' +
      '                     [--http-listen HOST:PORT|off (127.0.0.1:8500)] [--default-network-subnet CIDR (10.42.0.0/16)]\n' +
      STORE_FLAGS_HELP +
      IMAGE_FLAGS_HELP +
      'With no --etcd-endpoints / --nats-url, runs its own etcd and nats-server (embedded).\n' +
      '--listen: mutual TLS only (the Control API for admin certificates, the Dispatcher for nodes).\n' +
      '--join-listen: where nodes fetch the CA and join with a token (default: the --listen port + 1).\n' +
      '--join, --join-token: a further manager joins the cluster of that manager with the manager token.\n' +
      "--cert-expiry: node certificates' lifetime (default 2160h = 90 days; renewed at 50-80%).\n" +
      'The admin bundle for the CLI is written to STATE-DIR/{ca,cert,key}.pem (export SHOAL_CERT_PATH=STATE-DIR).\n' +
      '--default-network-subnet: the subnet of the default network `shoal` when it is first created (a /24 per node: a /16 holds 256 nodes).\n' +
      '--http-listen serves the Consul-shaped HTTP API (GET /v1/health/service/NAME?passing, ...); off: not served.\n' +
      '--resolve-image-registries: the registries the manager may ask to pin image tags to digests (default any; none: never).\n' +
      '--insecure-registry: a registry reached in plain HTTP (repeatable; loopback registries always are).\n',
  );
  process.exit(0);
}

function port(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) fail(`--${name} must be a port number, got "${v}"`);
  return n;
}

const stateDir = values['state-dir'];
const etcdEndpoints = values['etcd-endpoints']
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
let security: StoreSecurity;
try {
  security = storeSecurity(values, etcdEndpoints, values['nats-url']);
  privateDir(stateDir); // 0700 (an existing one too): keys, passwords and tokens live here
} catch (err) {
  fail((err as Error).message);
}
const joinToken = values['join-token'] ?? process.env.SHOAL_JOIN_TOKEN ?? '';
const joinAt = values.join ?? '';
if ((joinToken === '') !== (joinAt === ''))
  fail('--join and --join-token go together (a further manager joins with both)');

let certExpiryMs: number | undefined;
if (values['cert-expiry'] !== undefined) {
  certExpiryMs = parseDuration(values['cert-expiry']);
  if (certExpiryMs === undefined || certExpiryMs < MIN_CERT_EXPIRY_MS || certExpiryMs > MAX_CERT_EXPIRY_MS)
    fail(
      `invalid --cert-expiry "${values['cert-expiry']}": expected a duration from 1m to 87600h (10 years), like 2160h`,
    );
}

let externalCa: { certPem: string; keyPem: string } | undefined;
if ((values['external-ca-cert'] === undefined) !== (values['external-ca-key'] === undefined))
  fail('--external-ca-cert and --external-ca-key go together');
if (values['external-ca-cert'] !== undefined && values['external-ca-key'] !== undefined) {
  const read = (flag: string, file: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      fail(
        `--${flag} ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
      );
    }
  };
  externalCa = {
    certPem: read('external-ca-cert', values['external-ca-cert']),
    keyPem: read('external-ca-key', values['external-ca-key']),
  };
}
const httpListen = values['http-listen'].trim();
if (httpListen !== 'off') {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(httpListen);
  if (!m || Number(m[2]) > 65535) fail(`--http-listen must be HOST:PORT or off, got "${httpListen}"`);
}

let defaultNetworkSubnet: string;
try {
  defaultNetworkSubnet = validateDefaultSubnet(values['default-network-subnet'], '--default-network-subnet');
} catch (err) {
  fail((err as Error).message);
}

const heartbeatText = values['heartbeat-period'];
const heartbeatPeriodMs = parseDuration(heartbeatText) ?? 0;
if (heartbeatPeriodMs <= 0) {
  fail(`invalid --heartbeat-period "${heartbeatText}": expected a positive duration like ${DURATION_EXAMPLES}`);
}

let resolver;
try {
  resolver = imageResolver(values);
} catch (err) {
  fail((err as Error).message);
}

const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
configureImageResolution(resolver, log);
watchEventLoop(log);
const manager = new Manager({
  listen: values.listen,
  advertise: values.advertise,
  stateDir,
  joinListen: values['join-listen'],
  ...(joinToken ? { join: { token: joinToken, address: joinAt } } : {}),
  certExpiryMs,
  externalCa,
  etcdEndpoints,
  natsUrl: values['nats-url'],
  ...security,
  embeddedEtcdPort: port('embedded-etcd-port', values['embedded-etcd-port']),
  embeddedNatsPort: port('embedded-nats-port', values['embedded-nats-port']),
  heartbeatPeriodMs,
  httpListen,
  defaultNetworkSubnet,
  log,
});

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log(`${signal}: stopping`);
  await manager.close();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

try {
  await manager.start();
  log(`join port ${manager.joinAddress}; admin bundle in ${stateDir} (export SHOAL_CERT_PATH=${stateDir})`);
} catch (err) {
  process.stderr.write(`shoal-manager: ${(err as Error).message}\n`);
  await manager.close().catch(() => {});
  process.exit(1);
}
