// shoal-agent: wiring only. Flags -> config, Docker executor, Agent; SIGTERM/SIGINT stop it
// (containers keep running) and exit 0.
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

const agent = new Agent({
  network,
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
  agent.close().then(
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
