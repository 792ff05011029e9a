// What secrets and configs may be: their names, sizes and where a service may put them.
// Swarm's rules and limits (swarmkit's MaxSecretSize = 500 KiB, MaxConfigSize = 1000 KiB).
import type { FileTarget } from '../../proto/gen/shoal.js';

/** Docker's rule for secret and config names. */
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
export const MAX_NAME_LENGTH = 64;
/** 500 KiB = 512,000 bytes, as Swarm. */
export const MAX_SECRET_BYTES = 500 * 1024;
/** 1000 KiB = 1,024,000 bytes, as Swarm since 2022. */
export const MAX_CONFIG_BYTES = 1000 * 1024;
/** Where a task's secrets appear in its container. */
export const SECRETS_DIR = '/run/secrets';
export const DEFAULT_FILE_MODE = 0o444;
/** A bound per service (Swarm has none; a spec must stay well under etcd's request limit). */
export const MAX_FILE_REFS = 100;

export type FileKind = 'secret' | 'config';

/** The refusal for a name, or undefined when it is a valid one. */
export function nameProblem(kind: FileKind, name: string): string | undefined {
  if (!name) return `${kind} name is required`;
  if (name.length > MAX_NAME_LENGTH)
    return `invalid ${kind} name "${name.slice(0, 20)}...": at most ${MAX_NAME_LENGTH} characters`;
  if (!NAME_RE.test(name))
    return `invalid ${kind} name "${name}": use letters, digits, '_', '.' or '-', starting with a letter or digit`;
  return undefined;
}

export function maxBytes(kind: FileKind): number {
  return kind === 'secret' ? MAX_SECRET_BYTES : MAX_CONFIG_BYTES;
}

/** The refusal for data of this size, or undefined. */
export function sizeProblem(kind: FileKind, name: string, bytes: number): string | undefined {
  const max = maxBytes(kind);
  if (bytes === 0) return `${kind} ${name} has no data`;
  if (bytes > max) return `${kind} ${name} is ${bytes} bytes: at most ${max} (${max / 1024} KiB)`;
  return undefined;
}

/**
 * A reference's target with defaults filled in, or a refusal. Secrets: a file name under
 * /run/secrets (default: the secret's name). Configs: an absolute path (default: /NAME).
 * Mode 0 means the default, 0444.
 */
export function normalizeTarget(kind: FileKind, name: string, t: FileTarget | undefined): FileTarget | string {
  const target = t?.name || (kind === 'secret' ? name : `/${name}`);
  const mode = t?.mode || DEFAULT_FILE_MODE;
  if (mode > 0o777) return `invalid mode ${mode.toString(8)} for ${kind} ${name}: at most 0777`;
  if (kind === 'secret') {
    if (target.includes('/') || target === '.' || target === '..' || target.includes('\0'))
      return `invalid target "${target}" for secret ${name}: a file name under ${SECRETS_DIR} (no '/')`;
  } else {
    const parts = target.split('/');
    if (!target.startsWith('/') || target === '/' || target.includes('\0') || parts.some((p) => p === '..'))
      return `invalid target "${target}" for config ${name}: an absolute file path (e.g. /etc/app.conf)`;
  }
  if (target.length > 255) return `invalid target for ${kind} ${name}: at most 255 characters`;
  return { name: kind === 'config' ? normalizePath(target) : target, uid: t?.uid ?? 0, gid: t?.gid ?? 0, mode };
}

function normalizePath(p: string): string {
  return (
    '/' +
    p
      .split('/')
      .filter((x) => x !== '' && x !== '.')
      .join('/')
  );
}

/** The path a target lands at inside the container. */
export function containerPath(kind: FileKind, target: FileTarget): string {
  return kind === 'secret' ? `${SECRETS_DIR}/${target.name}` : target.name;
}
