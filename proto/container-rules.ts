// The container options of a service spec (mounts, user, workdir, entrypoint, hostname,
// container labels, stop signal, capabilities, ulimits, DNS, placement preferences, replicas
// per node): their bounds and forms, checked by the CLI before it calls and by the manager
// on every request (proto/spec-rules.ts's checkServiceSpec runs checkContainerOptions), so
// both refuse the same input with the same one-line message. Also the canonical forms the
// CLI parses into (capability and signal names, ulimit names, spread descriptors). Pure.
import { isIP } from 'node:net';
import type { DnsConfig, Mount, ServiceSpec, Ulimit } from './gen/shoal.js';
import { MountType, ServiceMode } from './gen/shoal.js';
import { quote } from './quote.js';
import { InputError, checkLabels, checkLength, checkText } from './spec-rules.js';

/** Mounts of one service: far more than any application needs, small enough to stay cheap. */
export const MAX_MOUNTS = 64;
/** A host path or a container path (Linux's PATH_MAX). */
export const MAX_PATH_BYTES = 4_096;
/** Entries of --entrypoint, --cap-add/--cap-drop, --ulimit, each --dns* list, --placement-pref. */
export const MAX_ENTRYPOINT_ARGS = 1_024;
export const MAX_ENTRYPOINT_BYTES = 128 * 1024;
export const MAX_CAPABILITIES = 64;
export const MAX_ULIMITS = 32;
export const MAX_DNS_ENTRIES = 16;
export const MAX_DNS_TEXT_BYTES = 255;
/** Nested spread levels: each level multiplies the scheduler's branches. */
export const MAX_PREFERENCES = 8;
/** A tmpfs mode is permission bits (with setuid/setgid/sticky). */
export const MAX_TMPFS_MODE = 0o7777;

/** A named volume, as docker's local driver accepts it. */
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$/;
/** A user or group: a name or a number, optionally `:group`. */
const USER = /^[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,127}(:[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,127})?$/;
/** A hostname: RFC 1123 labels. */
const HOSTNAME =
  /^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;
const DNS_OPTION = /^[a-zA-Z0-9_-]+(:\d{1,6})?$/;
const DOMAIN =
  /^(?=.{1,253}$)[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?(\.[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?)*\.?$/;

export const BIND_PROPAGATIONS = ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'] as const;

/** Linux capabilities (capabilities(7)), as docker names them; "ALL" stands for every one. */
export const CAPABILITIES = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER',
  'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE',
  'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP',
  'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF',
  'CHECKPOINT_RESTORE',
].map((c) => `CAP_${c}`); // prettier-ignore

/** Signals a container can be stopped with (signal(7)); also 1..64 as numbers, and SIGRTMIN+n. */
export const SIGNALS = [
  'SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGILL', 'SIGTRAP', 'SIGABRT', 'SIGBUS', 'SIGFPE', 'SIGKILL', 'SIGUSR1',
  'SIGSEGV', 'SIGUSR2', 'SIGPIPE', 'SIGALRM', 'SIGTERM', 'SIGSTKFLT', 'SIGCHLD', 'SIGCONT', 'SIGSTOP',
  'SIGTSTP', 'SIGTTIN', 'SIGTTOU', 'SIGURG', 'SIGXCPU', 'SIGXFSZ', 'SIGVTALRM', 'SIGPROF', 'SIGWINCH',
  'SIGIO', 'SIGPWR', 'SIGSYS', 'SIGIOT', 'SIGPOLL',
]; // prettier-ignore

/** setrlimit(2) resources, as docker's --ulimit names them. */
export const ULIMIT_NAMES = [
  'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio',
  'rttime', 'sigpending', 'stack',
]; // prettier-ignore

/** "net_admin", "NET_ADMIN", "CAP_NET_ADMIN" -> "CAP_NET_ADMIN"; "all" -> "ALL"; undefined if unknown. */
export function normalizeCapability(text: string): string | undefined {
  const upper = text.trim().toUpperCase();
  if (upper === 'ALL') return 'ALL';
  const cap = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  return CAPABILITIES.includes(cap) ? cap : undefined;
}

/** "int", "SIGINT", "sigint" -> "SIGINT"; "9" -> "9"; "SIGRTMIN+3"; undefined if unknown. */
export function normalizeSignal(text: string): string | undefined {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t) >= 1 && Number(t) <= 64 ? String(Number(t)) : undefined;
  const upper = t.toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  if (SIGNALS.includes(name)) return name;
  const rt = /^SIGRT(MIN|MAX)([+-]\d{1,2})?$/.exec(name);
  if (rt && (rt[2] === undefined || Math.abs(Number(rt[2])) <= 30)) return name;
  return undefined;
}

