// The data of the secrets and configs a node's tasks use, for its Assignments stream. Each
// is sent once per stream: with the first message that carries a task using it (the
// complete set, or an incremental one), and again only after no task of the node used it
// for a while (the agent forgets what none of its tasks uses; so does `sent` here). Secrets
// are opened here, on the leader, just before they are sent; the data is logged nowhere.
import type { FilePayload, Task } from '../../proto/gen/shoal.js';
import type { ClusterState } from '../store/cluster-state.js';
import type { Keyring } from '../secrets/keyring.js';

export interface FilePayloads {
  secrets: FilePayload[];
  configs: FilePayload[];
}

/** What a Session remembers it sent: `s/<secret id>` and `c/<config id>`. */
export type SentFiles = Set<string>;

function usedBy(task: Task): string[] {
  const spec = task.spec;
  if (!spec) return [];
  const out: string[] = [];
  for (const r of spec.secrets ?? []) out.push(`s/${r.secretId}`);
  for (const r of spec.configs ?? []) out.push(`c/${r.configId}`);
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
    const out: FilePayloads = { secrets: [], configs: [] };
    for (const t of tasks) {
      for (const k of usedBy(t)) {
        if (sent.has(k)) continue;
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
    for (const t of tasks) for (const k of usedBy(t)) used.add(k);
    for (const k of sent) if (!used.has(k)) sent.delete(k);
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
