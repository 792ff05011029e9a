// Replicated services: slots 1..replicas, each with one current task. Slots above the
// replica count are stopped and, once their tasks have ended, forgotten.
import type { Service, Task } from '../../proto/gen/shoal.js';
import type { OrchestratorContext } from './slots.js';
import { reconcileSlot } from './slots.js';

export function reconcileReplicated(ctx: OrchestratorContext, service: Service, tasks: Task[]): void {
  const replicas = service.spec?.replicas ?? 0;
  const bySlot = new Map<number, Task[]>();
  for (const t of tasks) {
    let list = bySlot.get(t.slot);
    if (!list) bySlot.set(t.slot, (list = []));
    list.push(t);
  }
  for (let slot = 1; slot <= replicas; slot++) {
    if (ctx.createBudget !== undefined && ctx.createBudget <= 0 && ctx.deferSlot) {
      // This pass created enough: the remaining slots wait for the next one.
      for (let rest = slot; rest <= replicas; rest++) ctx.deferSlot(service.id, rest);
      break;
    }
    reconcileSlot(ctx, service, slot, '', bySlot.get(slot) ?? [], true);
  }
  for (const [slot, list] of bySlot) {
    if (slot > replicas || slot < 1) reconcileSlot(ctx, service, slot, '', list, false, true);
  }
}
