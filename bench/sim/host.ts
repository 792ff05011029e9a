// Simulated-agent host: one process running N real `Agent`s (agent/agent.ts), each on a
// SimulatedExecutor and each with its own gRPC session AND its own connection to the
// manager (`grpc.use_local_subchannel_pool`: grpc-js would otherwise put every client with
// the same target on one shared HTTP/2 connection, and the manager would see one peer with
// thousands of streams instead of a thousand hosts). No overlay network, no discovery.
//
//   node --import=tsx bench/sim/host.ts --manager 127.0.0.1:PORT --join-token T
//        [--nodes 500] [--first 0] [--prefix sim] [--spread-ms 2000] [--start-delay-ms 5]
//
// Agents start spread evenly over --spread-ms, so registrations do not stampede. Run as a
// child with an IPC channel (fork), it reports {type:'registered', count} as agents
// register and {type:'ready'} once all have; it takes {type:'partition', indexes} (those
// agents lose the manager abruptly: their connection is closed and every reconnect goes
// to a port nobody listens on, so their heartbeats stop without any goodbye) and
// {type:'stop'}. Killing the whole process (SIGKILL) is the other abrupt way.
import { parseArgs } from 'node:util';
import { credentials } from '@grpc/grpc-js';
import { DispatcherClient } from '../../proto/gen/shoal.js';
import { Agent } from '../../agent/agent.js';
import { SimulatedExecutor } from './simulated-executor.js';

/** An address nothing listens on: a partitioned agent's reconnects fail there at once. */
const BLACKHOLE = '127.0.0.1:9';

const { values } = parseArgs({
  options: {
    manager: { type: 'string' },
    'join-token': { type: 'string' },
    nodes: { type: 'string', default: '500' },
    first: { type: 'string', default: '0' },
    prefix: { type: 'string', default: 'sim' },
    'spread-ms': { type: 'string', default: '2000' },
    'start-delay-ms': { type: 'string', default: '5' },
  },
  strict: true,
});

const manager = values.manager ?? '';
const joinToken = values['join-token'] ?? '';
if (!manager || !joinToken) {
  process.stderr.write(
    'usage: host.ts --manager HOST:PORT --join-token TOKEN [--nodes N] [--first I] [--spread-ms MS] [--start-delay-ms MS]\n',
  );
  process.exit(2);
}
const count = Number(values.nodes);
const first = Number(values.first);
const spreadMs = Number(values['spread-ms']);
const startDelayMs = Number(values['start-delay-ms']);

interface SimNode {
  agent: Agent;
  executor: SimulatedExecutor;
  client: DispatcherClient | undefined;
  partitioned: boolean;
}

const nodes: SimNode[] = [];
let registered = 0;
const send = (msg: unknown) => process.send?.(msg);

function startNode(i: number): void {
  const index = first + i;
  const executor = new SimulatedExecutor({ hostIndex: index, startDelayMs });
  const node: SimNode = { agent: undefined as unknown as Agent, executor, client: undefined, partitioned: false };
  node.agent = new Agent({
    managers: [manager],
    joinToken,
    hostname: `${values.prefix}-${String(index).padStart(4, '0')}`,
    labels: { 'sim.index': String(index) },
    executor,
    connect: (address) => {
      const client = new DispatcherClient(node.partitioned ? BLACKHOLE : address, credentials.createInsecure(), {
        'grpc.use_local_subchannel_pool': 1,
      });
      node.client = client;
      return client;
    },
  });
  let firstRegistration = true;
  const watch = (): void => {
    void node.agent.nextRegistration().then(() => {
      if (firstRegistration) {
        firstRegistration = false;
        registered++;
        if (registered % 50 === 0 || registered === count) send({ type: 'registered', count: registered });
        if (registered === count) send({ type: 'ready' });
      }
    });
  };
  watch();
  node.agent.start();
  nodes.push(node);
}

for (let i = 0; i < count; i++) {
  const at = count <= 1 ? 0 : (spreadMs * i) / count;
  setTimeout(() => startNode(i), at);
}

process.on('message', (msg: { type: string; indexes?: number[] }) => {
  if (msg.type === 'partition') {
    for (const i of msg.indexes ?? []) {
      const n = nodes[i - first];
      if (!n || n.partitioned) continue;
      n.partitioned = true;
      n.client?.close(); // its streams end; Register/Heartbeat go nowhere from now on
    }
    send({ type: 'partitioned', count: msg.indexes?.length ?? 0 });
  } else if (msg.type === 'stats') {
    let running = 0;
    for (const n of nodes) running += n.executor.running;
    send({ type: 'stats', running, rssBytes: process.memoryUsage().rss });
  } else if (msg.type === 'stop') {
    void stop();
  }
});

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await Promise.race([Promise.all(nodes.map((n) => n.agent.close())), new Promise((r) => setTimeout(r, 3_000))]);
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
process.on('disconnect', () => void stop()); // the bench went away
