// A loaded compose object -> the stack's objects, as `docker stack deploy` converts them:
// networks, secrets and configs named STACK_NAME (external ones by their own name), services
// STACK_SERVICE with every supported key in its ServiceSpec field, everything labelled
// com.docker.stack.namespace=STACK. Pure except for reading the files the compose file names
// (env_file, secrets, configs), through `readFile`. Throws ComposeError naming the key.
import shellQuote from 'shell-quote';
import {
  type ConfigReference,
  type HealthConfig,
  Mount,
  MountType,
  type PortConfig,
  type Resources,
  RestartCondition,
  type RestartPolicy,
  type SecretReference,
  ServiceMode,
  ServiceSpec,
  type Ulimit,
  type UpdateConfig,
  UpdateFailureAction,
  UpdateOrder,
} from '../../../../proto/gen/shoal.js';
import { ConstraintError, formatConstraint, parseConstraint } from '../../../../proto/constraint.js';
import { parseDuration } from '../../../../proto/duration.js';
import { CliError } from '../../../errors.js';
import { parseCpus, parseSize } from '../../../parse/values.js';
import { parsePublish } from '../../service/ports.js';
import { ComposeError, dictOf, type ComposeObject } from './load.js';
import { parseEnvFile } from './interpolate.js';

/** A scalar as compose means it (`80`, `true`); anything else as JSON. */
function asText(v: unknown): string {
  return typeof v === 'string'
    ? v
    : typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined
      ? `${v}`
      : JSON.stringify(v);
}

export { NAMESPACE_LABEL } from './common.js';
import { NAMESPACE_LABEL } from './common.js';
/** A secret's or config's file mode when the file gives none (docker's, and the manager's). */
const DEFAULT_FILE_MODE = 0o444;
/**
 * Between the stack's name and an object's: STACK_NAME, as docker writes it (proto/names.ts
 * allows '_' inside a name for this).
 */
export const STACK_SEPARATOR = '_';

/** The cluster name of the stack's object `key` (service, network, volume, secret, config). */
export function stackName(stack: string, key: string): string {
  return `${stack}${STACK_SEPARATOR}${key}`;
}
/** Swarm's update defaults, for the fields an update_config leaves out (the manager's own). */
const UPDATE_DEFAULTS: UpdateConfig = {
  parallelism: 1,
  delayMs: 0,
  failureAction: UpdateFailureAction.PAUSE,
  monitorMs: 5_000,
  maxFailureRatio: 0,
  order: UpdateOrder.STOP_FIRST,
  healthyDeadlineMs: 5 * 60_000,
  progressDeadlineMs: 10 * 60_000,
};

export interface StackNetwork {
  name: string;
  external: boolean;
  labels: Record<string, string>;
}
export interface StackFile {
  kind: 'secret' | 'config';
  name: string;
  external: boolean;
  labels: Record<string, string>;
  /** Undefined for external ones. */
  data?: Buffer;
}
export interface StackObjects {
  networks: StackNetwork[];
  files: StackFile[];
  services: ServiceSpec[];
}

export interface ConvertOptions {
  stack: string;
  readFile: (path: string) => Buffer;
  env: ReadonlyMap<string, string>;
}

type Dict = Record<string, unknown>;
const dict = (v: unknown): Dict => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Dict) : {});
const strings = (v: unknown): string[] =>
  v === undefined || v === null ? [] : Array.isArray(v) ? v.map(String) : [asText(v)];

function fail(where: string, why: string): never {
  throw new ComposeError(`${where}: ${why}`);
}

function duration(where: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const ms = parseDuration(asText(v));
  if (ms === undefined) fail(where, `invalid duration "${asText(v)}" (e.g. 10s, 500ms or 1m30s)`);
  return ms;
}

/** The name an object of the stack gets: external -> its own (or `name:`), else STACK_KEY (or `name:`). */
function objectName(stack: string, key: string, def: Dict): { name: string; external: boolean } {
  const ext = def.external;
  const external = ext === true || (typeof ext === 'object' && ext !== null);
  const extName = typeof ext === 'object' && ext !== null ? dict(ext).name : undefined;
  if (external) return { name: asText(extName ?? def.name ?? key), external };
  return { name: typeof def.name === 'string' ? def.name : stackName(stack, key), external };
}

