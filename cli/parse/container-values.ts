// Parsers for the container options' flag values, in docker's forms: `--mount` (its CSV
// form), `--ulimit name=soft[:hard]`, `--placement-pref spread=DESCRIPTOR`, `--entrypoint`
// (split as docker does, with shell-quote), `--env-file` (KEY=VALUE lines). Each bad value is
// a one-line UsageError naming the flag and the value. The bounds both sides check are
// proto/container-rules.ts's.
import { readFileSync } from 'node:fs';
import { parse as shellParse } from 'shell-quote';
import { Mount, MountType, type PlacementPreference, type Ulimit } from '../../proto/gen/shoal.js';
import {
  checkMount,
  checkSpreadDescriptor,
  checkUlimits,
  normalizeCapability,
  normalizeSignal,
} from '../../proto/container-rules.js';
import { quote } from '../../proto/quote.js';
import { UsageError } from '../errors.js';
import { asUsage, parseSize } from './values.js';

/** An --env-file larger than this is refused (the spec's env is bounded far below it). */
const MAX_ENV_FILE_BYTES = 1024 * 1024;

/** Splits one CSV record (RFC 4180 quoting: `"a,b"`, `""` for a quote), as docker's --mount. */
export function splitCsv(text: string): string[] | undefined {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  let atStart = true;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && atStart) {
      quoted = true;
      atStart = false;
    } else if (c === ',') {
      fields.push(field);
      field = '';
      atStart = true;
    } else {
      field += c;
      atStart = false;
    }
  }
  if (quoted) return undefined;
  fields.push(field);
  return fields;
}

function parseBool(text: string | undefined): boolean | undefined {
  if (text === undefined) return true;
  const t = text.toLowerCase();
  if (t === 'true' || t === '1') return true;
  if (t === 'false' || t === '0') return false;
  return undefined;
}

/** `type=volume,source=data,target=/data,readonly` -> a Mount (docker's --mount CSV form). */
export function parseMount(text: string, long = 'mount'): Mount {
  const bad = (why: string): UsageError => new UsageError(`invalid --${long} ${quote(text)}: ${why}`);
  const fields = splitCsv(text);
  if (fields === undefined) throw bad('unterminated quote');
  const m: Mount = Mount.fromPartial({}); // a volume mount with every option at its default
  for (const field of fields) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? undefined : field.slice(eq + 1);
    const need = (): string => {
      if (value === undefined) throw bad(`${key} needs a value (${key}=...)`);
      return value;
    };
    switch (key) {
      case 'type': {
        const t = need();
        if (t === 'volume') m.type = MountType.VOLUME;
        else if (t === 'bind') m.type = MountType.BIND;
        else if (t === 'tmpfs') m.type = MountType.TMPFS;
        else throw bad(`unknown type ${quote(t)}, expected volume, bind or tmpfs`);
        break;
      }
      case 'source':
      case 'src':
        m.source = need();
        break;
      case 'target':
      case 'destination':
      case 'dst':
        m.target = need();
        break;
      case 'readonly':
      case 'ro': {
        const b = parseBool(value);
        if (b === undefined) throw bad(`${key} takes true or false, got ${quote(value ?? '')}`);
        m.readOnly = b;
        break;
      }
      case 'volume-nocopy': {
        const b = parseBool(value);
        if (b === undefined) throw bad(`volume-nocopy takes true or false, got ${quote(value ?? '')}`);
        m.volumeNocopy = b;
        break;
      }
      case 'volume-label': {
        const kv = need();
        const i = kv.indexOf('=');
        if (i <= 0) throw bad(`volume-label takes KEY=VALUE, got ${quote(kv)}`);
        m.volumeLabels[kv.slice(0, i)] = kv.slice(i + 1);
        break;
      }
      case 'volume-driver':
        if (need() !== 'local') throw bad(`only the local volume driver is supported, got ${quote(need())}`);
        break;
      case 'tmpfs-size': {
        const n = parseSize(need());
        if (n === undefined) throw bad(`tmpfs-size takes a size (e.g. 64m), got ${quote(need())}`);
        m.tmpfsSizeBytes = n;
        break;
      }
      case 'tmpfs-mode': {
        const v = need();
        if (!/^0?[0-7]{1,4}$/.test(v)) throw bad(`tmpfs-mode takes an octal mode (e.g. 1770), got ${quote(v)}`);
        m.tmpfsMode = parseInt(v, 8);
        break;
      }
      case 'bind-propagation':
        m.bindPropagation = need();
        break;
      default:
        throw bad(`unexpected key ${quote(key)}`);
    }
  }
  if (m.target === '') throw bad('target is required (target=/PATH)');
  asUsage(() => checkMount(m, `--${long}`));
  return m;
}

