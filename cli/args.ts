// Command-line parsing and validation for `shoal`. Pure: no I/O, no network; throws
// UsageError (one line, no "shoal: " prefix) for anything that can be checked locally.
//
// Flags are declared once per command in COMMANDS; the same table drives parsing and the
// --help text. Tokenising is node:util parseArgs (non-strict, with tokens); the token walk
// here adds what parseArgs lacks: stopping at the first positional (so
// `service create --name w img sh -c 'x --y'` leaves `-c` and `--y` to the container),
// accepting values that start with a dash (`--replicas -1` is then reported as a bad
// number, not as a missing value) and docker-style messages.
import { parseArgs } from 'node:util';
import {
  Availability,
  type EventsRequest,
  type HealthConfig,
  type NetworkSpec,
  type PortConfig,
  PublishMode,
  RestartCondition,
  type RestartPolicy,
  ServiceMode,
  type ServiceSpec,
  TaskState,
  type UpdateNodeRequest,
} from '../proto/gen/shoal.js';
import { CidrError, formatCidr, HOST_PREFIX_LEN, MIN_NETWORK_PREFIX, parseNetworkSubnet } from '../proto/cidr.js';
import { ConstraintError, formatConstraint, parseConstraint } from '../proto/constraint.js';
import { DURATION_EXAMPLES, parseDuration } from '../proto/duration.js';
import { UsageError } from './errors.js';

export const DEFAULT_HOST = '127.0.0.1:4242';
const DEFAULT_PORT = 4242;
const DEFAULT_REPLICAS = 1; // as docker
const DEFAULT_WAIT_TIMEOUT_MS = 120_000; // long enough to pull an image on a slow link
const MAX_PORT = 65535;

// ------------------------------------------------------------------ parsed commands

export type OutputFormat = 'table' | 'json';
/** `shoal events`: one line of text, or one JSON object, per event. */
export type EventFormat = 'text' | 'json';

export interface ListOptions {
  format: OutputFormat;
  quiet: boolean;
  noTrunc: boolean;
}

export interface WaitOptions {
  timeoutMs: number;
}

/** `service ps --filter`: empty lists match everything. */
export interface TaskFilter {
  /** Tasks whose desired state is one of these (`desired-state=...`, repeatable: any of them). */
  desiredStates: TaskState[];
}

export interface ScaleTarget {
  ref: string;
  replicas: number;
}

export type Command =
  | { name: 'help'; text: string; ok: boolean }
  | ({ name: 'node ls' } & ListOptions)
  | { name: 'node inspect'; refs: string[] }
  | { name: 'node update'; request: UpdateNodeRequest }
  | { name: 'node rm'; refs: string[]; force: boolean }
  | { name: 'service create'; spec: ServiceSpec; wait: WaitOptions | undefined }
  | ({ name: 'service ls' } & ListOptions)
  | ({ name: 'service ps'; refs: string[]; filter: TaskFilter } & ListOptions)
  | { name: 'service inspect'; refs: string[] }
  | { name: 'service scale'; targets: ScaleTarget[]; wait: WaitOptions | undefined }
  | { name: 'service rm'; refs: string[] }
  | { name: 'service lookup'; service: string; format: OutputFormat }
  | { name: 'events'; request: EventsRequest; format: EventFormat }
  | ({ name: 'manager ls' } & ListOptions)
  | { name: 'network create'; spec: NetworkSpec }
  | ({ name: 'network ls' } & ListOptions)
  | { name: 'network inspect'; refs: string[] }
  | { name: 'network rm'; refs: string[] };

export interface Invocation {
  /** Manager addresses, tried in order (the next one on UNAVAILABLE). */
  hosts: string[];
  /** The addresses as the user gave them, for messages. */
  hostLabel: string;
  command: Command;
}

// ------------------------------------------------------------------ flag tables

interface FlagSpec {
  long: string;
  short?: string;
  type: 'string' | 'boolean';
  /** Placeholder shown in --help, e.g. "NAME". */
  value?: string;
  help: string;
}

interface CommandSpec {
  /** "service create" (or a top-level command, "events"): also the key of BUILDERS. */
  name: BuildableCommand;
  aliases?: string[];
  usage: string;
  summary: string;
  flags: FlagSpec[];
  /** Stop at the first positional: everything after it is arguments (IMAGE COMMAND ARG...). */
  stopAtPositional?: boolean;
}

type BuildableCommand = Exclude<Command['name'], 'help'>;

const HOST: FlagSpec = {
  long: 'host',
  short: 'H',
  type: 'string',
  value: 'ADDR[,ADDR]',
  help: `Manager address(es), tried in order (env SHOAL_HOST, default ${DEFAULT_HOST})`,
};
const HELP: FlagSpec = { long: 'help', short: 'h', type: 'boolean', help: 'Print usage' };
const FORMAT: FlagSpec = {
  long: 'format',
  type: 'string',
  value: 'FORMAT',
  help: 'Output format: table (default) or json',
};
const QUIET: FlagSpec = { long: 'quiet', short: 'q', type: 'boolean', help: 'Only print IDs' };
const NO_TRUNC: FlagSpec = { long: 'no-trunc', type: 'boolean', help: 'Do not truncate IDs' };
const INSPECT_FORMAT: FlagSpec = {
  long: 'format',
  type: 'string',
  value: 'FORMAT',
  help: 'Output format: json (the only one)',
};
const DETACH: FlagSpec = {
  long: 'detach',
  short: 'd',
  type: 'boolean',
  help: 'Exit immediately instead of waiting for the service to converge',
};
const TIMEOUT: FlagSpec = {
  long: 'timeout',
  type: 'string',
  value: 'DURATION',
  help: 'Give up waiting for convergence after this long (default 2m)',
};

