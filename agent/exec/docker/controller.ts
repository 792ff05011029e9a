// One task's container on a Docker engine (dockerode). Every call re-checks the engine, so
// a controller for an adopted container, or one called again after a crash, just goes on.
import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import type { NetworkAddress, Task } from '../../../proto/gen/shoal.js';
import type { NetworkAttachments } from '../../network/controller.js';
import { shoalNetworkName } from '../../network/plan.js';
import { LABEL } from '../../../proto/naming.js';
import type { ContainerState, ContainerStatus, Controller, Health, WaitResult, WaitUntil } from '../controller.js';
import { AbortedError, ConflictError, ExecError, NotFoundError } from '../errors.js';
import type { ManagedContainer } from '../executor.js';
import { fromDocker, fromPull, isNotFound, isNotModified } from './errors.js';
import type { HealthEvents } from './health-events.js';
import type { PayloadLookup } from '../payloads.js';
import type { TaskFiles } from './files.js';
import { containerConfig, stopSeconds, taskContainerName } from './spec.js';

/**
 * Health changes come from the engine's events (health-events.ts); besides, a watched
 * container is inspected this often, in case an event was lost.
 */
export const HEALTH_SAFETY_NET_MS = 5_000;
/** How long what start() inspected stands for the container's state in wait(). */
const FRESH_INSPECT_MS = 1_000;

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

/** A running container's health check status; 'none' without one (or with ["NONE"]). */
export function healthOf(info: Docker.ContainerInspectInfo): Health {
  const status: string | undefined = info.State.Health?.Status;
  return status === 'starting' || status === 'healthy' || status === 'unhealthy' ? status : 'none';
}

/** The health in a container list's Status, e.g. "Up 2 minutes (health: starting)". */
export function healthFromListStatus(status: string): Health {
  if (/\(health: starting\)/.test(status)) return 'starting';
  if (/\(unhealthy\)/.test(status)) return 'unhealthy';
  if (/\(healthy\)/.test(status)) return 'healthy';
  return 'none';
}

/** shoal network addresses out of a Docker network name -> IP map (other networks left out). */
export function addressesOf(networks: Record<string, string> | undefined): NetworkAddress[] {
  const out: NetworkAddress[] = [];
  for (const [dockerName, ip] of Object.entries(networks ?? {})) {
    const network = shoalNetworkName(dockerName);
    if (network !== undefined && ip !== '') out.push({ network, ip });
  }
  return out.sort((a, b) => a.network.localeCompare(b.network));
}

export interface DockerControllerOptions {
  /** Tests: HEALTH_SAFETY_NET_MS (a long one shows that the events alone wake the wait). */
  healthSafetyNetMs?: number;
  /** Where the task's secrets and configs are written (a tmpfs), and their data. */
  files?: TaskFiles;
  payloads?: PayloadLookup;
}

export class DockerController implements Controller {
  private id: string | undefined;
  private addressList: NetworkAddress[];
  /** What start() saw just after the start: the first health look of wait() uses it. */
  private started: { info: Docker.ContainerInspectInfo; at: number } | undefined;

  constructor(
    private readonly docker: Docker,
    private readonly events: HealthEvents,
    private readonly task: Task,
    existing?: ManagedContainer,
    private readonly networks?: NetworkAttachments,
    private readonly opts: DockerControllerOptions = {},
  ) {
    this.id = existing?.id;
    this.addressList = existing?.status === 'running' ? addressesOf(existing.networks) : [];
  }

  get containerId(): string | undefined {
    return this.id;
  }

  get addresses(): NetworkAddress[] {
    return this.addressList;
  }

  /** The task's networks, when this host has overlay networks at all. */
  private networkNames(): string[] {
    if (this.networks === undefined || this.networks.unsupported) return [];
    return [...new Set(this.task.spec?.networks ?? [])];
  }

  waitingFor(): string | undefined {
    for (const name of this.networkNames()) {
      if (this.networks?.dockerNetwork(name) === undefined) return `waiting for network ${name}`;
    }
    return undefined;
  }

  waitChange(signal: AbortSignal): Promise<void> {
    return this.networks?.changed(signal) ?? Promise.resolve();
  }