export function convertStack(compose: ComposeObject, opts: ConvertOptions): StackObjects {
  const { stack } = opts;
  const stackLabel = { [NAMESPACE_LABEL]: stack };
  const withStack = (labels: unknown): Record<string, string> => ({
    ...(Object.fromEntries(Object.entries(dictOf(labels)).map(([k, v]) => [k, v ?? ''])) as Record<string, string>),
    ...stackLabel,
  });

  const networkDefs = dict(compose.networks);
  const networks = new Map<string, StackNetwork>();
  for (const [key, raw] of Object.entries(networkDefs)) {
    const def = dict(raw);
    if (def.driver !== undefined && def.driver !== 'overlay') {
      fail(`networks.${key}.driver`, `"${asText(def.driver)}" is not supported (shoal networks are overlay)`);
    }
    networks.set(key, { ...objectName(stack, key, def), labels: withStack(def.labels) });
  }
  const volumeDefs = dict(compose.volumes);
  for (const [key, raw] of Object.entries(volumeDefs)) {
    const def = dict(raw);
    if (def.driver !== undefined && def.driver !== 'local') {
      fail(`volumes.${key}.driver`, `"${asText(def.driver)}" is not supported (shoal volumes are local)`);
    }
  }

  const files: StackFile[] = [];
  const fileNames = { secret: new Map<string, string>(), config: new Map<string, string>() };
  for (const kind of ['secret', 'config'] as const) {
    for (const [key, raw] of Object.entries(dict(compose[`${kind}s`]))) {
      const def = dict(raw);
      const { name, external } = objectName(stack, key, def);
      fileNames[kind].set(key, name);
      const file: StackFile = { kind, name, external, labels: withStack(def.labels) };
      if (!external) {
        if (typeof def.file !== 'string') fail(`${kind}s.${key}`, 'needs file: or external: true');
        try {
          file.data = opts.readFile(def.file);
        } catch (err) {
          fail(`${kind}s.${key}.file`, `cannot read ${def.file}: ${(err as Error).message}`);
        }
      }
      files.push(file);
    }
  }

  const services: ServiceSpec[] = [];
  let usesDefault = false;
  for (const [short, raw] of Object.entries(dict(compose.services))) {
    const spec = convertService(short, dict(raw), {
      ...opts,
      stackLabel,
      networks,
      volumeDefs,
      fileNames,
    });
    if (spec.networks.includes(stackName(stack, 'default')) && !networks.has('default')) usesDefault = true;
    services.push(spec);
  }
  if (usesDefault)
    networks.set('default', { name: stackName(stack, 'default'), external: false, labels: { ...stackLabel } });
  return { networks: [...networks.values()], files, services };
}

interface ServiceContext extends ConvertOptions {
  stackLabel: Record<string, string>;
  networks: Map<string, StackNetwork>;
  volumeDefs: Dict;
  fileNames: { secret: Map<string, string>; config: Map<string, string> };
}

function words(where: string, v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v.map(String);
  const parsed = shellQuote.parse(asText(v));
  return parsed.map((p) => {
    if (typeof p !== 'string')
      fail(where, `cannot split "${asText(v)}" into words (shell operators are not supported)`);
    return p;
  });
}

