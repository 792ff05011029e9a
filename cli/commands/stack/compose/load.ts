// Compose files -> one plain compose object, as `docker stack deploy -c A -c B` reads them:
// each file parsed (yaml, positions kept), its values interpolated, its keys sorted into
// ignored / deprecated / refused (keys.ts), validated against schema.ts; then the files are
// merged, later ones overriding. Every error names the file, line and key; nothing is sent.
import { dirname, resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import { COMPOSE_SCHEMA } from './schema.js';
import { ComposeError } from './common.js';
import { interpolate, InterpolationError } from './interpolate.js';
import { serviceKeys, uniqueSorted } from './keys.js';

/** A scalar as compose means it (`80`, `true`); anything else as JSON. */
function asText(v: unknown): string {
  return typeof v === 'string'
    ? v
    : typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined
      ? `${v}`
      : JSON.stringify(v);
}

/** An invalid compose file: one line naming the file, line and key. */
export { ComposeError } from './common.js';

export interface ComposeSource {
  path: string;
  text: string;
}

/** The merged file, in compose's own words (plain objects), with paths made absolute. */
export type ComposeObject = Record<string, unknown>;
type Dict = Record<string, unknown>;

export interface Loaded {
  compose: ComposeObject;
  /** `Ignoring unsupported options: ...`, `Ignoring deprecated options: ...` */
  warnings: string[];
}

const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile(COMPOSE_SCHEMA);

export function loadCompose(sources: readonly ComposeSource[], env: ReadonlyMap<string, string>): Loaded {
  if (sources.length === 0) throw new ComposeError('please specify a compose file (with --compose-file)');
  const ignored: string[] = [];
  const deprecated: string[] = [];
  const files = sources.map((source) => {
    const file = loadOne(source, env);
    const found = serviceKeys(asDict(file.services) as Record<string, Dict>);
    ignored.push(...found.ignored);
    deprecated.push(...found.deprecated);
    return file;
  });
  const compose = files.reduce((merged, next) => mergeCompose(merged, next), {} as Dict);
  const warnings: string[] = [];
  if (ignored.length > 0) warnings.push(`Ignoring unsupported options: ${uniqueSorted(ignored).join(', ')}`);
  if (deprecated.length > 0) warnings.push(`Ignoring deprecated options: ${uniqueSorted(deprecated).join(', ')}`);
  return { compose, warnings };
}

function asDict(v: unknown): Dict {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Dict) : {};
}

function loadOne({ path, text }: ComposeSource, env: ReadonlyMap<string, string>): Dict {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (node: Node | null | undefined): string => {
    const offset = node?.range?.[0];
    return offset === undefined ? path : `${path}:${lines.linePos(offset).line}`;
  };
  const first = doc.errors[0];
  if (first !== undefined) {
    const line = lines.linePos(first.pos[0]).line;
    throw new ComposeError(`${path}:${line}: invalid YAML: ${first.message.split('\n')[0] ?? ''}`);
  }
  if (!isMap(doc.contents))
    throw new ComposeError(`${path}: the top level must be a mapping (services:, networks: ...)`);

  // Interpolate every value (never keys), before validation, as docker does.
  visit(doc, {
    Pair(_key, pair, ancestry) {
      if (!isScalar(pair.value) || typeof pair.value.value !== 'string') return;
      try {
        pair.value.value = interpolate(pair.value.value, env);
      } catch (err) {
        if (!(err instanceof InterpolationError)) throw err;
        const keys = keyPath(ancestry, pair);
        throw new ComposeError(`${at(pair.value)}: ${keys}: ${err.message}`);
      }
    },
    Scalar(_key, node, ancestry) {
      if (typeof node.value !== 'string' || !isSeq(ancestry[ancestry.length - 1])) return;
      try {
        node.value = interpolate(node.value, env);
      } catch (err) {
        if (!(err instanceof InterpolationError)) throw err;
        throw new ComposeError(`${at(node)}: ${err.message}`);
      }
    },
  });

  const data = doc.toJS() as Dict;
  const version = data.version;
  if (version !== undefined && !(typeof version === 'string' && /^3(\.\d+)?$/.test(version))) {
    throw new ComposeError(
      `${at(doc.getIn(['version'], true) as Node)}: unsupported Compose file version: ${asText(version)} (stack deploy reads 3.x)`,
    );
  }
  // Keys Swarm refuses, before the schema (which does not know them).
  const refused = serviceKeys(asDict(data.services) as Record<string, Dict>).refused;
  if (refused.length > 0) {
    throw new ComposeError(`compose file contains unsupported options: ${refused.join(', ')} (in ${path})`);
  }
  if (!validate(data)) throw new ComposeError(schemaMessage(validate.errors ?? [], doc, at));
  absolutePaths(data, dirname(path));
  return data;
}

function keyPath(ancestry: readonly unknown[], pair: { key: unknown }): string {
  const parts: string[] = [];
  for (const a of ancestry) {
    if (typeof a === 'object' && a !== null && 'key' in a && isScalar(a.key)) {
      parts.push(asText((a as { key: { value: unknown } }).key.value));
    }
  }
  if (isScalar(pair.key)) parts.push(asText(pair.key.value));
  return parts.join('.');
}

