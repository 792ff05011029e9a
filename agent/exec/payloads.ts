// The data of the secrets and configs this node's tasks use, as the manager sent it on the
// Assignments stream: held in memory only (never written but into a task's tmpfs files,
// agent/exec/docker/files.ts), and forgotten once no assigned task uses it (the manager
// forgets it sent it at the same point, and sends it again when a task needs it again).
import { AssignmentsMessage_Kind, type AssignmentsMessage, type Task } from '../../proto/gen/shoal.js';

/** What a controller reads: a payload by the secret's or config's id. */
export interface PayloadLookup {
  secret(id: string): Buffer | undefined;
  config(id: string): Buffer | undefined;
  /** The X-Registry-Auth a service was created or updated with (--with-registry-auth), if any. */
  registryAuth?(serviceId: string): string | undefined;
}

export class Payloads implements PayloadLookup {
  private readonly secrets = new Map<string, Buffer>();
  private readonly configs = new Map<string, Buffer>();
  /** Registry credentials by service id: in memory only, never logged. */
  private readonly registry = new Map<string, string>();

  secret(id: string): Buffer | undefined {
    return this.secrets.get(id);
  }

  config(id: string): Buffer | undefined {
    return this.configs.get(id);
  }

  registryAuth(serviceId: string): string | undefined {
    return this.registry.get(serviceId);
  }

  /** How many payloads are held (tests). */
  get size(): number {
    return this.secrets.size + this.configs.size + this.registry.size;
  }

  /** A complete set brings every payload its tasks use; an incremental one adds to them. */
  receive(msg: AssignmentsMessage): void {
    if (msg.kind === AssignmentsMessage_Kind.COMPLETE) {
      this.secrets.clear();
      this.configs.clear();
      this.registry.clear();
    }
    for (const p of msg.secrets) this.secrets.set(p.id, Buffer.from(p.data));
    for (const p of msg.configs) this.configs.set(p.id, Buffer.from(p.data));
    for (const c of msg.registryCredentials ?? []) this.registry.set(c.serviceId, c.auth);
  }

  /** Forgets what none of `tasks` (the assignment set) uses. */
  retain(tasks: Iterable<Task>): void {
    if (this.size === 0) return;
    const secrets = new Set<string>();
    const configs = new Set<string>();
    const services = new Set<string>();
    for (const t of tasks) {
      for (const r of t.spec?.secrets ?? []) secrets.add(r.secretId);
      for (const r of t.spec?.configs ?? []) configs.add(r.configId);
      services.add(t.serviceId);
    }
    for (const id of [...this.secrets.keys()]) if (!secrets.has(id)) this.secrets.delete(id);
    for (const id of [...this.configs.keys()]) if (!configs.has(id)) this.configs.delete(id);
    for (const id of [...this.registry.keys()]) if (!services.has(id)) this.registry.delete(id);
  }
}
