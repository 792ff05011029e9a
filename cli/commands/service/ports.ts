// Published ports: `--publish` in (docker's short and long forms) and the PORTS cell out
// (`*:8080->80/tcp`), for service create, ls, inspect and lookup.
import { type PortConfig, PublishMode } from '../../../proto/gen/shoal.js';
import { UsageError } from '../../errors.js';
import type { FlagSpec, FlagValues } from '../../parse/flags.js';
import { parseKeyValue } from '../../parse/values.js';

const MAX_PORT = 65535;

export const PUBLISH: FlagSpec = {
  long: 'publish',
  short: 'p',
  type: 'string',
  value: 'PORT',
  help: 'Publish a port: PUBLISHED:TARGET[/tcp], or published=P,target=T[,protocol=tcp|udp][,mode=ingress|host] (repeatable)',
};

const PUBLISH_SHAPE =
  'expected PUBLISHED:TARGET[/PROTOCOL] or published=P,target=T[,protocol=tcp|udp][,mode=ingress|host]';
const PUBLISH_KEYS = ['published', 'target', 'protocol', 'mode'];

/**
 * One `--publish`, in docker's short form `PUBLISHED:TARGET[/PROTOCOL]` (ingress) or its
 * long form `published=P,target=T[,protocol=tcp|udp][,mode=ingress|host]`. A published
 * port is required (shoal does not pick one), port ranges and host IPs are not supported,
 * and udp needs mode=host (the routing mesh carries tcp only). Throws a UsageError naming
 * the problem.
 */
export function parsePublish(text: string): PortConfig {
  const bad = (why: string): UsageError => new UsageError(`invalid --publish "${text}": ${why}`);
  const port = (value: string, which: 'published' | 'target'): number => {
    if (/^\d+-\d+$/.test(value)) throw bad('port ranges are not supported');
    const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
    if (!(n >= 1 && n <= MAX_PORT)) throw bad(`${which} port must be a number 1-${MAX_PORT}`);
    return n;
  };
  const protocol = (value: string): string => {
    const p = value.toLowerCase();
    if (p !== 'tcp' && p !== 'udp') throw bad('protocol must be tcp or udp');
    return p;
  };

  if (!text.includes('=')) {
    const slash = text.split('/');
    if (slash.length > 2) throw bad(PUBLISH_SHAPE);
    const parts = (slash[0] ?? '').split(':');
    if (parts.length === 1) throw bad('a published port is required, e.g. 8080:80 (shoal does not pick one)');
    if (parts.length === 3) throw bad('a host IP is not supported (the port is published on the hosts themselves)');
    if (parts.length > 3) throw bad(PUBLISH_SHAPE);
    const config: PortConfig = {
      publishedPort: port(parts[0] ?? '', 'published'),
      targetPort: port(parts[1] ?? '', 'target'),
      protocol: protocol(slash[1] ?? 'tcp'),
      publishMode: PublishMode.INGRESS,
    };
    if (config.protocol === 'udp') {
      const long = `published=${config.publishedPort},target=${config.targetPort},protocol=udp,mode=host`;
      throw new UsageError(
        `--publish ${text}: the routing mesh carries tcp only; publish udp on the task's host with ${long}`,
      );
    }
    return config;
  }

  const fields = new Map<string, string>();
  for (const part of text.split(',')) {
    const kv = parseKeyValue(part);
    if (kv === undefined) throw bad(`expected KEY=VALUE, got "${part}"`);
    const [key, value] = kv;
    if (!PUBLISH_KEYS.includes(key)) throw bad(`unknown field "${key}" (expected published, target, protocol or mode)`);
    if (fields.has(key)) throw bad(`${key} is given twice`);
    fields.set(key, value);
  }
  const target = fields.get('target');
  if (target === undefined) throw bad('target is required');
  const published = fields.get('published');
  if (published === undefined) {
    throw bad('a published port is required, e.g. published=8080,target=80 (shoal does not pick one)');
  }
  const modeText = fields.get('mode') ?? 'ingress';
  if (modeText !== 'ingress' && modeText !== 'host') throw bad('mode must be ingress or host');
  const config: PortConfig = {
    publishedPort: port(published, 'published'),
    targetPort: port(target, 'target'),
    protocol: protocol(fields.get('protocol') ?? 'tcp'),
    publishMode: modeText === 'host' ? PublishMode.HOST : PublishMode.INGRESS,
  };
  if (config.protocol === 'udp' && config.publishMode === PublishMode.INGRESS) {
    throw new UsageError(
      `--publish ${text}: the routing mesh carries tcp only; add mode=host to publish udp on the task's host`,
    );
  }
  return config;
}

/** Every `--publish`, in the order given; a published port (per protocol) only once. */
export function publishedPorts(flags: FlagValues): PortConfig[] {
  const ports: PortConfig[] = [];
  const seen = new Set<string>();
  for (const text of flags.list(PUBLISH.long)) {
    const config = parsePublish(text);
    const key = `${config.publishedPort}/${config.protocol}`;
    if (seen.has(key)) throw new UsageError(`published port ${key} is given twice`);
    seen.add(key);
    ports.push(config);
  }
  return ports;
}

/** A published port, in the words of `--publish`'s long form. */
export interface PortRow {
  published: number;
  target: number;
  protocol: string;
  /** ingress: every host accepts it (routing mesh); host: only the hosts running a task. */
  mode: 'ingress' | 'host';
}

export function portRow(p: PortConfig): PortRow {
  return {
    published: p.publishedPort,
    target: p.targetPort,
    protocol: p.protocol || 'tcp',
    mode: p.publishMode === PublishMode.HOST ? 'host' : 'ingress',
  };
}

/**
 * docker's PORTS cell: `*:8080->80/tcp` for the routing mesh; a host-mode port as
 * `HOST:53->53/udp`, where HOST is `host` (any host running a task) unless a node's address
 * is given (`service lookup`: where this endpoint is reachable).
 */
export function portsText(ports: readonly PortRow[], nodeAddress = 'host'): string {
  return ports
    .map((p) => `${p.mode === 'host' ? nodeAddress : '*'}:${p.published}->${p.target}/${p.protocol}`)
    .join(', ');
}
