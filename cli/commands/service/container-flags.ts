// The container options of a service (mounts, user, workdir, entrypoint, hostname, labels on
// containers, stop signal, read-only root, init, capabilities, ulimits, DNS, placement
// preferences, replicas per node, --env-file): their `service create` flags and their
// `service update` flags (the -add/-rm pairs, with docker's semantics), parsed in one place.
// Values are parsed by cli/parse/container-values.ts; the bounds are proto/container-rules.ts's.
import type { DnsConfig, Mount, PlacementPreference, ServiceSpec, Ulimit } from '../../../proto/gen/shoal.js';
import type { FlagSpec, FlagValues } from '../../parse/flags.js';
import {
  parseCapability,
  parseEntrypoint,
  parseMount,
  parsePlacementPref,
  parseSignal,
  parseUlimit,
  readEnvFile,
} from '../../parse/container-values.js';
import { countFlag, labelFlags } from '../../parse/values.js';
import { UsageError } from '../../errors.js';
import { envVars } from './spec-flags.js';

const s = (long: string, value: string, help: string, short?: string): FlagSpec =>
  short === undefined ? { long, type: 'string', value, help } : { long, short, type: 'string', value, help };
const b = (long: string, help: string): FlagSpec => ({ long, type: 'boolean', help });

const MOUNT_HELP = 'type=volume|bind|tmpfs,source=SRC,target=/PATH[,readonly]';
/** Docker names it --replicas-max-per-node; the issue --max-replicas-per-node: both work. */
const MAX_PER_NODE = ['max-replicas-per-node', 'replicas-max-per-node'];

const SHARED_FLAGS: FlagSpec[] = [
  s('user', 'USER[:GROUP]', 'Username or UID, optionally :GROUP or :GID', 'u'),
  s('workdir', 'DIR', 'Working directory inside the container', 'w'),
  s('entrypoint', 'CMD', "Overwrite the image's ENTRYPOINT (split like a shell command)"),
  s('hostname', 'NAME', 'Container hostname'),
  s('stop-signal', 'SIGNAL', "Signal to stop the container (default: the image's, else SIGTERM)"),
  b('read-only', "Mount the container's root filesystem as read-only"),
  b('init', 'Run an init inside each container that forwards signals and reaps processes'),
  s('cap-add', 'CAP', 'Add a Linux capability (repeatable; ALL for every one)'),
  s('cap-drop', 'CAP', 'Drop a Linux capability (repeatable; ALL for every one)'),
  s(MAX_PER_NODE[0]!, 'N', 'Maximum number of tasks per node (default 0: unlimited)'),
  s(MAX_PER_NODE[1]!, 'N', "Same as --max-replicas-per-node (docker's name)"),
];

/** The flags `service create` takes for container options. */
export const CONTAINER_CREATE_FLAGS: FlagSpec[] = [
  s('mount', MOUNT_HELP, 'Attach a volume, bind mount or tmpfs (repeatable)'),
  s('env-file', 'FILE', 'Read environment variables from a file (KEY=VALUE lines; --env adds after)'),
  s('container-label', 'KEY=VALUE', 'Set a label on the containers (repeatable)'),
  s('ulimit', 'NAME=SOFT[:HARD]', 'Ulimit option, e.g. nofile=1024:2048 (repeatable)'),
  s('dns', 'IP', "Upstream nameserver for this service's containers (repeatable)"),
  s('dns-search', 'DOMAIN', 'DNS search domain (repeatable)'),
  s('dns-option', 'OPT', 'DNS resolver option, e.g. ndots:2 (repeatable)'),
  s('placement-pref', 'spread=node.labels.KEY', "Spread tasks evenly over a node label's values (repeatable, nested)"),
  ...SHARED_FLAGS,
];

