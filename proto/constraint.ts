// Placement constraints in docker's syntax, `node.hostname==host2`, `node.labels.zone!=a`:
// the one parser behind `--constraint` in the CLI and the manager's validation, so both
// accept exactly the same text. Matching a node against one is the scheduler's
// (manager/scheduler/constraint.ts).

export interface Constraint {
  key: string;
  op: '==' | '!=';
  value: string;
}

export class ConstraintError extends Error {
  override name = 'ConstraintError';
}

/** Keys with a fixed meaning; labels are `node.labels.KEY` (user) and `engine.labels.KEY`. */
export const CONSTRAINT_KEYS = ['node.id', 'node.hostname', 'node.role', 'node.platform.os', 'node.platform.arch'];
export const CONSTRAINT_LABEL_PREFIXES = ['node.labels.', 'engine.labels.'];

/**
 * Parses `KEY==VALUE` or `KEY!=VALUE` (spaces around the operator allowed). Throws a
 * ConstraintError naming the constraint and what is wrong with it.
 */
export function parseConstraint(text: string): Constraint {
  const shape = (): ConstraintError =>
    new ConstraintError(`invalid constraint "${text}": expected KEY==VALUE or KEY!=VALUE`);
  const m = /^(.*?)(==|!=)(.*)$/.exec(text);
  if (!m) throw shape();
  const key = (m[1] ?? '').trim();
  const op = m[2] as '==' | '!=';
  const value = (m[3] ?? '').trim();
  if (!/^[^=!\s]+$/.test(key) || /==|!=/.test(value)) throw shape();
  const known =
    CONSTRAINT_KEYS.includes(key) || CONSTRAINT_LABEL_PREFIXES.some((p) => key.startsWith(p) && key.length > p.length);
  if (!known) {
    throw new ConstraintError(
      `invalid constraint "${text}": unknown key "${key}" (use ${CONSTRAINT_KEYS.join(', ')}, node.labels.KEY or engine.labels.KEY)`,
    );
  }
  if (value === '') throw new ConstraintError(`invalid constraint "${text}": missing value after ${op}`);
  return { key, op, value };
}

/** The stored form: `key==value`, no spaces around the operator. */
export function formatConstraint(c: Constraint): string {
  return `${c.key}${c.op}${c.value}`;
}
