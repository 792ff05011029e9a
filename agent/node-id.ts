// The node id the manager gave, kept in --state-dir so that a restarted agent is the same node.
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ensureStateDir } from './state-dir.js';

const NODE_ID_FILE = 'node-id';

/** A --state-dir that cannot be read (anything but "no node id yet"). */
export class StateDirError extends Error {
  override name = 'StateDirError';
}

/** The node id kept in `stateDir` ('' when none is kept, or no --state-dir). */
export async function readNodeId(stateDir: string | undefined): Promise<string> {
  if (stateDir === undefined) return '';
  try {
    return (await readFile(path.join(stateDir, NODE_ID_FILE), 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw new StateDirError(`--state-dir: ${(err as Error).message}`, { cause: err });
  }
}

/** Keep `id` in `stateDir` (0700; written aside, then renamed: never half a file). */
export async function keepNodeId(stateDir: string | undefined, id: string): Promise<void> {
  if (stateDir === undefined) return;
  await ensureStateDir(stateDir);
  const file = path.join(stateDir, NODE_ID_FILE);
  await writeFile(`${file}.tmp`, `${id}\n`, { mode: 0o600 });
  await rename(`${file}.tmp`, file);
}
