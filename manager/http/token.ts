// The HTTP API's bearer token on disk.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The HTTP API's bearer token when it listens beyond loopback: STATE-DIR/http.token (0600),
 * made once (every manager of a cluster may have its own; give clients the one of theirs).
 */
export function httpToken(stateDir: string): string {
  const file = join(stateDir, 'http.token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const token = randomBytes(24).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}
