// Loopback ports for tests: one that was free a moment ago (for processes a test starts), and
// stand-ins for managers that are not there: a port nobody listens on, a server that accepts
// connections and never says a word (a host that does not answer, a stopped process), and a
// proxy that holds connections until told to let them through (a manager slow to connect).
import net, { connect, createServer, type Server, type Socket } from 'node:net';

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return `127.0.0.1:${address.port}`;
}

function closer(server: Server, sockets: Set<Socket>): () => Promise<void> {
  return async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}

/** A loopback address with nothing listening on it (connections are refused). */
export async function deadAddress(): Promise<string> {
  return `127.0.0.1:${await freePort()}`;
}

/** Accepts TCP connections and never answers: gRPC's HTTP/2 handshake never completes. */
export async function silentServer(): Promise<{ address: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  return { address: await listen(server), close: closer(server, sockets) };
}

/**
 * Forwards connections to `target`, but holds each one (no byte through, so no HTTP/2
 * handshake) until release(): a manager slow to connect, for as long as the test wants.
 */
export async function heldProxy(target: string): Promise<{ address: string; release(): void; close(): Promise<void> }> {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const sockets = new Set<Socket>();
  let held: Array<() => void> | undefined = [];
  const forward = (client: Socket): void => {
    if (client.destroyed) return;
    const upstream = connect(port, host, () => {
      client.pipe(upstream).pipe(client);
      client.resume();
    });
    sockets.add(upstream);
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    client.on('close', () => upstream.destroy());
  };
  const server = createServer((client) => {
    sockets.add(client);
    client.pause();
    client.on('error', () => {});
    client.on('close', () => sockets.delete(client));
    if (held === undefined) forward(client);
    else held.push(() => forward(client));
  });
  const release = (): void => {
    const waiting = held ?? [];
    held = undefined;
    for (const go of waiting) go();
  };
  return { address: await listen(server), release, close: closer(server, sockets) };
}
