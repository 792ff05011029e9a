// shoal-agent: wiring only. Flags -> config, Docker executor, networks, discovery (cache,
// DNS server, routing mesh), Agent; SIGTERM/SIGINT stop it (containers keep running), exit 0.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Agent } from './agent.js';
import { parseConfig, USAGE, UsageError, type AgentConfig } from './config.js';
import { DockerExecutor } from './exec/docker/executor.js';
import { stdoutLog } from './log.js';
import Docker from 'dockerode';
import { execRunner } from './network/commands.js';
import { NetworkController } from './network/controller.js';
import { DockerodeNetworks } from './network/docker.js';
import { EndpointCache } from './discovery/cache.js';
import { DnsServer, type ListenAddress } from './discovery/dns-server.js';
import { HostAskers, LocalTasks } from './discovery/local-tasks.js';
import { EndpointsSubscription } from './discovery/subscription.js';
import { resolvConfUpstreams, upstreamString } from './discovery/upstream.js';
import { IngressMesh } from './ingress/mesh.js';

const NODE_ID_FILE = 'node-id';

function fail(message: string): never {
  process.stderr.write(`shoal-agent: ${message}\n`);
  process.exit(1);
}

let config: AgentConfig;
try {
  config = parseConfig(process.argv.slice(2), process.env);
} catch (err) {
  if (err instanceof UsageError) fail(err.message);
  throw err;
}
if (config.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const stateDir = config.stateDir;
let nodeId = '';
if (stateDir !== undefined) {
  try {
    nodeId = (await readFile(path.join(stateDir, NODE_ID_FILE), 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') fail(`--state-dir: ${(err as Error).message}`);
  }
}

async function keepNodeId(id: string): Promise<void> {
  if (stateDir === undefined) return;
  await mkdir(stateDir, { recursive: true });
  const file = path.join(stateDir, NODE_ID_FILE);
  await writeFile(`${file}.tmp`, `${id}\n`);
  await rename(`${file}.tmp`, file);
}

// Overlay networks: ip/bridge/iptables in the agent's own network namespace, Docker bridge
// networks on its engine.
const network = new NetworkController({
  runner: execRunner,
  docker: new DockerodeNetworks(new Docker({ socketPath: config.dockerSocket })),
  log: stdoutLog,
});

// Discovery: the Endpoints stream feeds one cache; the DNS server (port 53 of every network's
// gateway, plus --dns-listen) and the routing mesh (every ingress-published port) read it.
const cache = new EndpointCache({ log: stdoutLog });
const localTasks = new LocalTasks(cache);
const upstreams = config.dnsUpstreams ?? (await resolvConfUpstreams());
const dns = new DnsServer({
  source: cache,
  askers: new HostAskers({ tasks: localTasks, leases: () => network.localLeases() }),
  upstreams,
  log: stdoutLog,
});
stdoutLog(
  `dns: upstream resolvers ${upstreams.map(upstreamString).join(', ') || '(none: names outside the cluster get SERVFAIL)'}`,
);
const DNS_PORT = 53;
const dnsAddresses = (): ListenAddress[] => [
  ...network.localLeases().map((l) => ({ host: l.gateway, port: DNS_PORT })),
  ...config.dnsListen,
];
network.subscribe(() => void dns.setListen(dnsAddresses()));
void dns.setListen(dnsAddresses());
const ingress = new IngressMesh({ source: cache, log: stdoutLog });
ingress.start();

const agent = new Agent({
  network,
  endpoints: new EndpointsSubscription({ cache, log: stdoutLog }),
  taskObserver: localTasks,
  managers: config.managers,
  joinToken: config.joinToken,
  hostname: config.name,
  labels: config.labels,
  executor: new DockerExecutor({ socketPath: config.dockerSocket, log: stdoutLog, networks: network }),
  nodeId,
  onNodeId: keepNodeId,
  log: stdoutLog,
});

let signals = 0;
const stop = (signal: NodeJS.Signals) => {
  if (++signals > 1) {
    stdoutLog(`agent: ${signal} again, exiting now`);
    process.exit(1);
  }
  stdoutLog(`agent: ${signal}, stopping (containers keep running)`);
  agent
    .close()
    .then(async () => {
      await Promise.all([dns.close(), ingress.close()]);
      await cache.close();
      await network.close();
    })
    .then(
      () => process.exit(0),
      (err: unknown) => fail(`stopping: ${err instanceof Error ? err.message : String(err)}`),
    );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

stdoutLog(
  `shoal agent ${config.name} starting: managers ${config.managers.join(',')}, docker ${config.dockerSocket}` +
    (nodeId ? `, node id ${nodeId}` : ''),
);
agent.start();
