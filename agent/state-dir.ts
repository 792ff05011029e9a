// The agent's --state-dir holds what makes it this node (its id; its certificate and key once
// it joins with TLS): only the agent's user may enter it. Created 0700, and an existing one
// is set to 0700 too (a directory made by hand or by an older agent with the umask's 0755).
import { chmod, mkdir } from 'node:fs/promises';

export async function ensureStateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}
