// Whether a node satisfies a placement constraint (parsed by proto/constraint.ts, the one
// parser the CLI and the manager share).
import type { Node } from '../../proto/gen/shoal.js';
import type { Constraint } from '../../proto/constraint.js';

/** The labels a constraint `node.labels.K` sees: engine labels, overridden by user labels. */
export function effectiveLabels(node: Node): Record<string, string> {
  return { ...(node.description?.labels ?? {}), ...node.labels };
}

/** What a constraint or a spread preference reads from a node (undefined: the node has no such value). */
export function nodeValue(node: Node, key: string): string | undefined {
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
