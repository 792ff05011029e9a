// A Dispatcher served by a real grpc-js server on 127.0.0.1:0, with the manager's rules that
// the agent depends on: sessions by id, NOT_FOUND for an unknown one, a COMPLETE set on every
// new Assignments stream. Tests change its task set and can forget sessions, and play the
// manager HA cases: a follower (every call UNAVAILABLE "not the leader"), a leader that steps
// down, one that stalls (partitioned: nothing answers, nothing errors), one that dies (stop()).
// Discovery: an Endpoints stream with the manager's rules (a catalog tests change; watched
// names answered at once and on every change; ingress services and the name list to all).
import { fakeManagerServerCredentials } from './test-pki.js';
import { Server, ServerCredentials, status, type ServerDuplexStream, type ServerWritableStream } from '@grpc/grpc-js';
import {
  AssignmentsMessage_Kind,
  DispatcherService,
  PublishMode,
  ServiceEndpoints,
  type AssignmentsMessage,
  type AssignmentsRequest,
  type DispatcherServer,
  type EndpointsMessage,
  type EndpointsRequest,
  type HeartbeatRequest,
  type NetworksMessage,
  type RegisterRequest,
  type Task,
  type TaskStatusUpdate,
} from '../../proto/gen/shoal.js';

type EndpointsCall = ServerDuplexStream<EndpointsRequest, EndpointsMessage>;

interface EndpointsStream {
  call: EndpointsCall;
  nodeId: string;
  watched: Set<string>;
  /** Messages written to it. */
  sent: EndpointsMessage[];
}

function publishesIngress(se: ServiceEndpoints | undefined): boolean {
  return (
    se !== undefined && se.exists && se.ports.some((p) => p.publishMode === PublishMode.INGRESS && p.publishedPort > 0)
  );
}

/** What a follower answers (the manager's words). */
export const NOT_LEADER = { code: status.UNAVAILABLE, details: 'this manager is not the leader' };

export class FakeDispatcher {
  readonly registrations: RegisterRequest[] = [];
  readonly heartbeats: Array<HeartbeatRequest & { at: number }> = [];
  readonly updates: TaskStatusUpdate[] = [];
  /** UpdateTaskStatus calls, each with its number of updates. */
  readonly batches: number[] = [];
  /** Tasks per node id: what a COMPLETE set holds. */
  readonly tasks = new Map<string, Task[]>();
  heartbeatPeriodMs = 100;
  /** Fail every heartbeat with this code while set. */
  failHeartbeats: status | undefined;
  /** A follower refuses every call with UNAVAILABLE, as a manager that is not the leader. */
  leader = true;
  /** Register calls refused because this manager was not the leader, with their time. */
  readonly refused: number[] = [];
  /** While set, no call is answered and streams stay silent (a partitioned manager). */
  stalled = false;
  /** What the Networks stream does: one message (the full set), or UNIMPLEMENTED (an old manager). */
  networks: NetworksMessage | 'unimplemented' = { networks: [], leases: [] };
  /** Networks streams opened (node ids). */
  readonly networkStreams: string[] = [];
  /** Discovery: the services the Endpoints stream serves, by name. */
  readonly catalog = new Map<string, ServiceEndpoints>();
  /** 'unimplemented': an old manager without discovery. */
  endpointsMode: 'ok' | 'unimplemented' = 'ok';
  /** While set, answers to later `watch` requests are held back (a slow or partitioned manager). */
  holdWatches = false;
  /** Names the stream never answers (a manager that lags on them). */
  readonly unanswered = new Set<string>();
  /** Every EndpointsRequest received, in order. */
  readonly endpointRequests: EndpointsRequest[] = [];
  /** Endpoints streams opened (ever). */
  endpointStreamsOpened = 0;
  address = '';

  private readonly endpointStreams = new Set<EndpointsStream>();

  private readonly server = new Server();
  private readonly sessions = new Map<
    string,
    { nodeId: string; stream?: ServerWritableStream<AssignmentsRequest, AssignmentsMessage> }
  >();
  private nextNode = 1;
  private nextSession = 1;

