// Task -> Docker container create options. Pure: everything the engine is told is decided here.
import type Docker from 'dockerode';
import { PublishMode, type Task } from '../../../proto/gen/shoal.js';
import { containerName, LABEL } from '../../../proto/naming.js';
import { stopGraceMs } from '../controller.js';
import { ExecError } from '../errors.js';
import { engineMounts } from './mounts.js';

/** Docker's stop timeout is whole seconds. */
export function stopSeconds(graceMs: number): number {
  return Math.ceil(graceMs / 1000);
}

const NS_PER_MS = 1_000_000;

/** Every LABEL.* a container carries, plus the service's labels and container labels (ours win). */
export function containerLabels(task: Task): Record<string, string> {
  return {
    ...(task.spec?.labels ?? {}),
    ...(task.spec?.containerLabels ?? {}),
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
 * Resolvers: the agent's DNS server first (service discovery), then the service's --dns
 * nameservers, which the engine's embedded DNS asks only when the first fails or answers
 * SERVFAIL/REFUSED (outside names are forwarded by the agent to its own upstreams). Without a
 * network (no agent DNS) the service's nameservers are the container's.
 */
export function resolvers(agentDns: string[] | undefined, task: Task): string[] {
  return [...new Set([...(agentDns ?? []), ...(task.spec?.dns?.nameservers ?? [])])];
}

/**
 * `mounts`: the task's secrets and configs (files.ts); the spec's own mounts are added (mounts.ts).
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
  const allMounts = engineMounts(spec.mounts, mounts);
  const nameservers = resolvers(dns, task);
  const dnsConfig = spec.dns;
  const hostConfig: Docker.HostConfig = {
    // shoal restarts tasks itself (as new tasks), so the engine must never restart one.
    RestartPolicy: { Name: 'no' },
    ...(spec.limits?.nanoCpus ? { NanoCpus: spec.limits.nanoCpus } : {}),
    ...(spec.limits?.memoryBytes ? { Memory: spec.limits.memoryBytes } : {}),
    ...(Object.keys(bindings).length > 0 ? { PortBindings: bindings } : {}),
    ...(networkMode !== undefined ? { NetworkMode: networkMode } : {}),
    ...(nameservers.length > 0 ? { Dns: nameservers } : {}),
    ...(dnsConfig !== undefined && dnsConfig.search.length > 0 ? { DnsSearch: dnsConfig.search } : {}),
    ...(dnsConfig !== undefined && dnsConfig.options.length > 0 ? { DnsOptions: dnsConfig.options } : {}),
    // Volumes, binds, tmpfs (mounts.ts); secrets and configs: files on the agent's tmpfs (files.ts).
    ...(allMounts.length > 0 ? { Mounts: allMounts } : {}),
    ...(spec.readOnly ? { ReadonlyRootfs: true } : {}),
    ...(spec.init !== undefined ? { Init: spec.init } : {}),
    ...(spec.capAdd.length > 0 ? { CapAdd: spec.capAdd } : {}),
    ...(spec.capDrop.length > 0 ? { CapDrop: spec.capDrop } : {}),
    ...(spec.ulimits.length > 0
      ? { Ulimits: spec.ulimits.map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard })) }
      : {}),
  };
  return {
    name: taskContainerName(task),
    Image: spec.image,
    ...(spec.command.length > 0 ? { Cmd: spec.command } : {}),
    ...(spec.entrypoint.length > 0 ? { Entrypoint: spec.entrypoint } : {}),
    ...(spec.user !== '' ? { User: spec.user } : {}),
    ...(spec.workdir !== '' ? { WorkingDir: spec.workdir } : {}),
    ...(spec.hostname !== '' ? { Hostname: spec.hostname } : {}),
    ...(spec.stopSignal !== '' ? { StopSignal: spec.stopSignal } : {}),
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
