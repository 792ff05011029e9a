// Command line and environment -> agent configuration. Throws UsageError with one line.
import os from 'node:os';
import { parseArgs } from 'node:util';
import { parseUpstream, type Upstream } from './discovery/upstream.js';

export const USAGE =
  'usage: shoal-agent --manager HOST:PORT[,HOST:PORT...] --join-token TOKEN [--name NAME] ' +
  '[--docker-host unix:///path] [--label K=V]... [--state-dir DIR] ' +
  '[--dns-upstream IP[:PORT]]... [--dns-listen HOST:PORT]...';

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

export interface AgentConfig {
  managers: string[];
  joinToken: string;
  name: string;
  /** Path of the Docker engine's unix socket. */
  dockerSocket: string;
  labels: Record<string, string>;
  /** When set, the node id is kept in DIR/node-id. */
  stateDir: string | undefined;
  /** Resolvers for names outside the cluster; undefined: the nameservers of /etc/resolv.conf. */
  dnsUpstreams: Upstream[] | undefined;
  /** Extra addresses the DNS server listens on (besides port 53 of every network's gateway). */
  dnsListen: Array<{ host: string; port: number }>;
  help: boolean;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

const ADDRESS = /^(\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+):(\d{1,5})$/;

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv): AgentConfig {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        manager: { type: 'string' },
        'join-token': { type: 'string' },
        name: { type: 'string' },
        'docker-host': { type: 'string' },
        label: { type: 'string', multiple: true },
        'state-dir': { type: 'string' },
        'dns-upstream': { type: 'string', multiple: true },
        'dns-listen': { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const help = values.help ?? false;

  const managerList = values.manager ?? env.SHOAL_MANAGER ?? '';
  const managers = managerList
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (!help && managers.length === 0) throw new UsageError('missing --manager HOST:PORT (or SHOAL_MANAGER)');
  for (const m of managers) {
    const match = ADDRESS.exec(m);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65535) throw new UsageError(`--manager: "${m}" is not HOST:PORT`);
  }

  const joinToken = values['join-token'] ?? env.SHOAL_JOIN_TOKEN ?? '';
  // The token is needed only to join (a node with a certificate in STATE-DIR/tls ignores it): see identity.ts.

  const name = values.name ?? os.hostname();
  if (name.trim() === '') throw new UsageError('--name must not be empty');

  const dockerSocket = dockerSocketPath(values['docker-host'] ?? env.DOCKER_HOST ?? `unix://${DEFAULT_DOCKER_SOCKET}`);

  const labels: Record<string, string> = {};
  for (const l of values.label ?? []) {
    const eq = l.indexOf('=');
    if (eq <= 0) throw new UsageError(`--label: "${l}" is not K=V`);
    labels[l.slice(0, eq)] = l.slice(eq + 1);
  }

  const stateDir = values['state-dir'];
  if (stateDir === '') throw new UsageError('--state-dir must not be empty');

  let dnsUpstreams: Upstream[] | undefined;
  for (const u of values['dns-upstream'] ?? []) {
    const up = parseUpstream(u.trim());
    if (up === undefined) throw new UsageError(`--dns-upstream: "${u}" is not IP[:PORT]`);
    (dnsUpstreams ??= []).push(up);
  }

  const dnsListen: Array<{ host: string; port: number }> = [];
  for (const l of values['dns-listen'] ?? []) {
    const match = ADDRESS.exec(l.trim());
    const port = Number(match?.[2]);
    if (!match?.[1] || port < 0 || port > 65535) throw new UsageError(`--dns-listen: "${l}" is not HOST:PORT`);
    dnsListen.push({ host: match[1].replace(/^\[|\]$/g, ''), port });
  }

  return { managers, joinToken, name, dockerSocket, labels, stateDir, dnsUpstreams, dnsListen, help };
}

/** unix:///path or an absolute path -> the socket path; anything else is refused. */
export function dockerSocketPath(host: string): string {
  if (host.startsWith('unix://')) {
    const p = host.slice('unix://'.length);
    if (p.startsWith('/')) return p;
  } else if (host.startsWith('/')) {
    return host;
  }
  throw new UsageError(`--docker-host: "${host}" is not unix:///path (only unix sockets are supported)`);
}
