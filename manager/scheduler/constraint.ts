// Placement constraints, docker's syntax: `node.hostname==host2`, `node.labels.zone!=a`.
import type { Node } from '../../proto/gen/shoal.js';

export interface Constraint {
  key: string;
  op: '==' | '!=';
  value: string;
}

export class ConstraintError extends Error {
  override name = 'ConstraintError';
}

const FIXED_KEYS = ['node.id', 'node.hostname', 'node.role', 'node.platform.os', 'node.platform.arch'];
const LABEL_PREFIXES = ['node.labels.', 'engine.labels.'];

export function parseConstraint(expr: string): Constraint {
  const m = /^\s*([^=!\s]+)\s*(==|!=)\s*(.*?)\s*$/.exec(expr);
  if (!m) throw new ConstraintError(`invalid constraint "${expr}": expected KEY==VALUE or KEY!=VALUE`);
  const [, key, op, value] = m as unknown as [string, string, '==' | '!=', string];
  const known = FIXED_KEYS.includes(key) || LABEL_PREFIXES.some((p) => key.startsWith(p) && key.length > p.length);
  if (!known) {
    throw new ConstraintError(
      `invalid constraint "${expr}": unknown key "${key}" (use node.id, node.hostname, node.role, node.platform.os, node.platform.arch, node.labels.KEY or engine.labels.KEY)`,
    );
  }
  if (value === '') throw new ConstraintError(`invalid constraint "${expr}": missing value after ${op}`);
  return { key, op, value };
}

/** The labels a constraint `node.labels.K` sees: engine labels, overridden by user labels. */
export function effectiveLabels(node: Node): Record<string, string> {
  return { ...(node.description?.labels ?? {}), ...node.labels };
}

function nodeValue(node: Node, key: string): string | undefined {
  switch (key) {
    case 'node.id':
      return node.id;
    case 'node.hostname':
      return node.description?.hostname;
    case 'node.role':
      return 'worker';
    case 'node.platform.os':
      return node.description?.os;
    case 'node.platform.arch':
      return node.description?.arch;
  }
  if (key.startsWith('node.labels.')) return effectiveLabels(node)[key.slice('node.labels.'.length)];
  if (key.startsWith('engine.labels.')) return node.description?.labels[key.slice('engine.labels.'.length)];
  return undefined;
}

/** Case-insensitive, as swarm: a missing label never equals, and always differs. */
export function matches(node: Node, c: Constraint): boolean {
  const v = nodeValue(node, c.key);
  const equal = v !== undefined && v.toLowerCase() === c.value.toLowerCase();
  return c.op === '==' ? equal : !equal;
}