const COMMANDS: CommandSpec[] = [
  {
    name: 'node ls',
    aliases: ['list'],
    usage: 'shoal node ls [OPTIONS]',
    summary: 'List nodes in the cluster',
    flags: [FORMAT, QUIET],
  },
  {
    name: 'node inspect',
    usage: 'shoal node inspect [OPTIONS] NODE [NODE...]',
    summary: 'Display detailed information on one or more nodes (a JSON array)',
    flags: [INSPECT_FORMAT],
  },
  {
    name: 'node update',
    usage: 'shoal node update [OPTIONS] NODE',
    summary: "Update a node's availability or labels",
    flags: [
      { long: 'availability', type: 'string', value: 'AVAILABILITY', help: 'active, pause or drain' },
      { long: 'label-add', type: 'string', value: 'KEY=VALUE', help: 'Add or update a node label (repeatable)' },
      { long: 'label-rm', type: 'string', value: 'KEY', help: 'Remove a node label (repeatable)' },
    ],
  },
  {
    name: 'node rm',
    aliases: ['remove'],
    usage: 'shoal node rm [OPTIONS] NODE [NODE...]',
    summary: 'Remove one or more nodes that are down, releasing their subnets',
    flags: [{ long: 'force', short: 'f', type: 'boolean', help: 'Remove a node even if it is not down' }],
  },
  {
    name: 'service create',
    usage: 'shoal service create [OPTIONS] IMAGE [COMMAND [ARG...]]',
    summary: 'Create a new service',
    stopAtPositional: true,
    flags: [
      { long: 'name', type: 'string', value: 'NAME', help: 'Service name (required)' },
      { long: 'replicas', type: 'string', value: 'N', help: `Number of tasks (default ${DEFAULT_REPLICAS})` },
      { long: 'mode', type: 'string', value: 'MODE', help: 'replicated (default) or global' },
      {
        long: 'constraint',
        type: 'string',
        value: 'EXPR',
        help: 'Placement constraint, KEY==VALUE or KEY!=VALUE (repeatable)',
      },
      { long: 'reserve-cpu', type: 'string', value: 'CPUS', help: 'Reserve CPUs, e.g. 0.5' },
      { long: 'reserve-memory', type: 'string', value: 'SIZE', help: 'Reserve memory, e.g. 64M' },
      { long: 'limit-cpu', type: 'string', value: 'CPUS', help: 'Limit CPUs' },
      { long: 'limit-memory', type: 'string', value: 'SIZE', help: 'Limit memory' },
      { long: 'env', short: 'e', type: 'string', value: 'KEY=VALUE', help: 'Set an environment variable (repeatable)' },
      { long: 'label', short: 'l', type: 'string', value: 'KEY=VALUE', help: 'Set a service label (repeatable)' },
      {
        long: 'publish',
        short: 'p',
        type: 'string',
        value: 'PORT',
        help: 'Publish a port: PUBLISHED:TARGET[/tcp], or published=P,target=T[,protocol=tcp|udp][,mode=ingress|host] (repeatable)',
      },
      {
        long: 'network',
        type: 'string',
        value: 'NETWORK',
        help: 'Attach to an overlay network (repeatable; default: the default network)',
      },
      {
        long: 'stop-grace-period',
        type: 'string',
        value: 'DURATION',
        help: 'Time to wait after SIGTERM before SIGKILL (default 10s)',
      },
      {
        long: 'health-cmd',
        type: 'string',
        value: 'CMD',
        help: 'Command to run to check health (run with /bin/sh -c)',
      },
      {
        long: 'health-interval',
        type: 'string',
        value: 'DURATION',
        help: "Time between running the check (default: the engine's, 30s)",
      },
      {
        long: 'health-timeout',
        type: 'string',
        value: 'DURATION',
        help: "Maximum time to allow one check to run (default: the engine's, 30s)",
      },
      {
        long: 'health-retries',
        type: 'string',
        value: 'N',
        help: "Consecutive failures needed to report unhealthy (default: the engine's, 3)",
      },
      {
        long: 'health-start-period',
        type: 'string',
        value: 'DURATION',
        help: 'Start period for the container to initialize before failures count (default 0s)',
      },
      { long: 'no-healthcheck', type: 'boolean', help: 'Disable any container-specified HEALTHCHECK' },
      {
        long: 'restart-condition',
        type: 'string',
        value: 'CONDITION',
        help: 'Restart when the task ends: none, on-failure or any (default any)',
      },
      {
        long: 'restart-delay',
        type: 'string',
        value: 'DURATION',
        help: "Delay between restart attempts (default: the manager's, 1s)",
      },
      {
        long: 'restart-max-attempts',
        type: 'string',
        value: 'N',
        help: 'Maximum number of restarts before giving up (default 0: unlimited)',
      },
      {
        long: 'restart-window',
        type: 'string',
        value: 'DURATION',
        help: 'Window used to count restart attempts (default 0: every restart counts)',
      },
      DETACH,
      TIMEOUT,
    ],
  },
  {
    name: 'service ls',
    aliases: ['list'],
    usage: 'shoal service ls [OPTIONS]',
    summary: 'List services',
    flags: [FORMAT, QUIET, NO_TRUNC],
  },
  {
    name: 'service ps',
    usage: 'shoal service ps [OPTIONS] SERVICE [SERVICE...]',
    summary: 'List the tasks of one or more services (with the history of each slot)',
    flags: [
      {
        long: 'filter',
        short: 'f',
        type: 'string',
        value: 'FILTER',
        help: 'Only tasks matching: desired-state=running|shutdown|accepted (repeatable)',
      },
      FORMAT,
      QUIET,
      NO_TRUNC,
    ],
  },
  {
    name: 'service inspect',
    usage: 'shoal service inspect [OPTIONS] SERVICE [SERVICE...]',
    summary: 'Display detailed information on one or more services (a JSON array)',
    flags: [INSPECT_FORMAT],
  },
  {
    name: 'service scale',
    usage: 'shoal service scale [OPTIONS] SERVICE=REPLICAS [SERVICE=REPLICAS...]',
    summary: 'Scale one or more replicated services',
    flags: [DETACH, TIMEOUT],
  },
  {
    name: 'service rm',
    aliases: ['remove'],
    usage: 'shoal service rm SERVICE [SERVICE...]',
    summary: 'Remove one or more services',
    flags: [],
  },
  {
    name: 'service lookup',
    usage: 'shoal service lookup [OPTIONS] SERVICE',
    summary: "List a service's endpoints as discovery serves them (task, node, IP, ports, health)",
    flags: [FORMAT],
  },
  {
    name: 'events',
    usage: 'shoal events [OPTIONS]',
    summary: "Stream the cluster's events live (until Ctrl-C)",
    flags: [
      {
        long: 'filter',
        short: 'f',
        type: 'string',
        value: 'FILTER',
        help: 'type=task|node|service|health|endpoint (repeatable), service=NAME or node=NAME',
      },
      { ...FORMAT, help: 'Output format: text (default, one line per event) or json (one object per line)' },
    ],
  },
  {
    name: 'manager ls',
    aliases: ['list'],
    usage: 'shoal manager ls [OPTIONS]',
    summary: 'List the managers and which one leads',
    flags: [FORMAT, QUIET],
  },
  {
    name: 'network create',
    usage: 'shoal network create [OPTIONS] NETWORK',
    summary: 'Create an overlay network',
    flags: [
      {
        long: 'subnet',
        type: 'string',
        value: 'CIDR',
        help: `Cluster subnet, /${MIN_NETWORK_PREFIX} to /${HOST_PREFIX_LEN} (default: the next free one from the manager's pool)`,
      },
      { long: 'label', short: 'l', type: 'string', value: 'KEY=VALUE', help: 'Set a network label (repeatable)' },
    ],
  },
  {
    name: 'network ls',
    aliases: ['list'],
    usage: 'shoal network ls [OPTIONS]',
    summary: 'List networks',
    flags: [FORMAT, { ...QUIET, help: 'Only print network IDs' }, NO_TRUNC],
  },
  {
    name: 'network inspect',
    usage: 'shoal network inspect [OPTIONS] NETWORK [NETWORK...]',
    summary: 'Display detailed information on one or more networks (a JSON array)',
    flags: [INSPECT_FORMAT],
  },
  {
    name: 'network rm',
    aliases: ['remove'],
    usage: 'shoal network rm NETWORK [NETWORK...]',
    summary: 'Remove one or more networks (not while a service uses them)',
    flags: [],
  },
];