  async prepare(signal: AbortSignal): Promise<void> {
    const dockerNets: string[] = [];
    for (const name of this.networkNames()) {
      const d = this.networks?.dockerNetwork(name);
      if (d === undefined) throw new ExecError(`network ${name} is not ready on this host`, { retryable: true });
      dockerNets.push(d);
    }
    // Before the container (re)starts its files must be there (an adopted one's too).
    const mounts = await this.fileMounts();
    if (this.id !== undefined && (await this.inspect()) !== undefined) return this.connect(dockerNets.slice(1));
    this.id = undefined;
    // Names resolve through the agent's DNS server on the first network's gateway.
    const first = this.networkNames()[0];
    const gateway = first === undefined ? undefined : this.networks?.gateway?.(first);
    const config = containerConfig(this.task, dockerNets[0], gateway === undefined ? undefined : [gateway], mounts);
    // Create first, as `docker run` does: one engine call per task in the common case. A
    // container of our name left by an earlier attempt answers 409 and is adopted; a missing
    // image answers 404 and is pulled, then the create is asked again. (Asking first, by name
    // and for the image, cost two more calls per task on an engine that is busy starting.)
    for (let attempt = 0; ; attempt++) {
      if (signal.aborted) throw new AbortedError(`task ${this.task.id}: prepare aborted`);
      // Not abortable: once asked, the engine may create it, and we must know its id.
      try {
        const c = await this.docker.createContainer(config);
        this.id = c.id;
        break;
      } catch (err) {
        const e = fromDocker(err, `create container ${config.name ?? ''}`);
        if (e instanceof ConflictError && (await this.adoptByName())) return this.connect(dockerNets.slice(1));
        // 404 is also a missing network; only a missing image is pulled (once).
        if (e instanceof NotFoundError && attempt === 0 && !(await this.hasImage(config.Image ?? ''))) {
          await this.pullImage(config.Image ?? '', signal);
          continue;
        }
        throw e;
      }
    }
    await this.connect(dockerNets.slice(1));
  }

  /** Attach the (created, not yet started) container to its other networks. */
  private async connect(dockerNets: string[]): Promise<void> {
    if (dockerNets.length === 0 || this.id === undefined) return;
    const info = await this.inspectRaw(this.docker.getContainer(this.id));
    const attached = info.NetworkSettings?.Networks ?? {};
    for (const n of dockerNets) {
      if (n in attached) continue;
      try {
        await this.docker.getNetwork(n).connect({ Container: this.id });
      } catch (err) {
        throw fromDocker(err, `connect container ${short(this.id)} to ${n}`);
      }
    }
  }

  async start(): Promise<Health> {
    const c = this.container('start');
    try {
      await c.start();
    } catch (err) {
      if (!isNotModified(err)) throw fromDocker(err, `start container ${short(this.id)}`);
    }
    const info = await this.inspectRaw(c);
    this.started = { info, at: Date.now() };
    const ips: Record<string, string> = {};
    for (const [name, n] of Object.entries(info.NetworkSettings?.Networks ?? {})) ips[name] = n.IPAddress ?? '';
    this.addressList = addressesOf(ips);
    return info.State.Running ? healthOf(info) : 'none';
  }