/** The flags `service update` takes for container options. */
export const CONTAINER_UPDATE_FLAGS: FlagSpec[] = [
  s('mount-add', MOUNT_HELP, 'Add or replace (same target) a mount (repeatable)'),
  s('mount-rm', 'TARGET', 'Remove the mount at a container path (repeatable)'),
  s('container-label-add', 'KEY=VALUE', 'Add or update a container label (repeatable)'),
  s('container-label-rm', 'KEY', 'Remove a container label (repeatable)'),
  s('ulimit-add', 'NAME=SOFT[:HARD]', 'Add or update a ulimit (repeatable)'),
  s('ulimit-rm', 'NAME', 'Remove a ulimit (repeatable)'),
  s('dns-add', 'IP', 'Add a nameserver (repeatable)'),
  s('dns-rm', 'IP', 'Remove a nameserver (repeatable)'),
  s('dns-search-add', 'DOMAIN', 'Add a DNS search domain (repeatable)'),
  s('dns-search-rm', 'DOMAIN', 'Remove a DNS search domain (repeatable)'),
  s('dns-option-add', 'OPT', 'Add a DNS option (repeatable)'),
  s('dns-option-rm', 'OPT', 'Remove a DNS option (repeatable)'),
  s('placement-pref-add', 'spread=node.labels.KEY', 'Add a placement preference (repeatable)'),
  s('placement-pref-rm', 'spread=node.labels.KEY', 'Remove a placement preference (repeatable)'),
  ...SHARED_FLAGS,
];

const uniq = (xs: string[]): string[] => [...new Set(xs)];

function nonEmpty(flags: FlagValues, long: string): string[] {
  return flags.list(long).map((v) => {
    if (v.trim() === '') throw new UsageError(`--${long} must not be empty`);
    return v.trim();
  });
}

/** Docker's rule: "ALL" stands alone; a capability both added and dropped is added. */
function effectiveCaps(add: string[], drop: string[]): { capAdd: string[]; capDrop: string[] } {
  const capAdd = add.includes('ALL') ? ['ALL'] : uniq(add);
  let capDrop = drop.includes('ALL') ? ['ALL'] : uniq(drop);
  capDrop = capDrop.filter((c) => !capAdd.includes(c));
  return { capAdd, capDrop };
}

function caps(flags: FlagValues, long: string): string[] {
  return flags.list(long).map((c) => parseCapability(c, long));
}

function maxPerNode(flags: FlagValues): number | undefined {
  let n: number | undefined;
  for (const long of MAX_PER_NODE) n = countFlag(flags, long) ?? n;
  return n;
}

/** The options both commands set the same way; only those whose flag was given. */
function sharedOptions(flags: FlagValues): Partial<ServiceSpec> {
  const out: Partial<ServiceSpec> = {};
  const user = flags.string('user');
  if (user !== undefined) out.user = user.trim();
  const workdir = flags.string('workdir');
  if (workdir !== undefined) out.workdir = workdir.trim();
  const entrypoint = flags.string('entrypoint');
  if (entrypoint !== undefined) out.entrypoint = parseEntrypoint(entrypoint);
  const hostname = flags.string('hostname');
  if (hostname !== undefined) out.hostname = hostname.trim();
  const signal = flags.string('stop-signal');
  if (signal !== undefined) out.stopSignal = parseSignal(signal);
  if (flags.has('read-only')) out.readOnly = flags.bool('read-only');
  if (flags.has('init')) out.init = flags.bool('init');
  const max = maxPerNode(flags);
  if (max !== undefined) out.maxReplicasPerNode = max;
  return out;
}

