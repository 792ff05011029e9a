// The Control API's security calls: join tokens (print, rotate), client certificates for
// teammates' CLIs, the CA's state and its rotation. Served by the leader.
import type {
  CAStatus,
  GetJoinTokensRequest,
  IssueClientCertificateRequest,
  IssueClientCertificateResponse,
  JoinTokens,
  RotateCARequest,
} from '../../proto/gen/shoal.js';
import { NodeStatus } from '../../proto/gen/shoal.js';
import { X509Certificate } from 'node:crypto';
import type { ClusterAuthority } from '../security/authority.js';
import type { ClusterState } from '../store/cluster-state.js';
import { invalidArgument } from '../errors.js';

const CLIENT_NAME_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const MAX_PEM = 16 * 1024;
/** A node down this long no longer holds a CA rotation up. */
export const ROTATION_DOWN_GRACE_MS = 5 * 60_000;
const ROTATION_CHECK_MS = 2_000;

export class SecurityApi {
  constructor(
    private readonly authority: ClusterAuthority,
    private readonly state: ClusterState,
  ) {}

  async joinTokens(req: GetJoinTokensRequest): Promise<JoinTokens> {
    return this.authority.tokens({ worker: req.rotateWorker, manager: req.rotateManager });
  }

  async issueClientCertificate(req: IssueClientCertificateRequest): Promise<IssueClientCertificateResponse> {
    if (!CLIENT_NAME_RE.test(req.name))
      throw invalidArgument(
        `invalid client name "${req.name.slice(0, 80)}": use 1-63 lowercase letters, digits or '-', not starting or ending with '-'`,
      );
    if (req.csrPem.length > MAX_PEM) throw invalidArgument(`the certificate request is over ${MAX_PEM} bytes`);
    try {
      const issued = await this.authority.issue(`admin-${req.name}`, 'admin', req.csrPem);
      return { certPem: issued.certPem, caPem: issued.caPem };
    } catch (err) {
      if (err instanceof Error && /certificate request/.test(err.message)) throw invalidArgument(err.message);
      throw err;
    }
  }

  async inspect(): Promise<CAStatus> {
    // A rotation whose last node renewed (or went down) ends here at the latest.
    await this.finishRotationIfDone();
    const rec = this.authority.record;
    const waiting = await this.waitingFor();
    return {
      clusterId: rec.clusterId,
      caPem: this.authority.caPem,
      digest: this.authority.digest,
      certExpiryMs: rec.certExpiryMs,
      rotating: rec.roots.length > 1,
      nodes: waiting.total,
      nodesRenewed: waiting.total - waiting.ids.length,
      rootNotAfterMs: Date.parse(new X509Certificate(rec.roots[0]!).validTo),
    };
  }

  async rotate(req: RotateCARequest): Promise<CAStatus> {
    if (this.authority.record.roots.length > 1)
      throw invalidArgument('a CA rotation is already under way (shoal ca inspect shows its progress)');
    if ((req.certPem === '') !== (req.keyPem === ''))
      throw invalidArgument('an external root needs both its certificate and its key');
    if (req.certPem.length > MAX_PEM || req.keyPem.length > MAX_PEM)
      throw invalidArgument(`the CA certificate or key is over ${MAX_PEM} bytes`);
    try {
      await this.authority.rotate(req.certPem ? { certPem: req.certPem, keyPem: req.keyPem } : undefined);
    } catch (err) {
      if (err instanceof Error && /CA (certificate|key)/.test(err.message)) throw invalidArgument(err.message);
      throw err;
    }
    return this.inspect();
  }

  /**
   * The worker nodes a rotation waits for: those whose newest certificate is not of the
   * signing root, unless their node has been down for ROTATION_DOWN_GRACE_MS (those join
   * again with a token after it ends; a node down for a moment is waited for).
   */
  async waitingFor(nowMs = Date.now()): Promise<{ total: number; ids: string[] }> {
    const digest = this.authority.digest;
    const members = (await this.authority.members()).filter((m) => m.role === 'worker');
    const counted = members.filter((m) => {
      const node = this.state.nodes.get(m.id);
      if (!node) return false; // removed: its membership goes with it
      return node.status !== NodeStatus.DOWN || nowMs - node.updatedAtMs < ROTATION_DOWN_GRACE_MS;
    });
    return { total: counted.length, ids: counted.filter((m) => m.digest !== digest).map((m) => m.id) };
  }

  /** Ends a rotation once every worker it waits for has a certificate of the new root. */
  async finishRotationIfDone(): Promise<boolean> {
    if (this.authority.record.roots.length < 2) return false;
    if ((await this.waitingFor()).ids.length > 0) return false;
    await this.authority.finishRotation();
    return true;
  }

  /**
   * While a CA rotation is under way: nodes not renewed yet are told again every
   * ROTATION_CHECK_MS (one that reconnected missed the first word), and the rotation ends
   * once none is left. Returns the stop.
   */
  followRotation(push: (caPem: string, nodeIds: ReadonlySet<string>) => void, log: (l: string) => void): () => void {
    const timer = setInterval(() => {
      if (this.authority.record.roots.length < 2) return;
      void (async () => {
        if (await this.finishRotationIfDone()) return;
        push(this.authority.caPem, new Set((await this.waitingFor()).ids));
      })().catch((err: unknown) => log(`security: rotation check: ${(err as Error).message}`));
    }, ROTATION_CHECK_MS);
    timer.unref();
    return () => clearInterval(timer);
  }

  async revoke(nodeId: string): Promise<void> {
    await this.authority.revoke(nodeId);
  }
}