  async wait(signal: AbortSignal, until: WaitUntil = 'exit'): Promise<WaitResult> {
    const c = this.container('wait for');
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    // Aborted before we got here (the task changed meanwhile): 'abort' will not fire again.
    if (signal.aborted) stop.abort();
    try {
      // Resolves as soon as the engine sees the container end (a `docker kill` included).
      const exited = c.wait({ condition: 'not-running', abortSignal: stop.signal }).then(
        (res: { StatusCode?: number }): WaitResult => ({ kind: 'exited', exitCode: res.StatusCode ?? -1 }),
        (err: unknown) => {
          throw fromDocker(err, `wait for container ${short(this.id)}`);
        },
      );
      exited.catch(() => {}); // when health wins the race, the aborted wait must not go unhandled
      return await Promise.race([exited, this.watchHealth(c, until, stop.signal)]);
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
    if (this.id !== undefined) {
      try {
        await this.docker.getContainer(this.id).remove({ force: true, v: true });
      } catch (err) {
        const e = fromDocker(err, `remove container ${short(this.id)}`);
        if (!(e instanceof NotFoundError) && !(e instanceof ConflictError)) throw e; // else: gone, or going
      }
    }
    // The container is gone: so are its secrets and configs.
    await this.opts.files?.remove(this.task.id);
  }

  /** The task's secrets and configs written to the tmpfs; their mounts. */
  private async fileMounts(): Promise<Docker.MountSettings[]> {
    const { files, payloads } = this.opts;
    const spec = this.task.spec;
    if ((spec?.secrets.length ?? 0) === 0 && (spec?.configs.length ?? 0) === 0) return [];
    if (files === undefined)
      throw new ExecError(`task ${this.task.id} uses secrets or configs: this agent cannot mount them`);
    return files.prepare(this.task, payloads);
  }

  async inspect(): Promise<ContainerState | undefined> {
    if (this.id === undefined) return undefined;
    try {
      const info = await this.docker.getContainer(this.id).inspect();
      const status = containerStatus(info.State.Status);
      return {
        id: info.Id,
        status,
        exitCode: info.State.ExitCode,
        health: status === 'running' ? healthOf(info) : 'none',
      };
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

  private async hasImage(image: string): Promise<boolean> {
    try {
      await this.docker.getImage(image).inspect();
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw fromDocker(err, `inspect image "${image}"`);
    }
  }

  private async pullImage(image: string, signal: AbortSignal): Promise<void> {
    let output: Array<{ error?: string; errorDetail?: { message?: string } }>;
    // --with-registry-auth: the service's X-Registry-Auth as the manager sent it, handed to
    // the engine as it is (docker-modem sends `authconfig.key` verbatim); never logged.
    const auth = this.opts.payloads?.registryAuth?.(this.task.serviceId);
    try {
      const stream = await this.docker.pull(image, {
        abortSignal: signal,
        ...(auth ? { authconfig: { key: auth } } : {}),
      });
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

  /**
   * Resolves once the container is unhealthy, or (until 'healthy') healthy or without a
   * check. Never resolves while it does not run (the exit wait answers) or after `signal`.
   * Woken by the engine's health events, and every HEALTH_SAFETY_NET_MS in case one is lost.
   */
  private async watchHealth(c: Docker.Container, until: WaitUntil, signal: AbortSignal): Promise<WaitResult> {
    const never = new Promise<WaitResult>(() => {});
    // Right after start() the engine was just asked (one call less per task while it is
    // busy starting the others); a container that exits meanwhile is caught by the exit wait.
    const fresh =
      this.started !== undefined && Date.now() - this.started.at < FRESH_INSPECT_MS ? this.started.info : undefined;
    this.started = undefined;
    const first = fresh ?? (await this.inspectRaw(c).catch(() => undefined));
    if (signal.aborted || first === undefined || !first.State.Running) return never;
    if (healthOf(first) === 'none') return until === 'healthy' ? { kind: 'healthy' } : never;
    let wake: (() => void) | undefined;
    let woken = false;
    const unwatch = this.events.watch(c.id, () => {
      woken = true;
      wake?.();
    });
    try {
      for (let info: Docker.ContainerInspectInfo | undefined = first; ;) {
        if (info?.State.Running) {
          const health = healthOf(info);
          if (health === 'unhealthy') return { kind: 'unhealthy', detail: lastProbe(info) };
          if (until === 'healthy' && health !== 'starting') return { kind: 'healthy' };
        }
        if (!woken) {
          // Until an event (wake), the safety net's time, or the end of the wait.
          const woke = new AbortController();
          wake = () => woke.abort();
          await sleep(this.opts.healthSafetyNetMs ?? HEALTH_SAFETY_NET_MS, undefined, {
            signal: AbortSignal.any([signal, woke.signal]),
          }).catch(() => {});
          wake = undefined;
        }
        woken = false;
        if (signal.aborted) return never;
        info = await this.inspectRaw(c).catch(() => undefined);
        if (signal.aborted) return never;
      }
    } finally {
      unwatch();
    }
  }
}

/** The first line of the last probe's output (empty when it printed nothing). */
function lastProbe(info: Docker.ContainerInspectInfo): string {
  const log = info.State.Health?.Log ?? [];
  const last = log[log.length - 1];
  const out = last?.Output?.trim().split('\n')[0] ?? '';
  if (out !== '') return out;
  return last !== undefined && last.ExitCode !== 0 ? `exit code ${last.ExitCode}` : '';
}

function short(id: string | undefined): string {
  return (id ?? '').slice(0, 12);
}
