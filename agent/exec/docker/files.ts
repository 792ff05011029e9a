// A task's secrets and configs as files: written into a tmpfs the agent mounts (never onto
// the host's disk), then bind-mounted read-only into the task's container, and removed with
// the container.
//
//   DIR (tmpfs, 0700)/<task id>/secrets/<target>   -> /run/secrets (the directory, read-only)
//   DIR (tmpfs, 0700)/<task id>/configs/<n>        -> each config's target path (read-only)
//
// Files carry the reference's uid, gid and mode (0444 by default, set by the manager).
// Written in place (never deleted and re-made while the task lives): a running container
// keeps seeing the same files when an agent restart prepares its task again.
import { execFile } from 'node:child_process';
import { chmod, chown, mkdir, readdir, rm, statfs, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import type { Task } from '../../../proto/gen/shoal.js';
import { ExecError } from '../errors.js';
import type { PayloadLookup } from '../payloads.js';

const run = promisify(execFile);

/** statfs(2)'s f_type of a tmpfs (linux/magic.h). */
export const TMPFS_MAGIC = 0x01021994;
/** The secrets' directory in every container (Swarm's). */
export const SECRETS_TARGET = '/run/secrets';
/** Room for many tasks' files: secrets are at most 500 KiB, configs 1000 KiB. */
const TMPFS_SIZE = '64m';

export function usesFiles(task: Task): boolean {
  return (task.spec?.secrets.length ?? 0) > 0 || (task.spec?.configs.length ?? 0) > 0;
}

export async function isTmpfs(dir: string): Promise<boolean> {
  try {
    return (await statfs(dir)).type === TMPFS_MAGIC;
  } catch {
    return false;
  }
}

export class TaskFiles {
  private mounting: Promise<void> | undefined;
  /** We mounted the tmpfs (and unmount it on close once no task's files are left). */
  private mountedHere = false;

  constructor(
    readonly dir: string,
    private readonly log: (line: string) => void = () => {},
  ) {}

  /**
   * Writes the task's files and answers the container's mounts (none when it uses no secret
   * or config). A payload the manager did not send fails the task.
   */
  async prepare(task: Task, payloads: PayloadLookup | undefined): Promise<Docker.MountSettings[]> {
    if (!usesFiles(task)) return [];
    const spec = task.spec!;
    const files: {
      kind: 'secret' | 'config';
      name: string;
      data: Buffer;
      target: string;
      uid: number;
      gid: number;
      mode: number;
    }[] = [];
    for (const r of spec.secrets) {
      const data = payloads?.secret(r.secretId);
      if (data === undefined) throw new ExecError(`secret ${r.secretName} is not available on this node`);
      const t = r.target;
      files.push({
        kind: 'secret',
        name: r.secretName,
        data,
        target: t?.name || r.secretName,
        uid: t?.uid ?? 0,
        gid: t?.gid ?? 0,
        mode: t?.mode || 0o444,
      });
    }
    for (const r of spec.configs) {
      const data = payloads?.config(r.configId);
      if (data === undefined) throw new ExecError(`config ${r.configName} is not available on this node`);
      const t = r.target;
      files.push({
        kind: 'config',
        name: r.configName,
        data,
        target: t?.name || `/${r.configName}`,
        uid: t?.uid ?? 0,
        gid: t?.gid ?? 0,
        mode: t?.mode || 0o444,
      });
    }
    await this.ensureTmpfs();
    const taskDir = this.taskDir(task.id);
    const secretsDir = path.join(taskDir, 'secrets');
    const configsDir = path.join(taskDir, 'configs');
    await mkdir(secretsDir, { recursive: true, mode: 0o755 });
    await mkdir(configsDir, { recursive: true, mode: 0o755 });
    // mkdir's mode is masked by the umask: the container's users must reach their files.
    await chmod(taskDir, 0o755);
    await chmod(secretsDir, 0o755);
    const mounts: Docker.MountSettings[] = [];
    if (spec.secrets.length > 0)
      mounts.push({ Type: 'bind', Source: secretsDir, Target: SECRETS_TARGET, ReadOnly: true });
    let n = 0;
    for (const f of files) {
      if (
        f.target.includes('\0') ||
        (f.kind === 'secret' && (f.target.includes('/') || f.target === '.' || f.target === '..'))
      )
        throw new ExecError(`invalid target "${f.target}" for ${f.kind} ${f.name}`);
      const file = f.kind === 'secret' ? path.join(secretsDir, f.target) : path.join(configsDir, String(n++));
      await writeFile(file, f.data, { mode: 0o600 });
      await chown(file, f.uid, f.gid);
      await chmod(file, f.mode & 0o777);
      if (f.kind === 'config') mounts.push({ Type: 'bind', Source: file, Target: f.target, ReadOnly: true });
    }
    return mounts;
  }

  /** Removes the task's files (its container is gone). */
  async remove(taskId: string): Promise<void> {
    await rm(this.taskDir(taskId), { recursive: true, force: true });
  }

  /** Unmounts the tmpfs this agent mounted, unless some task's files are still there. */
  async close(): Promise<void> {
    if (!this.mountedHere) return;
    const left = await readdir(this.dir).catch(() => []);
    if (left.length > 0) return; // containers that keep running use them
    try {
      await run('umount', [this.dir]);
      this.mountedHere = false;
    } catch (err) {
      this.log(`files: cannot unmount ${this.dir}: ${(err as Error).message}`);
    }
  }

  private taskDir(taskId: string): string {
    if (!/^[A-Za-z0-9_.-]+$/.test(taskId) || taskId === '.' || taskId === '..')
      throw new ExecError(`invalid task id "${taskId}"`);
    return path.join(this.dir, taskId);
  }

  /** A tmpfs at DIR: the one there (an earlier run's), or one mounted now; never plain disk. */
  private ensureTmpfs(): Promise<void> {
    this.mounting ??= (async () => {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      if (await isTmpfs(this.dir)) return;
      try {
        await run('mount', [
          '-t',
          'tmpfs',
          '-o',
          `mode=0700,size=${TMPFS_SIZE},nosuid,nodev,noexec`,
          'shoal-files',
          this.dir,
        ]);
      } catch (err) {
        throw new ExecError(`secrets and configs need a tmpfs at ${this.dir}: ${firstLine(err)}`, { cause: err });
      }
      if (!(await isTmpfs(this.dir))) throw new ExecError(`${this.dir} is not a tmpfs after mounting one`);
      this.mountedHere = true;
      this.log(`files: mounted a tmpfs at ${this.dir} for secrets and configs`);
    })().catch((err: unknown) => {
      this.mounting = undefined; // try again with the next task
      throw err;
    });
    return this.mounting;
  }
}

function firstLine(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  return (e.stderr || e.message || String(err)).trim().split('\n')[0] ?? '';
}