const GROUPS: Record<string, string> = {
  manager: 'Manage the cluster managers',
  network: 'Manage overlay networks',
  node: 'Manage the cluster nodes',
  service: 'Manage services',
};

// ------------------------------------------------------------------ help text

function flagLines(flags: FlagSpec[]): string[] {
  const all = [...flags, HOST, HELP];
  const left = all.map((f) => {
    const names = f.short ? `-${f.short}, --${f.long}` : `    --${f.long}`;
    return f.value ? `${names} ${f.value}` : names;
  });
  const width = Math.max(...left.map((l) => l.length)) + 3;
  return all.map((f, i) => `  ${(left[i] ?? '').padEnd(width)}${f.help}`);
}

/** Commands without a group: `shoal events`. */
function topLevel(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name && !c.name.includes(' '));
}

function rootUsage(): string {
  const tops = COMMANDS.filter((c) => !c.name.includes(' ')).map((c): [string, string] => [c.name, c.summary]);
  const entries = [...Object.entries(GROUPS), ...tops].sort(([a], [b]) => a.localeCompare(b));
  return [
    'Usage:  shoal [--host ADDR[,ADDR]] COMMAND',
    '',
    'A container scheduler across a group of Docker hosts.',
    '',
    'Commands:',
    ...entries.map(([name, summary]) => `  ${name.padEnd(10)}${summary}`),
    '',
    'Global options:',
    ...flagLines([]),
    '',
    "Run 'shoal COMMAND --help' for more information on a command.",
  ].join('\n');
}

function groupUsage(group: string): string {
  const subs = COMMANDS.filter((c) => c.name.startsWith(`${group} `));
  return [
    `Usage:  shoal ${group} COMMAND`,
    '',
    GROUPS[group] ?? '',
    '',
    'Commands:',
    ...subs.map((c) => `  ${c.name.slice(group.length + 1).padEnd(10)}${c.summary}`),
    '',
    `Run 'shoal ${group} COMMAND --help' for more information on a command.`,
  ].join('\n');
}