  constructor(private readonly nodeIdForNew = () => `node${this.nextNode++}`) {
    const impl: DispatcherServer = {
      register: (call, cb) => {
        if (this.stalled) return;
        if (!this.leader) {
          this.refused.push(Date.now());
          return cb(NOT_LEADER);
        }
        this.registrations.push(call.request);
        const nodeId = call.request.nodeId || this.nodeIdForNew();
        for (const [id, s] of this.sessions) if (s.nodeId === nodeId) this.endSession(id);
        const sessionId = `s${this.nextSession++}`;
        this.sessions.set(sessionId, { nodeId });
        cb(null, { nodeId, sessionId, heartbeatPeriodMs: this.heartbeatPeriodMs });
      },
      heartbeat: (call, cb) => {
        if (this.stalled) return;
        if (!this.leader) return cb(NOT_LEADER);
        this.heartbeats.push({ ...call.request, at: Date.now() });
        if (this.failHeartbeats !== undefined) return cb({ code: this.failHeartbeats, details: 'injected' });
        if (!this.valid(call.request))
          return cb({ code: status.NOT_FOUND, details: 'unknown session: register again' });
        cb(null, { heartbeatPeriodMs: this.heartbeatPeriodMs });
      },
      updateTaskStatus: (call, cb) => {
        if (this.stalled) return;
        if (!this.leader) return cb(NOT_LEADER);
        if (!this.valid(call.request))
          return cb({ code: status.NOT_FOUND, details: 'unknown session: register again' });
        this.batches.push(call.request.updates.length);
        this.updates.push(...call.request.updates);
        cb(null, {});
      },
      networks: (call) => {
        this.networkStreams.push(call.request.nodeId);
        if (this.networks === 'unimplemented')
          return void call.emit('error', { code: status.UNIMPLEMENTED, details: 'no Networks' });
        call.write(this.networks);
      },
      endpoints: (call) => this.serveEndpoints(call),
      renewCertificate: (_call, cb) => cb({ code: status.UNIMPLEMENTED, details: 'not served' }, null),
      logSubscriptions: (call) => void call.emit('error', { code: status.UNIMPLEMENTED, details: 'not served' }),
      publishLogs: (_call, cb) => cb({ code: status.UNIMPLEMENTED, details: 'not served' }, null),
      assignments: (call) => {
        if (this.stalled) return;
        if (!this.leader) return void call.emit('error', NOT_LEADER);
        const s = this.sessions.get(call.request.sessionId);
        if (s === undefined || s.nodeId !== call.request.nodeId) {
          call.emit('error', { code: status.NOT_FOUND, details: 'unknown session: register again' });
          return;
        }
        s.stream = call;
        call.write({
          kind: AssignmentsMessage_Kind.COMPLETE,
          tasks: this.tasks.get(s.nodeId) ?? [],
          secrets: [],
          configs: [],
          renewCertificate: false,
          caPem: '',
          registryCredentials: [],
          removedTaskIds: [],
        });
      },
    };
    this.server.addService(DispatcherService, impl);
  }

