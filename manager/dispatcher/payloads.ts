// The data of the secrets and configs a node's tasks use, for its Assignments stream. Each
// is sent once per stream: with the first message that carries a task using it (the
// complete set, or an incremental one), and again only after no task of the node used it
// for a while (the agent forgets what none of its tasks uses; so does `sent` here). Secrets
// are opened here, on the leader, just before they are sent; the data is logged nowhere.
// Registry credentials (--with-registry-auth, manager/images/credentials.ts) travel the same
// way, per service: `r/<service id>/<stamp>`, sent again when the service's credentials change.
import type { FilePayload, RegistryCredential, Task } from '../../proto/gen/shoal.js';
import type { ClusterState } from '../store/cluster-state.js';
import type { Keyring } from '../secrets/keyring.js';
import { openRegistryAuth, registryAuthStamp } from '../images/credentials.js';

export interface FilePayloads {
  secrets: FilePayload[];
  configs: FilePayload[];
  registryCredentials: RegistryCredential[];
}

/** What a Session remembers it sent: `s/<secret id>`, `c/<config id>`, `r/<service id>/<stamp>`. */
export type SentFiles = Set<string>;

function usedBy(task: Task, state: ClusterState): string[] {
  const spec = task.spec;
  if (!spec) return [];
  const out: string[] = [];
  for (const r of spec.secrets ?? []) out.push(`s/${r.secretId}`);
  for (const r of spec.configs ?? []) out.push(`c/${r.configId}`);
  const stamp = registryAuthStamp(state, task.serviceId);
  if (stamp !== undefined) out.push(`r/${task.serviceId}/${stamp}`);
  return out;
}

export class PayloadSource {
  constructor(
    private readonly state: ClusterState,
    private readonly keyring: Keyring | undefined,
    private readonly log: (line: string) => void,
  ) {}

  /** The payloads `tasks` use that `sent` does not hold yet; they are added to `sent`. */
  newFor(tasks: Iterable<Task>, sent: SentFiles, nodeId: string): FilePayloads {
    const out: FilePayloads = { secrets: [], configs: [], registryCredentials: [] };
    for (const t of tasks) {
      for (const k of usedBy(t, this.state)) {
        if (sent.has(k)) continue;
        if (k.startsWith('r/')) {
          const auth = this.credential(t.serviceId, nodeId);
          if (auth === undefined) continue;
          sent.add(k);
          out.registryCredentials.push({ serviceId: t.serviceId, auth });
          continue;
        }
        const payload = this.payload(k, nodeId);
        if (payload === undefined) continue;
        sent.add(k);
        (k.startsWith('s/') ? out.secrets : out.configs).push(payload);
      }
    }
    return out;
  }

  /** Forgets what none of `tasks` uses any more (the agent drops those too). */
  retain(tasks: Iterable<Task>, sent: SentFiles): void {
    if (sent.size === 0) return;
    const used = new Set<string>();
    for (const t of tasks) for (const k of usedBy(t, this.state)) used.add(k);
    for (const k of sent) if (!used.has(k)) sent.delete(k);
  }

  /** A service's registry credentials, opened (never logged). */
  private credential(serviceId: string, nodeId: string): string | undefined {
    if (!this.keyring) {
      this.log(
        `dispatcher: cannot send the registry credentials of service ${serviceId} to node ${nodeId}: no cluster key`,
      );
      return undefined;
    }
    try {
      return openRegistryAuth(this.state, this.keyring, serviceId);
    } catch (err) {
      const why = (err as Error).message;
      this.log(`dispatcher: cannot send the registry credentials of service ${serviceId} to node ${nodeId}: ${why}`);
      return undefined;
    }
  }

  private payload(k: string, nodeId: string): FilePayload | undefined {
    const id = k.slice(2);
    if (k.startsWith('c/')) {
      const config = this.state.configs.get(id);
      return config && { id, data: config.spec?.data ?? Buffer.alloc(0) };
    }
    const secret = this.state.secrets.get(id);
    if (!secret) return undefined;
    if (!this.keyring) {
      this.log(`dispatcher: cannot send secret ${secret.spec?.name} to node ${nodeId}: no cluster key`);
      return undefined;
    }
    try {
      return { id, data: this.keyring.openSecret(this.state, secret) };
    } catch (err) {
      this.log(`dispatcher: cannot send secret ${secret.spec?.name} to node ${nodeId}: ${(err as Error).message}`);
      return undefined;
    }
  }
}
