// Lower-case names of node enums, as the CLI and events show them.
import { Availability, NodeStatus } from '../../proto/gen/shoal.js';

export function NodeStatusToJSON(s: NodeStatus): string {
  return (NodeStatus[s] ?? 'unknown').toLowerCase();
}

export function AvailabilityToJSON(a: Availability): string {
  return (Availability[a] ?? 'active').toLowerCase();
}
