// Task -> Docker container create options. Pure: everything the engine is told is decided here.
import type Docker from 'dockerode';
import { PublishMode, type Task } from '../../../proto/gen/shoal.js';
import { containerName, LABEL } from '../../../proto/naming.js';
import { stopGraceMs } from '../controller.js';
import { ExecError } from '../errors.js';

/** Docker's stop timeout is whole seconds. */
export function stopSeconds(graceMs: number): number {
  return Math.ceil(graceMs / 1000);
}

const NS_PER_MS = 1_000_000;

/** Every LABEL.* a container carries, plus the service's own labels (ours win). */
export function containerLabels(task: Task): Record<string, string> {
  return {
    ...(task.spec?.labels ?? {}),
    [LABEL.taskId]: task.id,
    [LABEL.serviceId]: task.serviceId,
    [LABEL.serviceName]: task.serviceName,
    [LABEL.slot]: String(task.slot),
    [LABEL.nodeId]: task.nodeId,
  };
}

export function taskContainerName(task: Task): string {
  return containerName(task.serviceName, task.slot, task.id, task.nodeId);
}

/**
 * `mounts`: the task's secrets and configs (files.ts).
 * `networkMode`: the Docker network to create it on (its first network; others are connected
 * after). `dns`: the resolvers the container uses, i.e. the agent's DNS server on the gateway of
 * that first network (Docker's embedded DNS, 127.0.0.11 on user-defined networks, forwards
 * names it does not know to them, from the container's own address).
 */
export function containerConfig(
  task: Task,
  networkMode?: string,
  dns?: string[],
  mounts: Docker.MountSettings[] = [],
): Docker.ContainerCreateOptions {
  const spec = task.spec;
  if (spec === undefined || spec.image === '') throw new ExecError(`task ${task.id} has no image to run`);

  // Host-mode ports are bound here; ingress ports belong to the routing mesh, not the engine.
  const exposed: Record<string, object> = {};
  const bindings: Record<string, Array<{ HostPort: string }>> = {};
  for (const p of spec.ports) {
    if (p.publishMode !== PublishMode.HOST) continue;
    const key = `${p.targetPort}/${p.protocol || 'tcp'}`;
    exposed[key] = {};
    (bindings[key] ??= []).push({ HostPort: p.publishedPort > 0 ? String(p.publishedPort) : '' });
  }

  const health = spec.health;
  const hostConfig: Docker.HostConfig = {
    // shoal restarts tasks itself (as new tasks), so the engine must never restart one.
    RestartPolicy: { Name: 'no' },
    ...(spec.limits?.nanoCpus ? { NanoCpus: spec.limits.nanoCpus } : {}),
    ...(spec.limits?.memoryBytes ? { Memory: spec.limits.memoryBytes } : {}),
    ...(Object.keys(bindings).length > 0 ? { PortBindings: bindings } : {}),
    ...(networkMode !== undefined ? { NetworkMode: networkMode } : {}),
    ...(dns !== undefined && dns.length > 0 ? { Dns: dns } : {}),
    // Secrets and configs: files on the agent's tmpfs, read-only (files.ts).
    ...(mounts.length > 0 ? { Mounts: mounts } : {}),
  };
  return {
    name: taskContainerName(task),
    Image: spec.image,
    ...(spec.command.length > 0 ? { Cmd: spec.command } : {}),
    Env: spec.env,
    Labels: containerLabels(task),
    // So that a stop without the task at hand (an unassigned container) keeps its grace period.
    StopTimeout: stopSeconds(stopGraceMs(task) ?? 0),
    ...(Object.keys(exposed).length > 0 ? { ExposedPorts: exposed } : {}),
    ...(health !== undefined
      ? {
          Healthcheck: {
            Test: health.test,
            Interval: health.intervalMs * NS_PER_MS,
            Timeout: health.timeoutMs * NS_PER_MS,
            Retries: health.retries,
            StartPeriod: health.startPeriodMs * NS_PER_MS,
          },
        }
      : {}),
    HostConfig: hostConfig,
  };
}
