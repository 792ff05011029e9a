// Service and network names, as discovery serves them: one DNS label (RFC 1123) where '_' may
// stand inside too (docker's stacks name objects STACK_NAME). Lowercase letters, digits, '-'
// and '_', 1-63 characters, starting and ending with a letter or digit: no capitals that
// shadow another service, no dots that shadow outside names (`github.com`).
// The one rule for the CLI (refused before any call) and the manager.
import { MAX_NAME_LENGTH } from './limits.js';
import { quote } from './quote.js';

export class NameError extends Error {
  override name = 'NameError';
}

const DNS_LABEL = /^[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?$/;

/** True when `name` is a valid service or network name. */
export function isDnsLabel(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && DNS_LABEL.test(name);
}

/**
 * Throws a NameError naming `what` ("service name", "network name") and the problem:
 * `invalid service name "Web": use lowercase letters, digits, '-' and '_' (a DNS label)`.
 */
export function checkName(what: string, name: string): void {
  if (name === '') throw new NameError(`${what} is required`);
  if (isDnsLabel(name)) return;
  const bad = (problem: string) => new NameError(`invalid ${what} ${quote(name)}: ${problem}`);
  if (name.length > MAX_NAME_LENGTH)
    throw bad(`at most ${MAX_NAME_LENGTH} characters (a DNS label), got ${name.length}`);
  if (name.includes('.')) throw bad("no dots: use lowercase letters, digits, '-' and '_' (a DNS label)");
  if (/[A-Z]/.test(name)) throw bad("no capitals: use lowercase letters, digits, '-' and '_' (a DNS label)");
  if (/^[-_]|[-_]$/.test(name)) throw bad("must start and end with a letter or digit, not '-' or '_'");
  throw bad("use only lowercase letters, digits, '-' and '_' (a DNS label)");
}
