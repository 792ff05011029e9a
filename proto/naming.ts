// Names shared by the manager, the agent and the CLI: container labels and names.

/** Labels the agent puts on every container it creates, so it can find them again. */
export const LABEL = {
  taskId: 'com.shoal.task.id',
  serviceId: 'com.shoal.service.id',
  serviceName: 'com.shoal.service.name',
  slot: 'com.shoal.task.slot',
  nodeId: 'com.shoal.node.id',
} as const;

/** A task's name wherever it is shown, like swarm's `<service>.<slot>` (a global task: `<service>.<node id prefix>`). */
export function taskName(serviceName: string, slot: number, nodeId: string): string {
  return `${serviceName}.${slot > 0 ? String(slot) : nodeId.slice(0, 12)}`;
}

/** Container name for a task, like swarm's `<service>.<slot>.<task id>`. */
export function containerName(serviceName: string, slot: number, taskId: string, nodeId: string): string {
  return `${taskName(serviceName, slot, nodeId)}.${taskId}`;
}

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const ID_LENGTH = 25;
/** Random bytes are drawn in blocks: one getRandomValues call per id dominated bulk creates. */
const pool = new Uint8Array(ID_LENGTH * 256);
let poolUsed = pool.length;

/** Random lower-case id of 25 characters, like swarm's. */
export function newId(): string {
  if (poolUsed + ID_LENGTH > pool.length) {
    crypto.getRandomValues(pool);
    poolUsed = 0;
  }
  let out = '';
  for (let i = 0; i < ID_LENGTH; i++) out += ID_ALPHABET[pool[poolUsed + i]! % ID_ALPHABET.length];
  poolUsed += ID_LENGTH;
  return out;
}