/** The most specific of ajv's errors, as `FILE:LINE: services.web.ports.0: must be ...`. */
function schemaMessage(errors: readonly ErrorObject[], doc: Document, at: (n: Node) => string): string {
  const depth = (e: ErrorObject): number =>
    e.instancePath.split('/').length + (e.keyword === 'additionalProperties' ? 1 : 0);
  const best = [...errors].filter((e) => e.keyword !== 'oneOf').sort((a, b) => depth(b) - depth(a))[0] ?? errors[0];
  if (best === undefined) return 'invalid compose file';
  const segments = best.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const pathSegs: Array<string | number> = segments.map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  let key = segments.join('.');
  let message = best.message ?? 'is invalid';
  let node = doc.getIn(pathSegs, true) as Node | undefined;
  if (best.keyword === 'additionalProperties') {
    const extra = asText((best.params as { additionalProperty: string }).additionalProperty);
    key = key === '' ? extra : `${key}.${extra}`;
    message = `additional property ${extra} is not allowed`;
    const parent = doc.getIn(pathSegs, true);
    if (isMap(parent)) {
      const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === extra);
      if (pair !== undefined && isScalar(pair.key)) node = pair.key;
    }
  } else if (best.keyword === 'enum') {
    message = `must be one of ${(best.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
  }
  return `${at(node ?? (doc.contents as Node))}: ${key === '' ? '(top level)' : key}: ${message}`;
}

/** env_file, relative bind sources and the `file:` of secrets and configs are relative to the compose file's folder. */
function absolutePaths(data: Dict, dir: string): void {
  for (const service of Object.values(asDict(data.services))) {
    const s = asDict(service);
    if (typeof s.env_file === 'string') s.env_file = [s.env_file];
    if (Array.isArray(s.env_file)) s.env_file = s.env_file.map((f) => resolve(dir, asText(f)));
    // A bind mount's relative host path (./data:/data) too.
    if (Array.isArray(s.volumes)) {
      s.volumes = s.volumes.map((v: unknown) => {
        if (typeof v === 'string' && v.startsWith('.') && v.includes(':')) {
          const colon = v.indexOf(':');
          return `${resolve(dir, v.slice(0, colon))}${v.slice(colon)}`;
        }
        const d = asDict(v);
        if (d.type === 'bind' && typeof d.source === 'string' && d.source.startsWith('.')) {
          return { ...d, source: resolve(dir, d.source) };
        }
        return v;
      });
    }
  }
  for (const kind of ['secrets', 'configs']) {
    for (const def of Object.values(asDict(data[kind]))) {
      const d = asDict(def);
      if (typeof d.file === 'string') d.file = resolve(dir, d.file);
    }
  }
}

// ------------------------------------------------------------------ merge

/** `["K=V", "K2"]` or `{K: V}` -> `{K: "V", K2: null}` (so two files' entries merge by key). */
export function dictOf(value: unknown): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  if (Array.isArray(value)) {
    for (const item of value) {
      const text = asText(item);
      const eq = text.indexOf('=');
      if (eq < 0) out[text] = null;
      else out[text.slice(0, eq)] = text.slice(eq + 1);
    }
  } else {
    for (const [k, v] of Object.entries(asDict(value))) out[k] = v === null || v === undefined ? null : asText(v);
  }
  return out;
}

/** Lists merged by a key (docker's merge): a later entry with the same key replaces the earlier. */
const KEYED_LISTS: Record<string, (item: unknown) => string> = {
  ports: (p) => {
    if (typeof p === 'object' && p !== null) {
      const d = p as Dict;
      return `${asText(d.published)}/${asText(d.protocol ?? 'tcp')}`;
    }
    const [ports = '', protocol = 'tcp'] = asText(p).split('/');
    return `${ports.split(':')[0] ?? ''}/${protocol}`;
  },
  volumes: (v) =>
    typeof v === 'object' && v !== null ? asText((v as Dict).target) : (asText(v).split(':')[1] ?? asText(v)),
  secrets: (s) => (typeof s === 'object' && s !== null ? asText((s as Dict).source) : asText(s)),
  configs: (c) => (typeof c === 'object' && c !== null ? asText((c as Dict).source) : asText(c)),
};

function normalizeService(service: Dict): Dict {
  const s = { ...service };
  for (const k of ['environment', 'labels']) if (k in s) s[k] = dictOf(s[k]);
  if ('deploy' in s && asDict(s.deploy).labels !== undefined)
    s.deploy = { ...asDict(s.deploy), labels: dictOf(asDict(s.deploy).labels) };
  return s;
}

function deepMerge(base: unknown, over: unknown, key = ''): unknown {
  if (Array.isArray(base) && Array.isArray(over)) {
    const by = KEYED_LISTS[key];
    if (by === undefined) return over;
    const merged = new Map<string, unknown>(base.map((b) => [by(b), b]));
    for (const o of over) merged.set(by(o), o);
    return [...merged.values()];
  }
  const b = asDict(base);
  const o = asDict(over);
  if (
    over === null ||
    typeof over !== 'object' ||
    Array.isArray(over) ||
    base === null ||
    typeof base !== 'object' ||
    Array.isArray(base)
  ) {
    return over === undefined ? base : over;
  }
  const out: Dict = { ...b };
  for (const [k, v] of Object.entries(o)) out[k] = k in b ? deepMerge(b[k], v, k) : v;
  return out;
}

/** `next` over `base`: services merged key by key, the rest of the top level too. */
export function mergeCompose(base: Dict, next: Dict): Dict {
  const out: Dict = { ...base, ...next };
  const services: Dict = { ...asDict(base.services) };
  for (const [name, s] of Object.entries(asDict(next.services))) {
    const incoming = normalizeService(asDict(s));
    services[name] = name in services ? deepMerge(normalizeService(asDict(services[name])), incoming) : incoming;
  }
  out.services = services;
  for (const k of ['networks', 'volumes', 'secrets', 'configs']) {
    if (k in base || k in next) out[k] = { ...asDict(base[k]), ...asDict(next[k]) };
  }
  return out;
}
