// A TLS bundle on disk with docker's file names: ca.pem (the roots to trust), cert.pem (the
// holder's certificate), key.pem (its key, mode 0600). Agents keep theirs in STATE/tls,
// managers their own in STATE/tls and the admin's in STATE itself (SHOAL_CERT_PATH).
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TlsBundle {
  caPem: string;
  certPem: string;
  keyPem: string;
}

export const BUNDLE_FILES = { ca: 'ca.pem', cert: 'cert.pem', key: 'key.pem' } as const;

export function hasBundle(dir: string): boolean {
  return existsSync(join(dir, BUNDLE_FILES.cert)) && existsSync(join(dir, BUNDLE_FILES.key));
}

/** The bundle in `dir`; a missing or unreadable file is an error naming it. */
export function readBundle(dir: string): TlsBundle {
  const read = (name: string) => {
    const path = join(dir, name);
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new Error(`${path}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`, { cause: err });
    }
  };
  return { caPem: read(BUNDLE_FILES.ca), certPem: read(BUNDLE_FILES.cert), keyPem: read(BUNDLE_FILES.key) };
}

/** Writes the bundle into `dir` (0700), each file aside then renamed; the key 0600. */
export function writeBundle(dir: string, bundle: TlsBundle): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const put = (name: string, text: string, mode: number) => {
    const path = join(dir, name);
    writeFileSync(`${path}.tmp`, text, { mode });
    chmodSync(`${path}.tmp`, mode);
    renameSync(`${path}.tmp`, path);
  };
  put(BUNDLE_FILES.key, bundle.keyPem, 0o600);
  put(BUNDLE_FILES.cert, bundle.certPem, 0o644);
  put(BUNDLE_FILES.ca, bundle.caPem, 0o644);
}