/** Spread descriptors the scheduler knows: `node.labels.K`, `engine.labels.K`, `node.hostname`, `node.id`. */
export function checkSpreadDescriptor(text: string, label = '--placement-pref'): void {
  const ok = text === 'node.hostname' || text === 'node.id' || /^(node|engine)\.labels\.[^\s=]+$/.test(text);
  if (!ok || Buffer.byteLength(text) > 256)
    throw new InputError(
      `invalid ${label} ${quote(`spread=${text}`)}: expected spread=node.labels.KEY (or engine.labels.KEY, node.hostname)`,
    );
}

function checkPath(path: string, label: string): void {
  checkText(path, MAX_PATH_BYTES, label);
  if (!path.startsWith('/')) throw new InputError(`invalid ${label} ${quote(path)}: must be an absolute path`);
  if (/[\0\n]/.test(path)) throw new InputError(`invalid ${label} ${quote(path)}: must not contain NUL or newlines`);
}

/** One mount: a known type, an absolute target, a source and options that fit its type. */
export function checkMount(m: Mount, label = '--mount'): void {
  const t = m.target;
  if (t === '') throw new InputError(`invalid ${label}: target is required`);
  checkPath(t, `${label} target`);
  if (t === '/') throw new InputError(`invalid ${label} target "/": cannot mount over the root filesystem`);
  const volumeOnly = m.volumeNocopy || Object.keys(m.volumeLabels).length > 0;
  const tmpfsOnly = m.tmpfsSizeBytes !== 0 || m.tmpfsMode !== 0;
  switch (m.type) {
    case MountType.VOLUME:
      if (m.source !== '' && !VOLUME_NAME.test(m.source))
        throw new InputError(
          `invalid ${label} source ${quote(m.source)}: a volume name is letters, digits, "_", "." and "-", starting with a letter or digit`,
        );
      if (m.source === '' && volumeOnly && Object.keys(m.volumeLabels).length > 0)
        throw new InputError(`invalid ${label} for ${quote(t)}: volume-label needs a named volume (source)`);
      checkLabels(m.volumeLabels, `${label} volume-label`);
      break;
    case MountType.BIND:
      if (m.source === '') throw new InputError(`invalid ${label} for ${quote(t)}: a bind mount needs a source`);
      checkPath(m.source, `${label} source`);
      if (m.bindPropagation !== '' && !(BIND_PROPAGATIONS as readonly string[]).includes(m.bindPropagation))
        throw new InputError(
          `invalid ${label} bind-propagation ${quote(m.bindPropagation)}: expected ${BIND_PROPAGATIONS.join(', ')}`,
        );
      break;
    case MountType.TMPFS:
      if (m.source !== '') throw new InputError(`invalid ${label} for ${quote(t)}: a tmpfs mount takes no source`);
      if (!Number.isSafeInteger(m.tmpfsSizeBytes) || m.tmpfsSizeBytes < 0)
        throw new InputError(`invalid ${label} tmpfs-size ${m.tmpfsSizeBytes}: must not be negative`);
      if (!Number.isInteger(m.tmpfsMode) || m.tmpfsMode < 0 || m.tmpfsMode > MAX_TMPFS_MODE)
        throw new InputError(
          `invalid ${label} tmpfs-mode ${m.tmpfsMode.toString(8)}: expected an octal mode up to 7777`,
        );
      break;
    default:
      throw new InputError(`invalid ${label} type ${m.type}: expected volume, bind or tmpfs`);
  }
  if (m.type !== MountType.VOLUME && volumeOnly)
    throw new InputError(`invalid ${label} for ${quote(t)}: volume-nocopy and volume-label are for type=volume`);
  if (m.type !== MountType.TMPFS && tmpfsOnly)
    throw new InputError(`invalid ${label} for ${quote(t)}: tmpfs-size and tmpfs-mode are for type=tmpfs`);
  if (m.type !== MountType.BIND && m.bindPropagation !== '')
    throw new InputError(`invalid ${label} for ${quote(t)}: bind-propagation is for type=bind`);
}

export function checkMounts(mounts: Mount[], label = '--mount'): void {
  checkLength(mounts.length, MAX_MOUNTS, `${label} values`);
  const targets = new Set<string>();
  for (const m of mounts) {
    checkMount(m, label);
    const t = m.target.replace(/\/+$/, '');
    if (targets.has(t)) throw new InputError(`invalid ${label}: target ${quote(m.target)} is mounted twice`);
    targets.add(t);
  }
}

