// One task's container on a Docker engine (dockerode). Every call re-checks the engine, so
// a controller for an adopted container, or one called again after a crash, just goes on.
import type Docker from 'dockerode';
import type { Task } from '../../../proto/gen/shoal.js';
import { LABEL } from '../../../proto/naming.js';
import type { ContainerState, ContainerStatus, Controller, ExitResult } from '../controller.js';
import { AbortedError, ConflictError, NotFoundError, UnhealthyError } from '../errors.js';
import type { ManagedContainer } from '../executor.js';
import { fromDocker, fromPull, isNotFound, isNotModified } from './errors.js';
import { containerConfig, stopSeconds, taskContainerName } from './spec.js';

/** While starting, look at the health check this often (Docker runs it at its own interval). */
const HEALTH_POLL_STARTING_MS = 250;
/** While running, notice an unhealthy container within this long. */
const HEALTH_POLL_RUNNING_MS = 1_000;

export function containerStatus(dockerState: string | undefined): ContainerStatus {
  switch (dockerState) {
    case 'created':
      return 'created';
    case 'running':
    case 'paused':
    case 'restarting':
      return 'running';
    default: // exited, dead, removing
      return 'exited';
  }
}

export class DockerController implements Controller {
  private id: string | undefined;

  constructor(
    private readonly docker: Docker,
    private readonly task: Task,
    existing?: ManagedContainer,
  ) {
    this.id = existing?.id;
  }

  get containerId(): string | undefined {
    return this.id;
  }

  async prepare(signal: AbortSignal): Promise<void> {
    if (this.id !== undefined && (await this.inspect()) !== undefined) return;
    this.id = undefined;
    const config = containerConfig(this.task);
    if (await this.adoptByName()) return;
    await this.ensureImage(config.Image ?? '', signal);
    if (signal.aborted) throw new AbortedError(`task ${this.task.id}: prepare aborted`);
    // Not abortable: once asked, the engine may create it, and we must know its id.
    try {
      const c = await this.docker.createContainer(config);
      this.id = c.id;
    } catch (err) {
      const e = fromDocker(err, `create container ${config.name ?? ''}`);
      if (e instanceof ConflictError && (await this.adoptByName())) return;
      throw e;
    }
  }

  async start(signal: AbortSignal): Promise<void> {
    const c = this.container('start');
    try {
      await c.start();
    } catch (err) {
      if (!isNotModified(err)) throw fromDocker(err, `start container ${short(this.id)}`);
    }
    // With a health check, the task is running once it is healthy (as in swarm mode).
    for (;;) {
      const info = await this.inspectRaw(c);
      const health = info.State.Health?.Status;
      if (health === undefined || health === 'healthy' || !info.State.Running) return;
      if (health === 'unhealthy') throw new UnhealthyError(`container unhealthy${lastProbe(info)}`);
      await delay(HEALTH_POLL_STARTING_MS, signal);
      if (signal.aborted) throw new AbortedError(`task ${this.task.id}: start aborted`);
    }
  }