/** The container options `service create` sets, from its flags. */
export function containerOptions(flags: FlagValues, env: NodeJS.ProcessEnv = process.env): Partial<ServiceSpec> {
  const out: Partial<ServiceSpec> = {
    mounts: flags.list('mount').map((m) => parseMount(m)),
    containerLabels: labelFlags(flags, 'container-label'),
    ulimits: flags.list('ulimit').map((u) => parseUlimit(u)),
    preferences: flags.list('placement-pref').map((p) => parsePlacementPref(p)),
    ...effectiveCaps(caps(flags, 'cap-add'), caps(flags, 'cap-drop')),
    ...sharedOptions(flags),
  };
  const dns: DnsConfig = {
    nameservers: uniq(nonEmpty(flags, 'dns')),
    search: uniq(nonEmpty(flags, 'dns-search')),
    options: uniq(nonEmpty(flags, 'dns-option')),
  };
  if (dns.nameservers.length + dns.search.length + dns.options.length > 0) out.dns = dns;
  const envFiles = flags.list('env-file');
  // docker: the files' variables first, in order, then --env (a later one wins in the engine).
  if (envFiles.length > 0) out.env = [...envFiles.flatMap((f) => readEnvFile(f, env)), ...envVars(flags, 'env')];
  return out;
}

/** `list` minus the removed keys, then the added entries replacing those with the same key. */
function addRm<T>(list: T[], keyOf: (t: T) => string, rm: string[], add: T[]): T[] {
  const addKeys = new Set(add.map(keyOf));
  const kept = list.filter((t) => !rm.includes(keyOf(t)) && !addKeys.has(keyOf(t)));
  return [...kept, ...add];
}

const trimSlash = (p: string): string => (p.length > 1 ? p.replace(/\/+$/, '') : p);

/** `spec` with the container options `service update`'s flags change (a new object). */
export function updateContainerOptions(flags: FlagValues, spec: ServiceSpec): ServiceSpec {
  const next: ServiceSpec = { ...spec, ...sharedOptions(flags) };

  const mountsAdd: Mount[] = flags.list('mount-add').map((m) => parseMount(m, 'mount-add'));
  const mountsRm = nonEmpty(flags, 'mount-rm').map(trimSlash);
  next.mounts = addRm(spec.mounts, (m) => trimSlash(m.target), mountsRm, mountsAdd);

  const labels = { ...spec.containerLabels };
  for (const k of nonEmpty(flags, 'container-label-rm')) delete labels[k];
  Object.assign(labels, labelFlags(flags, 'container-label-add'));
  next.containerLabels = labels;

  const ulimitsAdd: Ulimit[] = flags.list('ulimit-add').map((u) => parseUlimit(u, 'ulimit-add'));
  next.ulimits = addRm(spec.ulimits, (u) => u.name, nonEmpty(flags, 'ulimit-rm'), ulimitsAdd);

  const dns = spec.dns ?? { nameservers: [], search: [], options: [] };
  const listAddRm = (list: string[], long: string): string[] => {
    const rm = nonEmpty(flags, `${long}-rm`);
    return uniq([...list.filter((x) => !rm.includes(x)), ...nonEmpty(flags, `${long}-add`)]);
  };
  const nextDns: DnsConfig = {
    nameservers: listAddRm(dns.nameservers, 'dns'),
    search: listAddRm(dns.search, 'dns-search'),
    options: listAddRm(dns.options, 'dns-option'),
  };
  if (spec.dns !== undefined || nextDns.nameservers.length + nextDns.search.length + nextDns.options.length > 0)
    next.dns = nextDns;

  const prefRm = flags.list('placement-pref-rm').map((p) => parsePlacementPref(p, 'placement-pref-rm').spread);
  const prefAdd: PlacementPreference[] = flags
    .list('placement-pref-add')
    .map((p) => parsePlacementPref(p, 'placement-pref-add'));
  next.preferences = [...spec.preferences.filter((p) => !prefRm.includes(p.spread)), ...prefAdd];

  // docker's update: an added capability leaves the drop list and a dropped one the add list.
  if (flags.has('cap-add') || flags.has('cap-drop')) {
    const add = caps(flags, 'cap-add');
    const drop = caps(flags, 'cap-drop');
    next.capAdd = uniq([...spec.capAdd.filter((c) => !drop.includes(c)), ...add]);
    next.capDrop = uniq([...spec.capDrop.filter((c) => !add.includes(c)), ...drop]);
    Object.assign(next, effectiveCaps(next.capAdd, next.capDrop));
  }
  return next;
}