/** name=soft:hard, soft <= hard, -1 meaning unlimited; each name once. */
export function checkUlimits(ulimits: Ulimit[], label = '--ulimit'): void {
  checkLength(ulimits.length, MAX_ULIMITS, `${label} values`);
  const seen = new Set<string>();
  for (const u of ulimits) {
    const shown = quote(`${u.name}=${u.soft}:${u.hard}`);
    if (!ULIMIT_NAMES.includes(u.name))
      throw new InputError(`invalid ${label} ${shown}: unknown name, expected one of ${ULIMIT_NAMES.join(', ')}`);
    if (seen.has(u.name)) throw new InputError(`invalid ${label}: ${quote(u.name)} is given twice`);
    seen.add(u.name);
    for (const n of [u.soft, u.hard])
      if (!Number.isSafeInteger(n) || n < -1)
        throw new InputError(`invalid ${label} ${shown}: limits are non-negative integers or -1 (unlimited)`);
    const inf = (n: number): number => (n === -1 ? Infinity : n);
    if (inf(u.soft) > inf(u.hard))
      throw new InputError(`invalid ${label} ${shown}: the soft limit must not exceed the hard limit`);
  }
}

export function checkDns(dns: DnsConfig | undefined): void {
  if (!dns) return;
  checkLength(dns.nameservers.length, MAX_DNS_ENTRIES, '--dns values');
  for (const ns of dns.nameservers)
    if (isIP(ns) === 0) throw new InputError(`invalid --dns ${quote(ns)}: expected an IP address`);
  checkLength(dns.search.length, MAX_DNS_ENTRIES, '--dns-search values');
  for (const s of dns.search)
    if (s !== '.' && !DOMAIN.test(s)) throw new InputError(`invalid --dns-search ${quote(s)}: expected a domain name`);
  checkLength(dns.options.length, MAX_DNS_ENTRIES, '--dns-option values');
  for (const o of dns.options) {
    checkText(o, MAX_DNS_TEXT_BYTES, '--dns-option');
    if (!DNS_OPTION.test(o)) throw new InputError(`invalid --dns-option ${quote(o)}: expected OPTION or OPTION:N`);
  }
}

function checkCapabilities(caps: string[], label: string): void {
  checkLength(caps.length, MAX_CAPABILITIES, `${label} values`);
  for (const c of caps)
    if (normalizeCapability(c) === undefined)
      throw new InputError(`invalid ${label} ${quote(c)}: not a Linux capability (e.g. NET_ADMIN or ALL)`);
}

/** Every container option of `spec` (see the file's header). */
export function checkContainerOptions(spec: ServiceSpec): void {
  checkMounts(spec.mounts);
  if (spec.user !== '' && !USER.test(spec.user))
    throw new InputError(`invalid --user ${quote(spec.user)}: expected USER, UID, USER:GROUP or UID:GID`);
  if (spec.workdir !== '') checkPath(spec.workdir, '--workdir');
  checkLength(spec.entrypoint.length, MAX_ENTRYPOINT_ARGS, '--entrypoint arguments');
  checkText(spec.entrypoint.join(' '), MAX_ENTRYPOINT_BYTES, '--entrypoint');
  if (spec.hostname !== '' && !HOSTNAME.test(spec.hostname))
    throw new InputError(
      `invalid --hostname ${quote(spec.hostname)}: expected a host name (letters, digits, "-", ".")`,
    );
  checkLabels(spec.containerLabels, '--container-label');
  if (spec.stopSignal !== '' && normalizeSignal(spec.stopSignal) === undefined)
    throw new InputError(
      `invalid --stop-signal ${quote(spec.stopSignal)}: expected a signal name (e.g. SIGINT) or number`,
    );
  checkCapabilities(spec.capAdd, '--cap-add');
  checkCapabilities(spec.capDrop, '--cap-drop');
  checkUlimits(spec.ulimits);
  checkDns(spec.dns);
  checkLength(spec.preferences.length, MAX_PREFERENCES, '--placement-pref values');
  for (const p of spec.preferences) checkSpreadDescriptor(p.spread);
  const max = spec.maxReplicasPerNode;
  if (!Number.isSafeInteger(max) || max < 0)
    throw new InputError(`invalid --max-replicas-per-node ${max}: must be a non-negative integer`);
  if (max > 0 && spec.mode !== ServiceMode.REPLICATED)
    throw new InputError('--max-replicas-per-node can only be used with replicated mode');
}
