// One accepted connection of the routing mesh: connect to an endpoint (the next one when that
// fails, each at most once), then pipe both ways.
//
//   client (paused until a backend is connected) --connect--> endpoint 1 | 2 | ... | n
//   data both ways; a FIN from either side is passed on (half-close), the other direction
//   keeps flowing; an error or reset on either side destroys both.
import net from 'node:net';

/** A backend that has not accepted in this long is taken as down (on a LAN it takes ms). */
export const CONNECT_TIMEOUT_MS = 1_000;

export interface Backend {
  host: string;
  port: number;
}

/**
 * Connect `client` to the first of `backends` that accepts, in order; destroys the client when
 * none does. Resolves with the backend used (undefined: none).
 */
export function proxy(
  client: net.Socket,
  backends: Backend[],
  timeoutMs = CONNECT_TIMEOUT_MS,
): Promise<Backend | undefined> {
  return new Promise((resolve) => {
    let attempt: net.Socket | undefined;
    let settled = false;
    const gone = () => {
      // The client left while we were connecting: abandon the attempt.
      if (settled) return;
      settled = true;
      attempt?.destroy();
      resolve(undefined);
    };
    client.once('close', gone);
    client.on('error', () => client.destroy());

    const next = (i: number) => {
      if (settled) return;
      const b = backends[i];
      if (b === undefined) {
        settled = true;
        client.off('close', gone);
        client.destroy();
        resolve(undefined);
        return;
      }
      const s = net.connect({ host: b.host, port: b.port, allowHalfOpen: true });
      attempt = s;
      const fail = () => {
        clearTimeout(timer);
        s.removeAllListeners();
        s.on('error', () => {});
        s.destroy();
        next(i + 1);
      };
      const timer = setTimeout(fail, timeoutMs);
      s.once('error', fail);
      s.once('connect', () => {
        clearTimeout(timer);
        s.off('error', fail);
        if (settled) return void s.destroy();
        settled = true;
        client.off('close', gone);
        splice(client, s);
        resolve(b);
      });
    };
    next(0);
  });
}

/** Pipe a <-> b with half-close passed on; any error ends both. */
export function splice(a: net.Socket, b: net.Socket): void {
  const kill = () => {
    a.destroy();
    b.destroy();
  };
  a.on('error', kill);
  b.on('error', kill);
  // A side that closed abruptly (reset, destroyed) takes the other with it; a side that only
  // ended (FIN) is passed on by pipe() as end(), and the other direction goes on.
  a.on('close', (hadError) => (hadError || !a.readableEnded ? b.destroy() : undefined));
  b.on('close', (hadError) => (hadError || !b.readableEnded ? a.destroy() : undefined));
  a.pipe(b);
  b.pipe(a);
}
