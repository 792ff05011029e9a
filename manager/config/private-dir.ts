// Files only the manager's user may read: its state directory (0700, an existing one is
// tightened to 0700 too: it holds the store's client key, the NATS password, the join token)
// and the secrets in it (0600, written to a temp file and renamed, so no reader ever sees a
// half-written or looser file).
import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';

/** Creates `dir` (and parents) mode 0700, or sets an existing one to 0700. */
export function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/** Writes a secret (a key, a password) mode 0600. */
export function writeSecret(path: string, data: string): void {
  writeAtomic(path, data, 0o600);
}

/** Writes a certificate or other non-secret file mode 0644 (inside a 0700 directory). */
export function writePublic(path: string, data: string): void {
  writeAtomic(path, data, 0o644);
}

function writeAtomic(path: string, data: string, mode: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data, { mode });
  chmodSync(tmp, mode); // the umask may have taken bits away; never adds any beyond `mode`
  renameSync(tmp, path);
}