  /** `tls`: mutual TLS with the test PKI (test-pki.ts), for a real agent process holding a test bundle. */
  async start(port = 0, opts: { tls?: boolean } = {}): Promise<string> {
    const creds = opts.tls ? fakeManagerServerCredentials() : ServerCredentials.createInsecure();
    const bound = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(`127.0.0.1:${port}`, creds, (err, p) => (err ? reject(err) : resolve(p))),
    );
    this.address = `127.0.0.1:${bound}`;
    return this.address;
  }

  stop(): void {
    for (const id of [...this.sessions.keys()]) this.endSession(id);
    for (const s of this.endpointStreams) s.call.end();
    this.endpointStreams.clear();
    this.server.forceShutdown();
  }

  /** Send a message on every open stream of a node. */
  push(nodeId: string, msg: AssignmentsMessage): void {
    for (const s of this.sessions.values()) if (s.nodeId === nodeId) s.stream?.write(msg);
  }

  /** Forget every session (as a restarted manager would); streams end with NOT_FOUND. */
  forgetSessions(): void {
    for (const [id, s] of this.sessions) {
      s.stream?.emit('error', { code: status.NOT_FOUND, details: 'unknown session: register again' });
      this.sessions.delete(id);
    }
  }

  /** Lose leadership: open streams fail with UNAVAILABLE, every later call is refused. */
  stepDown(): void {
    this.leader = false;
    this.breakEndpointStreams();
    for (const [id, s] of this.sessions) {
      s.stream?.emit('error', NOT_LEADER);
      this.sessions.delete(id);
    }
  }

  /** Forget sessions silently: the agent learns it from its next heartbeat. */
  forgetSessionsQuietly(): void {
    this.sessions.clear();
  }

  // ---------------------------------------------------------------- discovery

  /** Add or change a service: every stream that watches it (or gets it as ingress) is told. */
  setService(partial: Partial<ServiceEndpoints> & { name: string }): ServiceEndpoints {
    const se = ServiceEndpoints.fromPartial({ exists: true, networks: ['shoal'], ...partial });
    const before = this.catalog.get(se.name);
    const namesChanged = before === undefined;
    this.catalog.set(se.name, se);
    this.pushService(se.name, publishesIngress(before) || publishesIngress(se), namesChanged);
    return se;
  }

  /** Remove a service: watchers get exists=false, every stream the new name list. */
  removeService(name: string): void {
    const before = this.catalog.get(name);
    this.catalog.delete(name);
    this.pushService(name, publishesIngress(before), true);
  }

  /** Answer for one name, as the manager's catalog does. */
  lookupService(name: string): ServiceEndpoints {
    return this.catalog.get(name) ?? ServiceEndpoints.fromPartial({ name, exists: false });
  }

  serviceNames(): string[] {
    return [...this.catalog.keys()].sort();
  }

  /** Open Endpoints streams now. */
  endpointStreamCount(): number {
    return this.endpointStreams.size;
  }

  /** What each open Endpoints stream watches. */
  watchedNames(): string[][] {
    return [...this.endpointStreams].map((s) => [...s.watched].sort());
  }

  /** Fail every open Endpoints stream (the agent opens it again). */
  breakEndpointStreams(code: status = status.UNAVAILABLE): void {
    for (const s of this.endpointStreams) s.call.emit('error', { code, details: 'injected' });
    this.endpointStreams.clear();
  }

  private serveEndpoints(call: EndpointsCall): void {
    if (this.stalled) return;
    if (!this.leader) return void call.emit('error', NOT_LEADER);
    if (this.endpointsMode === 'unimplemented')
      return void call.emit('error', { code: status.UNIMPLEMENTED, details: 'no Endpoints' });
    this.endpointStreamsOpened++;
    let stream: EndpointsStream | undefined;
    call.on('data', (req: EndpointsRequest) => {
      this.endpointRequests.push(req);
      if (stream === undefined) {
        if (!this.valid(req))
          return void call.emit('error', { code: status.NOT_FOUND, details: 'unknown session: register again' });
        stream = { call, nodeId: req.nodeId, watched: new Set(req.watch), sent: [] };
        this.endpointStreams.add(stream);
        const services = new Map<string, ServiceEndpoints>();
        for (const n of stream.watched) if (!this.unanswered.has(n)) services.set(n, this.lookupService(n));
        for (const se of this.catalog.values()) if (publishesIngress(se)) services.set(se.name, se);
        this.write(stream, {
          services: [...services.values()],
          hasServiceNames: true,
          serviceNames: this.serviceNames(),
        });
        return;
      }
      for (const n of req.unwatch) stream.watched.delete(n);
      const answers: ServiceEndpoints[] = [];
      for (const n of req.watch) {
        stream.watched.add(n);
        if (!this.unanswered.has(n)) answers.push(this.lookupService(n));
      }
      if (answers.length > 0 && !this.holdWatches)
        this.write(stream, { services: answers, hasServiceNames: false, serviceNames: [] });
    });
    const gone = () => {
      if (stream !== undefined) this.endpointStreams.delete(stream);
    };
    call.on('end', () => {
      gone();
      call.end();
    });
    call.on('cancelled', gone);
    call.on('error', gone);
  }

  private pushService(name: string, toAll: boolean, namesChanged: boolean): void {
    const se = this.lookupService(name);
    for (const s of this.endpointStreams) {
      const msg: EndpointsMessage = {
        services: [],
        hasServiceNames: namesChanged,
        serviceNames: namesChanged ? this.serviceNames() : [],
      };
      if (toAll || s.watched.has(name)) msg.services.push(se);
      if (msg.services.length > 0 || namesChanged) this.write(s, msg);
    }
  }

  private write(s: EndpointsStream, msg: EndpointsMessage): void {
    s.sent.push(msg);
    try {
      s.call.write(msg);
    } catch {
      this.endpointStreams.delete(s);
    }
  }

  openStreams(): number {
    return [...this.sessions.values()].filter((s) => s.stream !== undefined).length;
  }

  private valid(req: { nodeId: string; sessionId: string }): boolean {
    return this.sessions.get(req.sessionId)?.nodeId === req.nodeId;
  }

  private endSession(id: string): void {
    this.sessions.get(id)?.stream?.end();
    this.sessions.delete(id);
  }
}
