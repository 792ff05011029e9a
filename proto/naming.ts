// Names shared by the manager, the agent and the CLI: container labels and names.

/** Labels the agent puts on every container it creates, so it can find them again. */
export const LABEL = {
  taskId: 'com.shoal.task.id',
  serviceId: 'com.shoal.service.id',
  serviceName: 'com.shoal.service.name',
  slot: 'com.shoal.task.slot',
  nodeId: 'com.shoal.node.id',
} as const;

/** Container name for a task, like swarm's `<service>.<slot>.<task id>`. */
export function containerName(serviceName: string, slot: number, taskId: string, nodeId: string): string {
  const slotPart = slot > 0 ? String(slot) : nodeId.slice(0, 12);
  return `${serviceName}.${slotPart}.${taskId}`;
}

/** Random lower-case id of 25 characters, like swarm's. */
export function newId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let out = '';
  const bytes = crypto.getRandomValues(new Uint8Array(25));
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}