function commandUsage(spec: CommandSpec): string {
  const aliases = spec.aliases?.length ? ['', `Aliases: ${[spec.name.split(' ')[1], ...spec.aliases].join(', ')}`] : [];
  return [`Usage:  ${spec.usage}`, '', spec.summary, ...aliases, '', 'Options:', ...flagLines(spec.flags)].join('\n');
}

// ------------------------------------------------------------------ tokenising

/** Flag values by long name, in command-line order; booleans are "true" / "false". */
class FlagValues {
  constructor(private readonly values: ReadonlyMap<string, readonly string[]>) {}

  has(long: string): boolean {
    return this.values.has(long);
  }
  /** The last value given (docker: a repeated single-valued flag keeps the last one). */
  string(long: string): string | undefined {
    return this.values.get(long)?.at(-1);
  }
  list(long: string): string[] {
    return [...(this.values.get(long) ?? [])];
  }
  bool(long: string): boolean {
    return this.string(long) === 'true';
  }
}

interface Parsed {
  flags: FlagValues;
  positionals: string[];
}

function parseFlags(args: readonly string[], flags: FlagSpec[], context: string, stopAtPositional: boolean): Parsed {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const f of flags) options[f.long] = f.short ? { type: f.type, short: f.short } : { type: f.type };
  // Non-strict: never throws; unknown flags come back as tokens and are reported below.
  const { tokens } = parseArgs({ args: [...args], options, strict: false, allowPositionals: true, tokens: true });

  const byLong = new Map(flags.map((f) => [f.long, f]));
  const values = new Map<string, string[]>();
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'option-terminator') {
      positionals.push(...args.slice(token.index + 1));
      break;
    }
    if (token.kind === 'positional') {
      if (stopAtPositional) {
        positionals.push(...args.slice(token.index));
        break;
      }
      positionals.push(token.value);
      continue;
    }
    const spec = byLong.get(token.name);
    if (spec === undefined) {
      throw new UsageError(`unknown flag ${token.rawName}${context ? ` for "${context}"` : ''}`);
    }
    let value: string;
    if (spec.type === 'string') {
      if (token.value === undefined) throw new UsageError(`flag ${token.rawName} needs a value`);
      value = token.value;
    } else if (token.value === undefined) {
      value = 'true';
    } else if (token.value === 'true' || token.value === 'false') {
      value = token.value;
    } else {
      throw new UsageError(`flag ${token.rawName} takes no value (or =true / =false), got "${token.value}"`);
    }
    const list = values.get(spec.long) ?? [];
    list.push(value);
    values.set(spec.long, list);
  }
  return { flags: new FlagValues(values), positionals };
}

// ------------------------------------------------------------------ value parsers

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** Bytes from "64M", "1G", "512k", "1.5g", "64MiB", "100b" or "100" (binary units, as docker). */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?$/i.exec(text.trim());
  if (!m) return undefined;
  const bytes = Math.floor(Number(m[1]) * (SIZE_UNITS[(m[2] ?? '').toLowerCase()] ?? 1));
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** Nano-CPUs from "0.5", "2", ".25" (1e9 = one CPU, as docker's --cpus). */
export function parseCpus(text: string): number | undefined {
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(text)) return undefined;
  const nano = Math.round(Number(text) * 1e9);
  return Number.isSafeInteger(nano) ? nano : undefined;
}

/** A non-negative integer written in decimal digits only. */
export function parseCount(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Splits "KEY=VALUE" at the first "="; the key must be non-empty, the value may be. */
export function parseKeyValue(text: string): [string, string] | undefined {
  const eq = text.indexOf('=');
  if (eq <= 0) return undefined;
  return [text.slice(0, eq), text.slice(eq + 1)];
}

/** `network create --subnet`: proto/cidr.ts's rule, the manager's too; normalised. */
export function parseSubnet(text: string): string {
  try {
    return formatCidr(parseNetworkSubnet(text, '--subnet'));
  } catch (err) {
    if (err instanceof CidrError) throw new UsageError(err.message);
    throw err;
  }
}

/** Manager addresses from "a:1,b:2"; a bare host gets the default port. */
export function parseHosts(text: string): string[] {
  const hosts = text
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '')
    .map((h) => (/^[^:/[\]]+$/.test(h) ? `${h}:${DEFAULT_PORT}` : h));
  if (hosts.length === 0) throw new UsageError(`invalid manager address "${text}": expected HOST:PORT[,HOST:PORT...]`);
  return hosts;
}

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
function publishedPorts(flags: FlagValues): PortConfig[] {
  const ports: PortConfig[] = [];
  const seen = new Set<string>();
  for (const text of flags.list('publish')) {
    const config = parsePublish(text);
    const key = `${config.publishedPort}/${config.protocol}`;
    if (seen.has(key)) throw new UsageError(`published port ${key} is given twice`);
    seen.add(key);
    ports.push(config);
  }
  return ports;
}

/** What `shoal events --filter type=...` accepts: the 3rd token of the NATS subjects. */
export const EVENT_TYPES = ['task', 'node', 'service', 'health', 'endpoint'] as const;
/** The event types whose subjects end in a service name (node events end in a hostname). */
const SERVICE_EVENT_TYPES = ['task', 'service', 'health', 'endpoint'];

