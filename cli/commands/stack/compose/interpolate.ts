// Compose variable interpolation, as `docker stack deploy` does it: `${VAR}`, `$VAR`,
// `${VAR:-default}` (unset or empty), `${VAR-default}` (unset), `${VAR:?err}` (unset or empty:
// an error), `${VAR?err}` (unset: an error), `$$` for a literal `$`. Pure.

export class InterpolationError extends Error {
  override name = 'InterpolationError';
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/** `text` with its variables replaced from `env`; throws an InterpolationError naming the problem. */
export function interpolate(text: string, env: ReadonlyMap<string, string>): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (next === '{') {
      const close = text.indexOf('}', i + 2);
      if (close < 0) throw new InterpolationError(`invalid interpolation format for "${text}": missing "}"`);
      out += braced(text.slice(i + 2, close), text, env);
      i = close + 1;
      continue;
    }
    const m = NAME.exec(text.slice(i + 1));
    if (m === null)
      throw new InterpolationError(
        `invalid interpolation format for "${text}": a "$" must be followed by a name, "{" or "$"`,
      );
    out += env.get(m[0]) ?? '';
    i += 1 + m[0].length;
  }
  return out;
}

function braced(inner: string, text: string, env: ReadonlyMap<string, string>): string {
  const m = NAME.exec(inner);
  if (m === null)
    throw new InterpolationError(`invalid interpolation format for "${text}": "\${${inner}}" has no variable name`);
  const name = m[0];
  const rest = inner.slice(name.length);
  const value = env.get(name);
  if (rest === '') return value ?? '';
  const op = /^(:?[-?])/.exec(rest)?.[1];
  if (op === undefined)
    throw new InterpolationError(`invalid interpolation format for "${text}": unexpected "${rest}" after \${${name}`);
  const arg = rest.slice(op.length);
  const missing = op.startsWith(':') ? value === undefined || value === '' : value === undefined;
  if (!missing) return value ?? '';
  if (op.endsWith('-')) return interpolate(arg, env);
  throw new InterpolationError(
    `required variable ${name} is missing a value${arg === '' ? '' : `: ${interpolate(arg, env)}`}`,
  );
}

/** An env file: `KEY=VALUE` lines, `#` comments and blank lines skipped, `KEY` alone takes the process's value. */
export function parseEnvFile(text: string, file: string, processEnv: ReadonlyMap<string, string>): Map<string, string> {
  const env = new Map<string, string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const key = eq < 0 ? line : line.slice(0, eq);
    if (!/^[^\s=]+$/.test(key)) throw new InterpolationError(`${file}:${i + 1}: invalid variable name "${key}"`);
    if (eq < 0) {
      const v = processEnv.get(key);
      if (v !== undefined) env.set(key, v);
    } else env.set(key, line.slice(eq + 1));
  });
  return env;
}