  async wait(signal: AbortSignal): Promise<ExitResult> {
    const c = this.container('wait for');
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const exited = c.wait({ condition: 'not-running', abortSignal: stop.signal }).then(
        (res: { StatusCode?: number; Error?: { Message?: string } | null }) => ({ exitCode: res.StatusCode ?? -1 }),
        (err: unknown) => {
          throw fromDocker(err, `wait for container ${short(this.id)}`);
        },
      );
      exited.catch(() => {}); // when health wins the race, the aborted wait must not go unhandled
      return await Promise.race([exited, this.watchHealth(c, stop.signal)]);
    } finally {
      signal.removeEventListener('abort', onAbort);
      stop.abort();
    }
  }

  async shutdown(graceMs: number | undefined): Promise<void> {
    if (this.id === undefined) return;
    try {
      // Docker's stop: the image's stop signal (SIGTERM), SIGKILL after t seconds (without t:
      // the container's StopTimeout, set from the spec at create).
      await this.docker.getContainer(this.id).stop(graceMs === undefined ? {} : { t: stopSeconds(graceMs) });
    } catch (err) {
      if (isNotModified(err) || isNotFound(err)) return;
      throw fromDocker(err, `stop container ${short(this.id)}`);
    }
  }

  async remove(): Promise<void> {
    if (this.id === undefined) return;
    try {
      await this.docker.getContainer(this.id).remove({ force: true, v: true });
    } catch (err) {
      const e = fromDocker(err, `remove container ${short(this.id)}`);
      if (e instanceof NotFoundError || e instanceof ConflictError) return; // gone, or going
      throw e;
    }
  }

  async inspect(): Promise<ContainerState | undefined> {
    if (this.id === undefined) return undefined;
    try {
      const info = await this.docker.getContainer(this.id).inspect();
      return { id: info.Id, status: containerStatus(info.State.Status), exitCode: info.State.ExitCode };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw fromDocker(err, `inspect container ${short(this.id)}`);
    }
  }

  // ----------------------------------------------------------------

  private container(what: string): Docker.Container {
    if (this.id === undefined) throw new NotFoundError(`${what} task ${this.task.id}: no container (not prepared)`);
    return this.docker.getContainer(this.id);
  }

  private async inspectRaw(c: Docker.Container): Promise<Docker.ContainerInspectInfo> {
    try {
      return await c.inspect();
    } catch (err) {
      throw fromDocker(err, `inspect container ${short(c.id)}`);
    }
  }

  /** A container of our name made for this task by an earlier attempt: take it over. */
  private async adoptByName(): Promise<boolean> {
    const name = taskContainerName(this.task);
    let info: Docker.ContainerInspectInfo;
    try {
      info = await this.docker.getContainer(name).inspect();
    } catch (err) {
      if (isNotFound(err)) return false;
      throw fromDocker(err, `inspect container ${name}`);
    }
    if (info.Config.Labels?.[LABEL.taskId] !== this.task.id) {
      throw new ConflictError(`container name "${name}" is taken by container ${short(info.Id)}, not of this task`);
    }
    this.id = info.Id;
    return true;
  }

  private async ensureImage(image: string, signal: AbortSignal): Promise<void> {
    try {
      await this.docker.getImage(image).inspect();
      return;
    } catch (err) {
      if (!isNotFound(err)) throw fromDocker(err, `inspect image "${image}"`);
    }
    let output: Array<{ error?: string; errorDetail?: { message?: string } }>;
    try {
      const stream = await this.docker.pull(image, { abortSignal: signal });
      output = await new Promise((resolve, reject) => {
        this.docker.modem.followProgress(stream, (err: Error | null, out: typeof output) =>
          err ? reject(err) : resolve(out),
        );
      });
    } catch (err) {
      throw fromPull(err, image);
    }
    const failed = output.find((o) => o.error !== undefined || o.errorDetail !== undefined);
    if (failed) throw fromPull(new Error(failed.errorDetail?.message ?? failed.error ?? 'pull failed'), image);
  }

  /** Resolves (with an error) once the container is unhealthy; never resolves otherwise. */
  private async watchHealth(c: Docker.Container, signal: AbortSignal): Promise<ExitResult> {
    const first = await this.inspectRaw(c).catch(() => undefined);
    if (first?.State.Health === undefined) return new Promise<ExitResult>(() => {});
    for (;;) {
      await delay(HEALTH_POLL_RUNNING_MS, signal);
      if (signal.aborted) return new Promise<ExitResult>(() => {});
      const info = await this.inspectRaw(c).catch(() => undefined);
      if (info?.State.Running && info.State.Health?.Status === 'unhealthy') {
        return { exitCode: info.State.ExitCode, error: `container unhealthy${lastProbe(info)}` };
      }
    }
  }
}

/** ": <output of the last failed probe>", for the error message. */
function lastProbe(info: Docker.ContainerInspectInfo): string {
  const log = info.State.Health?.Log ?? [];
  const out = log[log.length - 1]?.Output?.trim();
  return out ? `: ${out.split('\n')[0]}` : '';
}

function short(id: string | undefined): string {
  return (id ?? '').slice(0, 12);
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