/**
 * `shoal events --filter`: `type=T` (repeatable: any of them), and at most one of
 * `service=NAME` / `node=NAME`. The manager matches a name against the last token of the
 * subject, which is the service name for task/service/health/endpoint events and the
 * hostname for node events, so `service=` narrows the types to the former and `node=` to
 * node events (a node filter cannot select task events: their subjects are per service).
 */
function eventsRequest(flags: FlagValues): EventsRequest {
  const types: string[] = [];
  let named: { key: 'service' | 'node'; value: string } | undefined;
  for (const text of flags.list('filter')) {
    const kv = parseKeyValue(text);
    if (kv === undefined) throw new UsageError(`invalid --filter "${text}": expected KEY=VALUE`);
    const [key, value] = kv;
    if (key === 'type') {
      if (!(EVENT_TYPES as readonly string[]).includes(value)) {
        throw new UsageError(
          `invalid --filter "${text}": type must be ${EVENT_TYPES.slice(0, -1).join(', ')} or endpoint`,
        );
      }
      if (!types.includes(value)) types.push(value);
    } else if (key === 'service' || key === 'node') {
      if (value === '') throw new UsageError(`invalid --filter "${text}": a name is required`);
      if (named !== undefined && (named.key !== key || named.value !== value)) {
        throw new UsageError('only one service= or node= filter can be given');
      }
      named = { key, value };
    } else {
      throw new UsageError(`invalid --filter "${text}": unknown filter "${key}" (expected type, service or node)`);
    }
  }
  if (named === undefined) return { types, name: '' };
  const allowed = named.key === 'service' ? SERVICE_EVENT_TYPES : ['node'];
  const other = types.find((t) => !allowed.includes(t));
  if (other !== undefined) {
    throw new UsageError(
      named.key === 'service'
        ? `--filter type=${other} does not go with service=${named.value}: node events are named by hostname (use node=NAME)`
        : `--filter type=${other} does not go with node=${named.value}: node= selects node events only`,
    );
  }
  return { types: types.length > 0 ? types : [...allowed], name: named.value };
}

// ------------------------------------------------------------------ flag helpers

function size(flags: FlagValues, long: string): number | undefined {
  const text = flags.string(long);
  if (text === undefined) return undefined;
  const n = parseSize(text);
  if (n === undefined)
    throw new UsageError(`invalid --${long} "${text}": expected bytes or a number with k, m, g or t (e.g. 64M)`);
  return n;
}

function cpus(flags: FlagValues, long: string): number | undefined {
  const text = flags.string(long);
  if (text === undefined) return undefined;
  const n = parseCpus(text);
  if (n === undefined) throw new UsageError(`invalid --${long} "${text}": expected a number of CPUs (e.g. 0.5)`);
  return n;
}

function duration(flags: FlagValues, long: string, fallback: number, positive = false): number {
  return optionalDuration(flags, long, positive) ?? fallback;
}

/** Milliseconds, or undefined when the flag was not given. */
function optionalDuration(flags: FlagValues, long: string, positive = false): number | undefined {
  const text = flags.string(long);
  if (text === undefined) return undefined;
  const ms = parseDuration(text);
  if (ms === undefined)
    throw new UsageError(`invalid --${long} "${text}": expected a duration like ${DURATION_EXAMPLES}`);
  if (positive && ms <= 0) throw new UsageError(`--${long} must be longer than 0, got "${text}"`);
  return ms;
}

function count(flags: FlagValues, long: string): number | undefined {
  const text = flags.string(long);
  if (text === undefined) return undefined;
  const n = parseCount(text);
  if (n === undefined) throw new UsageError(`--${long} must be a non-negative integer, got "${text}"`);
  return n;
}

const HEALTH_FLAGS = ['health-cmd', 'health-interval', 'health-timeout', 'health-retries', 'health-start-period'];

/**
 * The health check, as docker's `service create`: --no-healthcheck -> ["NONE"]; any
 * --health-* flag -> a config whose unset fields are 0 (the engine's defaults: interval
 * and timeout 30s, 3 retries, no start period) and whose test is ["CMD-SHELL", CMD], or
 * empty without --health-cmd (the image's HEALTHCHECK, with the given settings); no flag
 * at all -> undefined (the image's HEALTHCHECK as it is).
 */
function healthConfig(flags: FlagValues): HealthConfig | undefined {
  const given = HEALTH_FLAGS.filter((f) => flags.has(f));
  if (flags.bool('no-healthcheck')) {
    if (given.length > 0) throw new UsageError(`--no-healthcheck conflicts with --${given[0]}`);
    return { test: ['NONE'], intervalMs: 0, timeoutMs: 0, retries: 0, startPeriodMs: 0 };
  }
  if (given.length === 0) return undefined;
  const cmd = flags.string('health-cmd');
  if (cmd !== undefined && cmd.trim() === '') throw new UsageError('--health-cmd must not be empty');
  const atLeastOneMs = (long: string): number => {
    const ms = optionalDuration(flags, long) ?? 0;
    // The engine refuses a non-zero interval/timeout under 1ms; 0 means its default.
    const text = flags.string(long) ?? '0';
    if (ms === 0 && /[1-9]/.test(text)) throw new UsageError(`--${long} must be 0 or at least 1ms, got "${text}"`);
    return ms;
  };
  return {
    test: cmd === undefined ? [] : ['CMD-SHELL', cmd],
    intervalMs: atLeastOneMs('health-interval'),
    timeoutMs: atLeastOneMs('health-timeout'),
    retries: count(flags, 'health-retries') ?? 0,
    startPeriodMs: optionalDuration(flags, 'health-start-period') ?? 0,
  };
}