function convertService(short: string, s: Dict, ctx: ServiceContext): ServiceSpec {
  const at = (key: string): string => `services.${short}.${key}`;
  const { stack } = ctx;
  if (typeof s.image !== 'string' || s.image === '')
    fail(`services.${short}`, 'image is required (stack deploy does not build images)');
  const deploy = dict(s.deploy);
  const spec: ServiceSpec = { ...ServiceSpec.fromPartial({}), name: stackName(stack, short), image: s.image };
  spec.command = words(at('command'), s.command);
  spec.entrypoint = words(at('entrypoint'), s.entrypoint);

  // Environment: env_file entries first, `environment` over them; `KEY` alone takes the process's value.
  const env = new Map<string, string>();
  for (const file of strings(s.env_file)) {
    let text: string;
    try {
      text = ctx.readFile(file).toString('utf8');
    } catch (err) {
      fail(at('env_file'), `cannot read ${file}: ${(err as Error).message}`);
    }
    for (const [k, v] of parseEnvFile(text, file, ctx.env)) env.set(k, v);
  }
  for (const [k, v] of Object.entries(dictOf(s.environment))) {
    const value = v ?? ctx.env.get(k);
    if (value !== undefined) env.set(k, value);
  }
  spec.env = [...env].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`);

  const labelsOf = (v: unknown): Record<string, string> =>
    Object.fromEntries(Object.entries(dictOf(v)).map(([k, val]) => [k, val ?? '']));
  spec.labels = { ...labelsOf(deploy.labels), ...ctx.stackLabel };
  spec.containerLabels = { ...labelsOf(s.labels), ...ctx.stackLabel };

  spec.ports = (Array.isArray(s.ports) ? s.ports : []).map((p, i) => port(at(`ports.${i}`), p));

  // Networks: none -> STACK_default; every one gets the short name as an alias.
  const nets: Array<[string, string[]]> = Array.isArray(s.networks)
    ? s.networks.map((n) => [asText(n), []])
    : Object.entries(dict(s.networks)).map(([n, v]) => [n, strings(dict(v).aliases)]);
  if (nets.length === 0) nets.push(['default', []]);
  for (const [key, aliases] of nets) {
    const net = ctx.networks.get(key);
    if (net === undefined && key !== 'default') fail(at('networks'), `refers to undefined network ${key}`);
    const name = net?.name ?? stackName(stack, 'default');
    spec.networks.push(name);
    spec.networkAliases.push({ network: name, aliases: [...new Set([short, ...aliases])] });
  }

  spec.mounts = [
    ...(Array.isArray(s.volumes) ? s.volumes : []).map((v, i) => mount(at(`volumes.${i}`), v, ctx)),
    ...strings(s.tmpfs).map((t): Mount => tmpfsMount(t, 0)),
  ];
  spec.secrets = fileRefs('secret', at('secrets'), s.secrets, ctx) as SecretReference[];
  spec.configs = fileRefs('config', at('configs'), s.configs, ctx) as ConfigReference[];

  const health = healthcheck(at('healthcheck'), s.healthcheck);
  if (health !== undefined) spec.health = health;
  spec.user = typeof s.user === 'string' ? s.user : '';
  spec.workdir = typeof s.working_dir === 'string' ? s.working_dir : '';
  spec.hostname = typeof s.hostname === 'string' ? s.hostname : '';
  const grace = duration(at('stop_grace_period'), s.stop_grace_period);
  if (grace !== undefined) spec.stopGracePeriodMs = grace;
  spec.stopSignal = typeof s.stop_signal === 'string' ? s.stop_signal : '';
  spec.readOnly = s.read_only === true;
  if (typeof s.init === 'boolean') spec.init = s.init;
  spec.capAdd = strings(s.cap_add);
  spec.capDrop = strings(s.cap_drop);
  spec.ulimits = Object.entries(dict(s.ulimits)).map(([name, v]): Ulimit =>
    typeof v === 'number'
      ? { name, soft: v, hard: v }
      : { name, soft: Number(dict(v).soft), hard: Number(dict(v).hard) },
  );
  const dns = strings(s.dns);
  const search = strings(s.dns_search);
  if (dns.length > 0 || search.length > 0) spec.dns = { nameservers: dns, search, options: [] };

  // deploy:
  const global = deploy.mode === 'global';
  spec.mode = global ? ServiceMode.GLOBAL : ServiceMode.REPLICATED;
  if (global && deploy.replicas !== undefined)
    fail(at('deploy.replicas'), 'replicas can only be used with mode replicated');
  spec.replicas = global ? 0 : typeof deploy.replicas === 'number' ? deploy.replicas : 1;
  const placement = dict(deploy.placement);
  spec.constraints = strings(placement.constraints).map((c) => {
    try {
      return formatConstraint(parseConstraint(c));
    } catch (err) {
      if (err instanceof ConstraintError) fail(at('deploy.placement.constraints'), err.message);
      throw err;
    }
  });
  spec.preferences = (Array.isArray(placement.preferences) ? placement.preferences : []).map((p) => ({
    spread: asText(dict(p).spread ?? ''),
  }));
  spec.maxReplicasPerNode = typeof placement.max_replicas_per_node === 'number' ? placement.max_replicas_per_node : 0;
  const res = dict(deploy.resources);
  const limits = resources(at('deploy.resources.limits'), res.limits);
  if (limits !== undefined) spec.limits = limits;
  const reservations = resources(at('deploy.resources.reservations'), res.reservations);
  if (reservations !== undefined) spec.reservations = reservations;
  const restart = restartPolicy(at('deploy.restart_policy'), deploy.restart_policy);
  if (restart !== undefined) spec.restart = restart;
  const update = updateConfig(at('deploy.update_config'), deploy.update_config);
  if (update !== undefined) spec.update = update;
  const rollback = updateConfig(at('deploy.rollback_config'), deploy.rollback_config);
  if (rollback !== undefined) {
    if (rollback.failureAction === UpdateFailureAction.ROLLBACK) {
      fail(at('deploy.rollback_config.failure_action'), 'a rollback cannot roll back (pause or continue)');
    }
    spec.rollback = rollback;
  }
  // endpoint_mode vip and dnsrr are both accepted: shoal's DNS always answers with task addresses.
  return spec;
}

function port(where: string, p: unknown): PortConfig {
  const text =
    typeof p === 'object' && p !== null
      ? Object.entries(dict(p))
          .map(([k, v]) => `${k}=${asText(v)}`)
          .join(',')
      : asText(p);
  try {
    return parsePublish(text);
  } catch (err) {
    if (err instanceof CliError) fail(where, err.message.replace(/--publish/g, 'port'));
    throw err;
  }
}

function tmpfsMount(target: string, size: number): Mount {
  return { ...emptyMount(), type: MountType.TMPFS, target, tmpfsSizeBytes: size };
}
function emptyMount(): Mount {
  return Mount.fromPartial({});
}

function volumeSource(
  where: string,
  key: string,
  ctx: ServiceContext,
): { source: string; labels: Record<string, string> } {
  if (!(key in ctx.volumeDefs)) fail(where, `refers to undefined volume ${key}`);
  const def = dict(ctx.volumeDefs[key]);
  const { name, external } = objectName(ctx.stack, key, def);
  if (external) return { source: name, labels: {} };
  const labels = Object.fromEntries(Object.entries(dictOf(def.labels)).map(([k, v]) => [k, v ?? '']));
  return { source: name, labels: { ...labels, ...ctx.stackLabel } };
}

const isPath = (s: string): boolean => s.startsWith('/') || s.startsWith('.') || s.startsWith('~');

function mount(where: string, v: unknown, ctx: ServiceContext): Mount {
  const m = emptyMount();
  if (typeof v === 'string') {
    const parts = v.split(':');
    if (parts.length === 1) return { ...m, target: v }; // anonymous volume
    const [source = '', target = '', mode = ''] = parts;
    if (parts.length > 3 || !target.startsWith('/'))
      fail(where, `invalid volume "${v}" (expected SOURCE:/TARGET[:ro|rw])`);
    if (mode !== '' && !mode.split(',').every((o) => ['ro', 'rw', 'nocopy'].includes(o))) {
      fail(where, `invalid volume mode "${mode}" (ro, rw or nocopy)`);
    }
    m.target = target;
    m.readOnly = mode.split(',').includes('ro');
    if (isPath(source)) {
      m.type = MountType.BIND;
      m.source = source;
      return m;
    }
    m.volumeNocopy = mode.split(',').includes('nocopy');
    const { source: name, labels } = volumeSource(where, source, ctx);
    return { ...m, source: name, volumeLabels: labels };
  }
  const d = dict(v);
  m.target = asText(d.target ?? '');
  if (!m.target.startsWith('/')) fail(`${where}.target`, 'must be an absolute path');
  m.readOnly = d.read_only === true;
  const source = typeof d.source === 'string' ? d.source : '';
  switch (d.type) {
    case 'bind':
      if (source === '') fail(`${where}.source`, 'a bind mount needs a source path');
      return { ...m, type: MountType.BIND, source, bindPropagation: asText(dict(d.bind).propagation ?? '') };
    case 'tmpfs': {
      const size = dict(d.tmpfs).size;
      const bytes = size === undefined ? 0 : typeof size === 'number' ? size : parseSize(asText(size));
      if (bytes === undefined) fail(`${where}.tmpfs.size`, `invalid size "${asText(size)}"`);
      return { ...tmpfsMount(m.target, bytes), readOnly: m.readOnly };
    }
    default: {
      m.volumeNocopy = dict(d.volume).nocopy === true;
      if (source === '') return m;
      const { source: name, labels } = volumeSource(`${where}.source`, source, ctx);
      return { ...m, source: name, volumeLabels: labels };
    }
  }
}

function fileRefs(
  kind: 'secret' | 'config',
  where: string,
  list: unknown,
  ctx: ServiceContext,
): Array<SecretReference | ConfigReference> {
  return (Array.isArray(list) ? list : []).map((item, i) => {
    const d = typeof item === 'string' ? { source: item } : dict(item);
    const key = asText(d.source ?? '');
    const name = ctx.fileNames[kind].get(key);
    if (name === undefined) fail(`${where}.${i}`, `refers to undefined ${kind} ${key}`);
    const mode = d.mode === undefined ? DEFAULT_FILE_MODE : Number(d.mode);
    const target = {
      name: typeof d.target === 'string' ? d.target : kind === 'secret' ? key : `/${key}`,
      uid: d.uid === undefined ? 0 : Number(d.uid),
      gid: d.gid === undefined ? 0 : Number(d.gid),
      mode,
    };
    return kind === 'secret' ? { secretId: '', secretName: name, target } : { configId: '', configName: name, target };
  });
}

function healthcheck(where: string, v: unknown): HealthConfig | undefined {
  if (v === undefined) return undefined;
  const h = dict(v);
  if (h.disable === true) return { test: ['NONE'], intervalMs: 0, timeoutMs: 0, retries: 0, startPeriodMs: 0 };
  const test = typeof h.test === 'string' ? ['CMD-SHELL', h.test] : strings(h.test);
  return {
    test,
    intervalMs: duration(`${where}.interval`, h.interval) ?? 0,
    timeoutMs: duration(`${where}.timeout`, h.timeout) ?? 0,
    retries: typeof h.retries === 'number' ? h.retries : 0,
    startPeriodMs: duration(`${where}.start_period`, h.start_period) ?? 0,
  };
}

function resources(where: string, v: unknown): Resources | undefined {
  if (v === undefined) return undefined;
  const r = dict(v);
  const cpus = r.cpus === undefined ? 0 : parseCpus(asText(r.cpus));
  if (cpus === undefined) fail(`${where}.cpus`, `invalid "${asText(r.cpus)}" (e.g. 0.5)`);
  const memory = r.memory === undefined ? 0 : parseSize(asText(r.memory));
  if (memory === undefined) fail(`${where}.memory`, `invalid "${asText(r.memory)}" (e.g. 64M)`);
  return { nanoCpus: cpus, memoryBytes: memory };
}

function restartPolicy(where: string, v: unknown): RestartPolicy | undefined {
  if (v === undefined) return undefined;
  const r = dict(v);
  const conditions: Record<string, RestartCondition> = {
    any: RestartCondition.ANY,
    'on-failure': RestartCondition.ON_FAILURE,
    none: RestartCondition.NONE,
  };
  const policy: RestartPolicy = {
    condition: conditions[asText(r.condition ?? 'any')] ?? RestartCondition.ANY,
    maxAttempts: typeof r.max_attempts === 'number' ? r.max_attempts : 0,
    windowMs: duration(`${where}.window`, r.window) ?? 0,
  };
  const delay = duration(`${where}.delay`, r.delay);
  if (delay !== undefined) policy.delayMs = delay;
  return policy;
}

function updateConfig(where: string, v: unknown): UpdateConfig | undefined {
  if (v === undefined) return undefined;
  const u = dict(v);
  const actions: Record<string, UpdateFailureAction> = {
    pause: UpdateFailureAction.PAUSE,
    continue: UpdateFailureAction.CONTINUE,
    rollback: UpdateFailureAction.ROLLBACK,
  };
  return {
    ...UPDATE_DEFAULTS,
    ...(typeof u.parallelism === 'number' ? { parallelism: u.parallelism } : {}),
    ...(u.delay !== undefined ? { delayMs: duration(`${where}.delay`, u.delay) ?? 0 } : {}),
    ...(u.failure_action !== undefined
      ? { failureAction: actions[asText(u.failure_action)] ?? UpdateFailureAction.PAUSE }
      : {}),
    ...(u.monitor !== undefined ? { monitorMs: duration(`${where}.monitor`, u.monitor) ?? 0 } : {}),
    ...(typeof u.max_failure_ratio === 'number' ? { maxFailureRatio: u.max_failure_ratio } : {}),
    ...(u.order === 'start-first' ? { order: UpdateOrder.START_FIRST } : {}),
  };
}
