// One agent's session with the leader: created by Register, ended by a new Register of the
// same node, by the node going down or being removed, or when the dispatcher closes. It
// holds the agent's assignment and network streams and what the agent was last sent;
// its Endpoints stream is kept by endpoints.ts.
import { randomUUID } from 'node:crypto';
import type { ServerWritableStream } from '@grpc/grpc-js';
import type {
  AssignmentsMessage,
  AssignmentsRequest,
  NetworksMessage,
  NetworksRequest,
  Task,
} from '../../proto/gen/shoal.js';
import { notFound } from '../errors.js';
import type { SentFiles } from './payloads.js';

export interface Session {
  id: string;
  nodeId: string;
  lastBeat: number;
  /**
   * When the agent closed its assignments stream (its process stopped or restarted: the
   * host's kernel ended the connection) and none replaced it. Such a node gets
   * RECONNECT_GRACE_MS to come back; a silent one (a partitioned or dead host) does not.
   */
  disconnectedAt?: number;
  stream?: ServerWritableStream<AssignmentsRequest, AssignmentsMessage>;
  networkStream?: ServerWritableStream<NetworksRequest, NetworksMessage>;
  /** what the agent was last sent per task: `${desiredState}/${specVersion}` */
  sent: Map<string, string>;
  queuedUpdates: Map<string, Task>;
  queuedRemovals: Set<string>;
  /** The secrets and configs this stream carried to the agent (payloads.ts). */
  sentFiles: SentFiles;
  flushScheduled: boolean;
}

export function newSession(nodeId: string, now: number): Session {
  return {
    id: randomUUID(),
    nodeId,
    lastBeat: now,
    sent: new Map(),
    queuedUpdates: new Map(),
    queuedRemovals: new Set(),
    sentFiles: new Set(),
    flushScheduled: false,
  };
}

/** The live sessions, one per node. */
export class Sessions extends Map<string, Session> {
  /** The node's session if `sessionId` is the current one; NOT_FOUND otherwise (the agent registers again). */
  current(nodeId: string, sessionId: string): Session {
    const s = this.get(nodeId);
    if (!s || s.id !== sessionId) throw notFound('unknown session: register again');
    return s;
  }
}