const RESTART_FLAGS = ['restart-condition', 'restart-delay', 'restart-max-attempts', 'restart-window'];

function parseRestartCondition(text: string): RestartCondition {
  switch (text) {
    case 'any':
      return RestartCondition.ANY;
    case 'on-failure':
      return RestartCondition.ON_FAILURE;
    case 'none':
      return RestartCondition.NONE;
    default:
      throw new UsageError(`invalid --restart-condition "${text}": expected none, on-failure or any`);
  }
}

/** The restart policy, only when a --restart-* flag was given (else the manager's default). */
function restartPolicy(flags: FlagValues): RestartPolicy | undefined {
  if (!RESTART_FLAGS.some((f) => flags.has(f))) return undefined;
  const conditionText = flags.string('restart-condition');
  const policy: RestartPolicy = {
    condition: conditionText === undefined ? RestartCondition.ANY : parseRestartCondition(conditionText),
    maxAttempts: count(flags, 'restart-max-attempts') ?? 0,
    windowMs: optionalDuration(flags, 'restart-window') ?? 0,
  };
  const delayMs = optionalDuration(flags, 'restart-delay');
  if (delayMs !== undefined) policy.delayMs = delayMs; // unset: the manager's default (1 s)
  return policy;
}

const DESIRED_STATE_FILTERS: Record<string, TaskState[]> = {
  running: [TaskState.RUNNING],
  // Tasks told to stop, including those of a removed service (desired REMOVE).
  shutdown: [TaskState.SHUTDOWN, TaskState.REMOVE],
  accepted: [TaskState.ACCEPTED],
};

function taskFilter(flags: FlagValues): TaskFilter {
  const filter: TaskFilter = { desiredStates: [] };
  for (const text of flags.list('filter')) {
    const kv = parseKeyValue(text);
    if (kv === undefined) throw new UsageError(`invalid --filter "${text}": expected KEY=VALUE`);
    const [key, value] = kv;
    if (key !== 'desired-state') {
      throw new UsageError(`invalid --filter "${text}": unknown filter "${key}" (expected desired-state)`);
    }
    const states = DESIRED_STATE_FILTERS[value];
    if (states === undefined) {
      throw new UsageError(`invalid --filter "${text}": desired-state must be running, shutdown or accepted`);
    }
    for (const s of states) if (!filter.desiredStates.includes(s)) filter.desiredStates.push(s);
  }
  return filter;
}

function keyValues(flags: FlagValues, long: string): Array<[string, string]> {
  return flags.list(long).map((text) => {
    const kv = parseKeyValue(text);
    if (kv === undefined) throw new UsageError(`invalid --${long} "${text}": expected KEY=VALUE`);
    return kv;
  });
}

/** `service create --network`: repeatable, each name once, in the order given. */
function networkNames(flags: FlagValues): string[] {
  const names: string[] = [];
  for (const name of flags.list('network')) {
    if (name.trim() === '') throw new UsageError('--network must not be empty');
    if (names.includes(name)) throw new UsageError(`network "${name}" is given twice`);
    names.push(name);
  }
  return names;
}

/** --format: one of `allowed`, the first by default. */
function outputFormat<F extends string>(flags: FlagValues, allowed: readonly [F, ...F[]]): F {
  const text = flags.string('format') ?? allowed[0];
  if (!(allowed as readonly string[]).includes(text)) {
    throw new UsageError(`invalid --format "${text}": expected ${allowed.join(' or ')}`);
  }
  return text as F;
}

function listOptions(flags: FlagValues): ListOptions {
  return {
    format: outputFormat(flags, ['table', 'json']),
    quiet: flags.bool('quiet'),
    noTrunc: flags.bool('no-trunc'),
  };
}

function waitOptions(flags: FlagValues): WaitOptions | undefined {
  const timeoutMs = duration(flags, 'timeout', DEFAULT_WAIT_TIMEOUT_MS, true);
  return flags.bool('detach') ? undefined : { timeoutMs };
}

function noArguments(command: string, positionals: string[]): void {
  if (positionals.length > 0) throw new UsageError(`"${command}" accepts no arguments, got "${positionals[0]}"`);
}

function atLeastOne(command: string, what: string, positionals: string[]): string[] {
  if (positionals.length === 0) throw new UsageError(`${command} requires at least one ${what}`);
  return positionals;
}

function parseAvailability(text: string): Availability {
  switch (text) {
    case 'active':
      return Availability.ACTIVE;
    case 'pause':
      return Availability.PAUSE;
    case 'drain':
      return Availability.DRAIN;
    default:
      throw new UsageError(`invalid --availability "${text}": expected active, pause or drain`);
  }
}

// ------------------------------------------------------------------ builders

type Builder = (p: Parsed) => Command;

