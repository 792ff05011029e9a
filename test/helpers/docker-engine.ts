// The Docker engine of the agent's executor tests (test/unit/agent/exec/docker/): the engine
// named by SHOAL_TEST_DOCKER_HOST (one no agent manages, e.g. `deploy/local-cluster spare up`),
// a small image made from /bin/busybox when it lacks one, and what the tests look at there.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import Docker from 'dockerode';
import type { Task } from '../../proto/gen/shoal.js';
import { LABEL, newId } from '../../proto/naming.js';
import { dockerSocketPath } from '../../agent/config.js';
import { makeTask } from './agent-support.js';

export const host = process.env.SHOAL_TEST_DOCKER_HOST;
export const IMAGE = process.env.SHOAL_TEST_IMAGE ?? 'shoal-test/busybox:latest';
export const socketPath = host ? dockerSocketPath(host) : '';
export const docker = new Docker({ socketPath });
/** Every container of this run carries this service name, so teardown finds them all. */
export const SERVICE = `agenttest-${newId().slice(0, 8)}`;

type TaskOpts = NonNullable<Parameters<typeof makeTask>[1]>;

/** A task of SERVICE on the test image. */
export function task(id: string, slot: number, spec: TaskOpts['spec'] = {}, opts: TaskOpts = {}): Task {
  const t = makeTask(id, { slot, image: IMAGE, ...opts, spec: { name: SERVICE, ...spec } });
  return { ...t, serviceName: SERVICE };
}

export async function containersOf(taskId: string): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`${LABEL.taskId}=${taskId}`] } });
}

/** The first container of a task, inspected. */
export async function inspectTask(taskId: string): Promise<Docker.ContainerInspectInfo> {
  return docker.getContainer((await containersOf(taskId))[0]?.Id ?? '').inspect();
}

/** Make IMAGE from /bin/busybox (`docker import`) when the engine does not have it. */
export async function ensureImage(): Promise<void> {
  try {
    await docker.getImage(IMAGE).inspect();
    return;
  } catch {
    // made below
  }
  if (!existsSync('/bin/busybox'))
    throw new Error(`image ${IMAGE} is missing and /bin/busybox is not there to make it`);
  const root = mkdtempSync(path.join(os.tmpdir(), 'shoal-img-'));
  try {
    mkdirSync(path.join(root, 'bin'));
    mkdirSync(path.join(root, 'tmp'), { mode: 0o1777 });
    copyFileSync('/bin/busybox', path.join(root, 'bin/busybox'));
    for (const a of ['sh', 'sleep', 'httpd', 'touch', 'test', 'true', 'false'])
      symlinkSync('busybox', path.join(root, 'bin', a));
    execFileSync('sh', [
      '-c',
      'tar -C "$1" -c . | docker -H "$2" import --change \'CMD ["sh"]\' --change "ENV PATH=/bin" - "$3" >/dev/null',
      'sh',
      root,
      host ?? '',
      IMAGE,
    ]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** Remove every container of a service (the test's teardown). */
export async function removeService(service: string): Promise<void> {
  for (const c of await docker.listContainers({ all: true, filters: { label: [`${LABEL.serviceName}=${service}`] } })) {
    await docker.getContainer(c.Id).remove({ force: true });
  }
}

/** A health check every 200 ms, unhealthy after one failure (none count in the start period). */
export const check = (cmd: string, startPeriodMs = 0) => ({
  test: ['CMD-SHELL', cmd],
  intervalMs: 200,
  timeoutMs: 1_000,
  retries: 1,
  startPeriodMs,
});

/** Run a command in a task's container (e.g. make its health check pass or fail). */
export async function execIn(taskId: string, cmd: string[]): Promise<void> {
  const [c] = await containersOf(taskId);
  const exec = await docker.getContainer(c?.Id ?? '').exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({});
  stream.resume();
  await finished(stream); // the command ran (a detached start leaves its socket open)
}

/** The stop grace period a container was created with, in seconds (not in dockerode's types). */
export function stopTimeout(info: Docker.ContainerInspectInfo): number | undefined {
  return (info.Config as { StopTimeout?: number }).StopTimeout;
}
