// The Executor on a Docker engine, through dockerode on its unix socket.
import Docker from 'dockerode';
import type { Task } from '../../../proto/gen/shoal.js';
import { LABEL } from '../../../proto/naming.js';
import type { Controller } from '../controller.js';
import type { EngineDescription, Executor, ManagedContainer } from '../executor.js';
import { DockerController, containerStatus, healthFromListStatus, type DockerControllerOptions } from './controller.js';
import { fromDocker } from './errors.js';
import { HealthEvents } from './health-events.js';
import type { NetworkAttachments } from '../../network/controller.js';
import type { PayloadLookup } from '../payloads.js';
import { TaskFiles } from './files.js';

export interface DockerExecutorOptions {
  /** Path of the engine's unix socket, e.g. /var/run/docker.sock. */
  socketPath: string;
  log?: (line: string) => void;
  /** Overlay networks; without them tasks run on the engine's default network. */
  networks?: NetworkAttachments;
  /** Tests: how often a container whose health is watched is inspected besides the events. */
  healthSafetyNetMs?: number;
  /**
   * Where tasks' secrets and configs are written: a tmpfs the agent mounts there (or finds);
   * without it, a task using one fails.
   */
  filesDir?: string;
}

export class DockerExecutor implements Executor {
  readonly docker: Docker;
  /** One events stream for every controller's health watch. */
  readonly healthEvents: HealthEvents;
  private readonly networks: NetworkAttachments | undefined;
  private readonly controllerOpts: DockerControllerOptions;
  /** Secrets and configs as files on a tmpfs (undefined without filesDir). */
  readonly files: TaskFiles | undefined;

  constructor(opts: DockerExecutorOptions) {
    this.docker = new Docker({ socketPath: opts.socketPath });
    this.networks = opts.networks;
    this.files = opts.filesDir === undefined ? undefined : new TaskFiles(opts.filesDir, opts.log);
    this.controllerOpts = {
      ...(opts.healthSafetyNetMs !== undefined && { healthSafetyNetMs: opts.healthSafetyNetMs }),
      ...(this.files !== undefined && { files: this.files }),
    };
    this.healthEvents = new HealthEvents(this.docker, { ...(opts.log !== undefined && { log: opts.log }) });
  }

  async describe(): Promise<EngineDescription> {
    let info: { NCPU?: number; MemTotal?: number; ServerVersion?: string; OSType?: string; Architecture?: string };
    try {
      info = (await this.docker.info()) as typeof info;
    } catch (err) {
      throw fromDocker(err, 'docker info');
    }
    return {
      resources: { nanoCpus: (info.NCPU ?? 0) * 1e9, memoryBytes: info.MemTotal ?? 0 },
      engineVersion: info.ServerVersion ?? '',
      os: info.OSType ?? '',
      arch: info.Architecture ?? '',
    };
  }

  async listManaged(): Promise<ManagedContainer[]> {
    let list: Docker.ContainerInfo[];
    try {
      list = await this.docker.listContainers({ all: true, filters: { label: [LABEL.taskId] } });
    } catch (err) {
      throw fromDocker(err, 'list containers');
    }
    const out: ManagedContainer[] = [];
    for (const c of list) {
      const labels = c.Labels ?? {};
      const taskId = labels[LABEL.taskId];
      if (taskId === undefined || taskId === '') continue;
      const status = containerStatus(c.State);
      const networks: Record<string, string> = {};
      for (const [name, n] of Object.entries(c.NetworkSettings?.Networks ?? {})) {
        if (n.IPAddress) networks[name] = n.IPAddress;
      }
      out.push({
        networks,
        id: c.Id,
        taskId,
        labels,
        status,
        exitCode: status === 'exited' ? await this.exitCode(c) : 0,
        health: status === 'running' ? healthFromListStatus(c.Status) : 'none',
      });
    }
    return out;
  }

  controller(task: Task, existing?: ManagedContainer, payloads?: PayloadLookup): Controller {
    const opts = payloads === undefined ? this.controllerOpts : { ...this.controllerOpts, payloads };
    return new DockerController(this.docker, this.healthEvents, task, existing, this.networks, opts);
  }

  /**
   * Stop following the engine (idempotent): its health events stream closes. Containers stay
   * (and so do the files of those using secrets or configs).
   */
  async close(): Promise<void> {
    await this.healthEvents.close();
    await this.files?.close();
  }

  /** "Exited (3) 2 minutes ago" gives it without a call; inspect when the text says nothing. */
  private async exitCode(c: Docker.ContainerInfo): Promise<number> {
    const m = /^Exited \((-?\d+)\)/.exec(c.Status);
    if (m?.[1] !== undefined) return Number(m[1]);
    try {
      return (await this.docker.getContainer(c.Id).inspect()).State.ExitCode;
    } catch (err) {
      throw fromDocker(err, `inspect container ${c.Id.slice(0, 12)}`);
    }
  }
}