const BUILDERS: Record<BuildableCommand, Builder> = {
  'node ls': ({ flags, positionals }) => {
    noArguments('node ls', positionals);
    return { name: 'node ls', ...listOptions(flags) };
  },

  'node inspect': ({ flags, positionals }) => {
    outputFormat(flags, ['json']);
    return { name: 'node inspect', refs: atLeastOne('node inspect', 'NODE', positionals) };
  },

  'node update': ({ flags, positionals }) => {
    if (positionals.length !== 1) {
      throw new UsageError(
        positionals.length === 0
          ? 'node update requires a NODE'
          : `node update takes exactly one NODE, got ${positionals.length}`,
      );
    }
    const availabilityText = flags.string('availability');
    const labelAdd: Record<string, string> = {};
    for (const [k, v] of keyValues(flags, 'label-add')) labelAdd[k] = v;
    const labelRm = flags.list('label-rm');
    for (const key of labelRm) {
      if (key === '' || key.includes('=')) throw new UsageError(`invalid --label-rm "${key}": expected a label KEY`);
      if (key in labelAdd) throw new UsageError(`label "${key}" is both added and removed`);
    }
    if (availabilityText === undefined && Object.keys(labelAdd).length === 0 && labelRm.length === 0) {
      throw new UsageError('node update needs at least one of --availability, --label-add, --label-rm');
    }
    const request: UpdateNodeRequest = { ref: positionals[0] ?? '', labelAdd, labelRm };
    if (availabilityText !== undefined) request.availability = parseAvailability(availabilityText);
    return { name: 'node update', request };
  },

  'service create': ({ flags, positionals }) => {
    const name = flags.string('name') ?? '';
    if (name === '') throw new UsageError('service create requires --name');
    const [image, ...command] = positionals;
    if (image === undefined || image === '') throw new UsageError('service create requires an IMAGE');

    const modeText = flags.string('mode') ?? 'replicated';
    if (modeText !== 'replicated' && modeText !== 'global') {
      throw new UsageError(`invalid --mode "${modeText}": expected replicated or global`);
    }
    const replicasText = flags.string('replicas');
    if (modeText === 'global' && replicasText !== undefined) {
      throw new UsageError('--replicas can only be used with --mode replicated');
    }
    let replicas = modeText === 'global' ? 0 : DEFAULT_REPLICAS;
    if (replicasText !== undefined) {
      const n = parseCount(replicasText);
      if (n === undefined) throw new UsageError(`--replicas must be a non-negative integer, got "${replicasText}"`);
      replicas = n;
    }

    const constraints = flags.list('constraint').map((text) => {
      try {
        return formatConstraint(parseConstraint(text));
      } catch (err) {
        if (err instanceof ConstraintError) throw new UsageError(err.message);
        throw err;
      }
    });

    const reserveCpu = cpus(flags, 'reserve-cpu');
    const reserveMemory = size(flags, 'reserve-memory');
    const limitCpu = cpus(flags, 'limit-cpu');
    const limitMemory = size(flags, 'limit-memory');

    const env = keyValues(flags, 'env').map(([k, v]) => {
      if (/\s/.test(k)) throw new UsageError(`invalid --env "${k}=${v}": the name must not contain spaces`);
      return `${k}=${v}`;
    });
    const labels: Record<string, string> = {};
    for (const [k, v] of keyValues(flags, 'label')) labels[k] = v;
    const networks = networkNames(flags);
    const ports = publishedPorts(flags);

    const stopGracePeriodMs = optionalDuration(flags, 'stop-grace-period'); // unset: the manager's default (10 s)
    const health = healthConfig(flags);
    const restart = restartPolicy(flags);
    const wait = waitOptions(flags);

    const spec: ServiceSpec = {
      name,
      image,
      command,
      env,
      labels,
      mode: modeText === 'global' ? ServiceMode.GLOBAL : ServiceMode.REPLICATED,
      replicas,
      constraints,
      reservations:
        reserveCpu === undefined && reserveMemory === undefined
          ? undefined
          : { nanoCpus: reserveCpu ?? 0, memoryBytes: reserveMemory ?? 0 },
      limits:
        limitCpu === undefined && limitMemory === undefined
          ? undefined
          : { nanoCpus: limitCpu ?? 0, memoryBytes: limitMemory ?? 0 },
      ports,
      restart,
      health,
      networks,
    };
    if (stopGracePeriodMs !== undefined) spec.stopGracePeriodMs = stopGracePeriodMs;
    return { name: 'service create', spec, wait };
  },

  'service ls': ({ flags, positionals }) => {
    noArguments('service ls', positionals);
    return { name: 'service ls', ...listOptions(flags) };
  },

  'service ps': ({ flags, positionals }) => ({
    name: 'service ps',
    refs: atLeastOne('service ps', 'SERVICE', positionals),
    filter: taskFilter(flags),
    ...listOptions(flags),
  }),

  'service inspect': ({ flags, positionals }) => {
    outputFormat(flags, ['json']);
    return { name: 'service inspect', refs: atLeastOne('service inspect', 'SERVICE', positionals) };
  },

  'service scale': ({ flags, positionals }) => {
    const seen = new Set<string>();
    const targets = atLeastOne('service scale', 'SERVICE=REPLICAS', positionals).map((text) => {
      const kv = parseKeyValue(text);
      if (kv === undefined) throw new UsageError(`invalid scale "${text}": expected SERVICE=REPLICAS`);
      const [ref, countText] = kv;
      const replicas = parseCount(countText);
      if (replicas === undefined) {
        throw new UsageError(`invalid scale "${text}": replicas must be a non-negative integer, got "${countText}"`);
      }
      if (seen.has(ref)) throw new UsageError(`service "${ref}" is scaled twice`);
      seen.add(ref);
      return { ref, replicas };
    });
    return { name: 'service scale', targets, wait: waitOptions(flags) };
  },

  'service rm': ({ positionals }) => ({ name: 'service rm', refs: atLeastOne('service rm', 'SERVICE', positionals) }),

  'service lookup': ({ flags, positionals }) => {
    if (positionals.length !== 1 || positionals[0] === '') {
      throw new UsageError(
        positionals.length > 1
          ? `service lookup takes exactly one SERVICE, got ${positionals.length}`
          : 'service lookup requires a SERVICE',
      );
    }
    return { name: 'service lookup', service: positionals[0] ?? '', format: outputFormat(flags, ['table', 'json']) };
  },

  events: ({ flags, positionals }) => {
    noArguments('events', positionals);
    const format = outputFormat(flags, ['text', 'json']);
    return { name: 'events', request: eventsRequest(flags), format };
  },

  'manager ls': ({ flags, positionals }) => {
    noArguments('manager ls', positionals);
    return { name: 'manager ls', ...listOptions(flags) };
  },

  'node rm': ({ flags, positionals }) => ({
    name: 'node rm',
    refs: atLeastOne('node rm', 'NODE', positionals),
    force: flags.bool('force'),
  }),

  'network create': ({ flags, positionals }) => {
    if (positionals.length !== 1) {
      throw new UsageError(
        positionals.length === 0
          ? 'network create requires a NETWORK name'
          : `network create takes exactly one NETWORK name, got ${positionals.length}`,
      );
    }
    const name = positionals[0] ?? '';
    if (name.trim() === '') throw new UsageError('network create requires a NETWORK name');
    const subnetText = flags.string('subnet');
    const labels: Record<string, string> = {};
    for (const [k, v] of keyValues(flags, 'label')) labels[k] = v;
    return {
      name: 'network create',
      spec: { name, subnet: subnetText === undefined ? '' : parseSubnet(subnetText), labels },
    };
  },

  'network ls': ({ flags, positionals }) => {
    noArguments('network ls', positionals);
    return { name: 'network ls', ...listOptions(flags) };
  },

  'network inspect': ({ flags, positionals }) => {
    outputFormat(flags, ['json']);
    return { name: 'network inspect', refs: atLeastOne('network inspect', 'NETWORK', positionals) };
  },

  'network rm': ({ positionals }) => ({ name: 'network rm', refs: atLeastOne('network rm', 'NETWORK', positionals) }),
};

