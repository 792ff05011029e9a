// A tiny registry API v2 on 127.0.0.1 for the manager's image tests: manifests by tag, and
// optionally basic auth or a bearer-token challenge (its token server on the same port).
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRegistryOptions {
  /** 'basic' or 'bearer': credentials required (user shoal, password pw). */
  auth?: 'basic' | 'bearer';
  /** Never answer (a registry that hangs). */
  hang?: boolean;
  /** Leave out Docker-Content-Digest (the client must hash the manifest). */
  noDigestHeader?: boolean;
  /** The size of every manifest body (a huge one must be refused). */
  manifestBytes?: number;
  /** The bearer realm to announce (default: this server's /token). */
  realm?: string;
}

export const USER = 'shoal';
export const PASSWORD = 'pw';
const TOKEN = 'tok-123';

export class FakeRegistry {
  /** `path:tag` -> manifest body. */
  readonly manifests = new Map<string, string>();
  readonly requests: Array<{ method: string; url: string; authorization: string; accept: string }> = [];
  private server!: http.Server;
  host = '';

  constructor(private readonly opts: FakeRegistryOptions = {}) {}

  static digestOf(body: string): string {
    return `sha256:${createHash('sha256').update(body).digest('hex')}`;
  }

  /** Puts a manifest under `path:tag`; returns its digest. */
  put(path: string, tag: string, body = JSON.stringify({ schemaVersion: 2, tag, at: Math.random() })): string {
    this.manifests.set(`${path}:${tag}`, body);
    return FakeRegistry.digestOf(body);
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.host = `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const authorization = req.headers.authorization ?? '';
    this.requests.push({
      method: req.method ?? '',
      url: req.url ?? '',
      authorization,
      accept: req.headers.accept ?? '',
    });
    if (this.opts.hang) return;
    const basic = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
    if (req.url?.startsWith('/token')) {
      if (authorization !== basic) return void res.writeHead(401).end();
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: TOKEN }));
    }
    const m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(req.url ?? '');
    if (!m) return void res.writeHead(404).end();
    if (this.opts.auth === 'basic' && authorization !== basic) {
      return void res.writeHead(401, { 'www-authenticate': 'Basic realm="fake"' }).end();
    }
    if (this.opts.auth === 'bearer' && authorization !== `Bearer ${TOKEN}`) {
      const realm = this.opts.realm ?? `http://${this.host}/token`;
      return void res
        .writeHead(401, {
          'www-authenticate': `Bearer realm="${realm}",service="fake",scope="repository:${m[1]}:pull"`,
        })
        .end();
    }
    let body = this.manifests.get(`${m[1]}:${m[2]}`);
    if (body === undefined) return void res.writeHead(404).end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
    if (this.opts.manifestBytes) body = 'x'.repeat(this.opts.manifestBytes);
    const headers: Record<string, string> = { 'content-type': 'application/vnd.docker.distribution.manifest.v2+json' };
    if (!this.opts.noDigestHeader) headers['docker-content-digest'] = FakeRegistry.digestOf(body);
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  }
}
