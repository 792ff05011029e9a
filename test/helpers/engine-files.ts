// The agent's secrets and configs on a real engine: the cases executor.test.ts registers (every
// test that touches the test engine runs from that one file, serially; see its header). A
// task's container gets its secrets at /run/secrets on a tmpfs and its configs at their
// targets, with the reference's owner and mode; the host's disk never holds them; removing
// the container removes them.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, statfsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type { ExecutionContext } from 'ava';
import { newId } from '../../proto/naming.js';
import { DockerExecutor } from '../../agent/exec/docker/executor.js';
import { TMPFS_MAGIC } from '../../agent/exec/docker/files.js';
import { Payloads } from '../../agent/exec/payloads.js';
import { AssignmentsMessage_Kind } from '../../proto/gen/shoal.js';
import { docker, socketPath, task } from './docker-engine.js';

type Run = (title: string, fn: (t: ExecutionContext) => Promise<void>) => void;

const SECRET = 'hunter2-SECRET-PLAINTEXT';
const CONFIG = 'listen 8080; # CONFIG-TEXT';

/** stdout of a command in a container. */
async function output(containerId: string, cmd: string[]): Promise<string> {
  const exec = await docker.getContainer(containerId).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({});
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  docker.modem.demuxStream(stream, out, new PassThrough());
  await new Promise<void>((resolve) => stream.on('end', () => resolve()));
  return Buffer.concat(chunks).toString();
}

/** Every file under `dir` that is not on a tmpfs, whose content holds `needle`. */
function diskCopies(dir: string, needle: string): string[] {
  const found: string[] = [];
  const walk = (d: string): void => {
    if (statfsSync(d).type === TMPFS_MAGIC) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && readFileSync(p).includes(needle)) found.push(p);
    }
  };
  walk(dir);
  return found;
}

function mountedAt(dir: string): boolean {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[1] === dir);
}

export function registerFileTests(run: Run): void {
  run(
    'secrets at /run/secrets on a tmpfs (0444 or the given mode/owner), configs at their target; no disk copy',
    async (t) => {
      const stateDir = mkdtempSync(path.join(os.tmpdir(), 'shoal-agent-files-'));
      const filesDir = path.join(stateDir, 'files');
      const executor = new DockerExecutor({ socketPath, filesDir });
      t.teardown(async () => {
        await executor.close();
        if (mountedAt(filesDir)) await import('node:child_process').then((c) => c.execFileSync('umount', [filesDir]));
        rmSync(stateDir, { recursive: true, force: true });
      });
      const payloads = new Payloads();
      payloads.receive({
        kind: AssignmentsMessage_Kind.COMPLETE,
        tasks: [],
        removedTaskIds: [],
        secrets: [{ id: 's1', data: Buffer.from(SECRET) }],
        configs: [{ id: 'c1', data: Buffer.from(CONFIG) }],
        renewCertificate: false,
        caPem: '',
        registryCredentials: [],
      });
      const target = (name: string, uid = 0, gid = 0, mode = 0o444) => ({ name, uid, gid, mode });
      const tk = task(newId(), 1, {
        command: ['sleep', '300'],
        secrets: [
          { secretId: 's1', secretName: 'web_pass', target: target('web_pass') },
          { secretId: 's1', secretName: 'web_pass', target: target('private', 33, 44, 0o400) },
        ],
        configs: [{ configId: 'c1', configName: 'app', target: target('/etc/app.conf') }],
      });
      const ctl = executor.controller(tk, undefined, payloads);
      await ctl.prepare(new AbortController().signal);
      await ctl.start(new AbortController().signal);
      const id = ctl.containerId!;
      t.is(await output(id, ['busybox', 'cat', '/run/secrets/web_pass']), SECRET);
      t.is(await output(id, ['busybox', 'cat', '/etc/app.conf']), CONFIG);
      t.is((await output(id, ['busybox', 'stat', '-c', '%a %u %g', '/run/secrets/web_pass'])).trim(), '444 0 0');
      t.is((await output(id, ['busybox', 'stat', '-c', '%a %u %g', '/run/secrets/private'])).trim(), '400 33 44');
      t.is((await output(id, ['busybox', 'stat', '-c', '%a', '/etc/app.conf'])).trim(), '444');
      const mounts = await output(id, ['busybox', 'cat', '/proc/mounts']);
      t.regex(mounts, /^\S+ \/run\/secrets tmpfs ro[,\s]/m, '/run/secrets is a read-only tmpfs');
      t.regex(mounts, /^\S+ \/etc\/app\.conf tmpfs ro[,\s]/m);
      t.regex(
        await output(id, ['sh', '-c', 'echo x > /run/secrets/web_pass 2>&1 || echo refused']),
        /refused|Read-only/,
      );

      // Not in the environment, not in the container's layer, not on the host's disk.
      const info = await docker.getContainer(id).inspect();
      t.false(JSON.stringify(info.Config).includes(SECRET));
      // (The engine makes empty mount points in the layer; the content is only on the tmpfs.)
      const upper = (info.GraphDriver?.Data as { UpperDir?: string } | undefined)?.UpperDir;
      if (upper !== undefined) t.deepEqual(diskCopies(upper, SECRET), [], 'not in the container layer');
      t.true(mountedAt(filesDir), 'the agent mounted a tmpfs for the files');
      t.deepEqual(diskCopies(stateDir, SECRET), []);
      t.is(statfsSync(filesDir).type, TMPFS_MAGIC);

      // The container removed: its files go with it; with none left, close() unmounts.
      await ctl.remove();
      t.deepEqual(readdirSync(filesDir), []);
      await executor.close();
      t.false(mountedAt(filesDir));
      t.true(statSync(filesDir).isDirectory());
    },
  );

  run('a task whose secret did not arrive fails at prepare, naming it; nothing is created', async (t) => {
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'shoal-agent-files-'));
    const executor = new DockerExecutor({ socketPath, filesDir: path.join(stateDir, 'files') });
    t.teardown(async () => {
      await executor.close();
      rmSync(stateDir, { recursive: true, force: true });
    });
    const tk = task(newId(), 1, {
      command: ['sleep', '300'],
      secrets: [
        { secretId: 'missing', secretName: 'db_pass', target: { name: 'db_pass', uid: 0, gid: 0, mode: 0o444 } },
      ],
    });
    const ctl = executor.controller(tk, undefined, new Payloads());
    const err = await t.throwsAsync(ctl.prepare(new AbortController().signal));
    t.is(err.message, 'secret db_pass is not available on this node');
    t.is(ctl.containerId, undefined);
  });
}