/** `nofile=1024:2048`, `nproc=512` (hard = soft), `-1` for unlimited. */
export function parseUlimit(text: string, long = 'ulimit'): Ulimit {
  const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(text.trim());
  if (!m) throw new UsageError(`invalid --${long} ${quote(text)}: expected NAME=SOFT[:HARD], e.g. nofile=1024:2048`);
  const soft = Number(m[2]);
  const u: Ulimit = { name: m[1]!, soft, hard: m[3] === undefined ? soft : Number(m[3]) };
  asUsage(() => checkUlimits([u], `--${long}`));
  return u;
}

/** `spread=node.labels.zone` (the only strategy, as Swarm's). */
export function parsePlacementPref(text: string, long = 'placement-pref'): PlacementPreference {
  const eq = text.indexOf('=');
  const strategy = eq < 0 ? text : text.slice(0, eq);
  if (strategy !== 'spread')
    throw new UsageError(`invalid --${long} ${quote(text)}: only spread is supported (spread=node.labels.KEY)`);
  const spread = text.slice(eq + 1);
  asUsage(() => checkSpreadDescriptor(spread, `--${long}`));
  return { spread };
}

/** Splits --entrypoint as a shell would (quotes, escapes), without expanding variables. */
export function parseEntrypoint(text: string): string[] {
  const words: string[] = [];
  for (const e of shellParse(text, (key) => `$${key}`)) {
    if (typeof e === 'string') words.push(e);
    else if ('comment' in e) throw new UsageError(`invalid --entrypoint ${quote(text)}: unexpected "#"`);
    else if (e.op === 'glob') words.push(e.pattern);
    else words.push(e.op);
  }
  return words;
}

export function parseCapability(text: string, long: string): string {
  const c = normalizeCapability(text);
  if (c === undefined)
    throw new UsageError(`invalid --${long} ${quote(text)}: not a Linux capability (e.g. NET_ADMIN or ALL)`);
  return c;
}

export function parseSignal(text: string): string {
  const s = normalizeSignal(text);
  if (s === undefined)
    throw new UsageError(`invalid --stop-signal ${quote(text)}: expected a signal name (e.g. SIGINT) or number`);
  return s;
}

/**
 * An --env-file, as docker reads it: one KEY=VALUE per line (the value as written, no quote
 * handling), blank lines and lines starting with "#" skipped, a bare KEY taking its value
 * from `env` (left out when unset there).
 */
export function readEnvFile(
  path: string,
  env: NodeJS.ProcessEnv = process.env,
  read: (p: string) => string = (p) => readFileSync(p, 'utf8'),
): string[] {
  let text: string;
  try {
    text = read(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (code ?? String(err));
    throw new UsageError(`invalid --env-file ${quote(path)}: ${why}`);
  }
  if (Buffer.byteLength(text) > MAX_ENV_FILE_BYTES)
    throw new UsageError(`invalid --env-file ${quote(path)}: larger than 1 MiB`);
  const out: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const key = eq < 0 ? line.replace(/\s+$/, '') : line.slice(0, eq);
    if (key === '') throw new UsageError(`invalid --env-file ${quote(path)} line ${i + 1}: no variable name`);
    if (/\s/.test(key))
      throw new UsageError(`invalid --env-file ${quote(path)} line ${i + 1}: variable ${quote(key)} contains spaces`);
    if (eq >= 0) out.push(`${key}=${line.slice(eq + 1)}`);
    else if (env[key] !== undefined) out.push(`${key}=${env[key]}`);
  });
  return out;
}
