// The HTTP API's tests: plain requests (no keep-alive: each its own socket) and the API
// started over a view.
import http from 'node:http';
import type { EndpointView } from '../../manager/discovery/view.js';
import type { Clock } from '../../proto/clock.js';
import { ConsulHttpApi } from '../../manager/http/consul-api.js';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export function request(base: string, path: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(`http://${base}${path}`, { method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

export const json = (r: Reply): unknown => JSON.parse(r.body);

/** The Consul-shaped HTTP API on 127.0.0.1:0 over `view`, its blocking deadlines on the view's clock. */
export async function startConsulApi(view: EndpointView & { clock?: Clock }, leader = '10.0.0.1:4242') {
  const logs: string[] = [];
  let leaderNow = leader;
  const api = new ConsulHttpApi({
    view,
    leaderAddress: () => leaderNow,
    log: (l) => logs.push(l),
    ...(view.clock !== undefined && { clock: view.clock }),
  });
  const base = await api.listen('127.0.0.1:0');
  return { api, base, logs, setLeader: (l: string) => (leaderNow = l) };
}
