// What shoal and the engines say about a service's running tasks on the bed: their IPs per
// `service ps` and per each host's dockerd (and waiting until both agree), its endpoints per
// `shoal service lookup` and per a manager's Consul-shaped HTTP API.
import {
  containerIp,
  containersOf,
  docker,
  httpGet,
  managerHttp,
  managerHttpToken,
  services,
  tasks,
  waitFor,
  type Container,
} from './bed.js';

export const sameSet = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && [...a].sort().join() === [...b].sort().join();

/** IPs of a service's running tasks on `network` per `service ps`. */
export async function psIps(service: string, network = 'shoal'): Promise<string[]> {
  return (await tasks(service))
    .filter((r) => r.state === 'running' && r.desiredState === 'running')
    .map((r) => r.addresses?.find((a) => a.network === network)?.ip ?? '')
    .filter((ip) => ip !== '')
    .sort();
}

/** IPs of a service's running containers on `network`, from each host's dockerd. */
export async function dockerIps(service: string, network = 'shoal'): Promise<Array<Container & { ip: string }>> {
  const out = [];
  for (const c of await containersOf(service)) out.push({ ...c, ip: await containerIp(c.host, c.id, network) });
  return out.sort((a, b) => a.ip.localeCompare(b.ip));
}

export async function startedAtMs(c: Container): Promise<number> {
  const info = await docker(c.host).getContainer(c.id).inspect();
  return Date.parse(info.State.StartedAt); // ms resolution is enough against 200 ms budgets
}

/** Waits until `service ps` and every host's dockerd agree on `n` running tasks; their IPs. */
export async function settled(
  service: string,
  n: number,
  timeoutMs = 60_000,
): Promise<Array<Container & { ip: string }>> {
  return waitFor(
    async () => {
      const d = await dockerIps(service);
      const p = await psIps(service);
      return d.length === n &&
        d.every((c) => c.ip !== '') &&
        sameSet(
          p,
          d.map((c) => c.ip),
        )
        ? d
        : undefined;
    },
    timeoutMs,
    `${n} running task(s) of ${service}, service ps and dockerd agreeing on their IPs`,
  );
}

/** The replica count `service ls` has for a service. */
export async function replicasOf(service: string): Promise<number> {
  const row = (await services()).find((s) => s.name === service);
  if (row?.replicas === undefined) throw new Error(`no replicated service ${service} in service ls`);
  return row.replicas;
}

/** A row of `shoal service lookup --format json` (the fields compared). */
export interface LookupRow {
  task: string; // web.1
  taskId: string;
  node: string;
  addresses: Array<{ network: string; ip: string }>;
  healthChecked: boolean;
}

export interface ConsulEntry {
  Node: { Node: string; Address: string };
  Service: { ID: string; Service: string; Address: string; Port: number };
  Checks?: Array<{ Status: string }>;
}

export const consulUrl = (n: number, service: string, query = 'passing') =>
  `http://${managerHttp(n)}/v1/health/service/${service}?${query}`;

export async function consul(n: number, service: string, query = 'passing') {
  const r = await httpGet(consulUrl(n, service, query), 30_000, managerHttpToken(n));
  if (r.status !== 200) throw new Error(`GET ${consulUrl(n, service, query)} -> ${r.status}: ${r.body}`);
  return { index: Number(r.headers['x-consul-index']), entries: JSON.parse(r.body) as ConsulEntry[], at: Date.now() };
}

/** "task-id node ip" per endpoint, sorted: what the three views must agree on. */
export const lookupPairs = (rows: LookupRow[]) =>
  rows.map((r) => `${r.taskId} ${r.node} ${r.addresses.find((a) => a.network === 'shoal')?.ip ?? ''}`).sort();
export const consulPairs = (entries: ConsulEntry[]) =>
  entries.map((e) => `${e.Service.ID} ${e.Node.Node} ${e.Service.Address}`).sort();