// ------------------------------------------------------------------ entry point

/**
 * Parses `shoal`'s arguments (without "node" and the script path). `env` supplies
 * SHOAL_HOST. Throws UsageError for bad input; returns a 'help' command for --help and
 * for missing commands (ok=false: print to stderr, exit 1).
 */
export function parseCommandLine(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Invocation {
  let hostText: string | undefined;
  const takeHost = (flags: FlagValues): void => {
    hostText = flags.string('host') ?? hostText;
  };
  const invocation = (command: Command): Invocation => {
    const text = hostText ?? (env.SHOAL_HOST?.trim() || DEFAULT_HOST);
    return { hosts: parseHosts(text), hostLabel: text, command };
  };
  const help = (text: string, ok: boolean): Invocation => ({
    hosts: [],
    hostLabel: '',
    command: { name: 'help', text, ok },
  });

  const root = parseFlags(argv, [HOST, HELP], '', true);
  takeHost(root.flags);
  const [group, ...groupArgs] = root.positionals;
  if (group === 'help') return help(rootUsage(), true);
  if (group === undefined) return help(rootUsage(), root.flags.bool('help'));
  const top = topLevel(group);
  if (top !== undefined) {
    if (root.flags.bool('help')) return help(commandUsage(top), true);
    const parsed = parseFlags(groupArgs, [...top.flags, HOST, HELP], top.name, top.stopAtPositional ?? false);
    if (parsed.flags.bool('help')) return help(commandUsage(top), true);
    takeHost(parsed.flags);
    return invocation(BUILDERS[top.name](parsed));
  }
  if (!(group in GROUPS)) throw new UsageError(`unknown command "${group}" (see shoal --help)`);

  const groupParsed = parseFlags(groupArgs, [HOST, HELP], group, true);
  takeHost(groupParsed.flags);
  const [sub, ...subArgs] = groupParsed.positionals;
  if (sub === undefined) return help(groupUsage(group), groupParsed.flags.bool('help') || root.flags.bool('help'));
  const spec = COMMANDS.find(
    (c) => c.name === `${group} ${sub}` || (c.name.startsWith(`${group} `) && c.aliases?.includes(sub)),
  );
  if (spec === undefined) throw new UsageError(`unknown command "${group} ${sub}" (see shoal ${group} --help)`);
  if (groupParsed.flags.bool('help') || root.flags.bool('help')) return help(commandUsage(spec), true);

  const parsed = parseFlags(subArgs, [...spec.flags, HOST, HELP], spec.name, spec.stopAtPositional ?? false);
  if (parsed.flags.bool('help')) return help(commandUsage(spec), true);
  takeHost(parsed.flags);
  const command = BUILDERS[spec.name](parsed);
  return invocation(command);
}
