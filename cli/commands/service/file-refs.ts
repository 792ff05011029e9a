// --secret and --config of `service create`, docker's two syntaxes:
//   --secret NAME                                    short: the secret's name
//   --secret source=NAME,target=T,uid=U,gid=G,mode=M long (src= for source; the first field
//                                                    may also be the bare name)
// Secrets land at /run/secrets/TARGET (default: the name), configs at TARGET, an absolute
// path (default: /NAME). mode is octal (0400 or 400; docker reads 400 as decimal), default 0444.
import type { ConfigReference, FileTarget, SecretReference } from '../../../proto/gen/shoal.js';
import { UsageError } from '../../errors.js';
import type { FlagSpec, FlagValues } from '../../parse/flags.js';
import { parseCount } from '../../parse/values.js';

export const SECRET: FlagSpec = {
  long: 'secret',
  type: 'string',
  value: 'NAME[,target=FILE,uid=,gid=,mode=]',
  help: 'Give the tasks a secret at /run/secrets/FILE on a tmpfs (repeatable)',
};

export const CONFIG: FlagSpec = {
  long: 'config',
  type: 'string',
  value: 'NAME[,target=/PATH,uid=,gid=,mode=]',
  help: 'Give the tasks a config file at /PATH (default /NAME; repeatable)',
};

interface Parsed {
  name: string;
  target: FileTarget;
}

const MAX_ID = 2 ** 32 - 1;

/** One --secret or --config value; throws UsageError naming the flag and the field. */
export function parseFileRef(long: 'secret' | 'config', text: string): Parsed {
  const bad = (why: string) => new UsageError(`invalid --${long} "${text}": ${why}`);
  let name = '';
  const target: FileTarget = { name: '', uid: 0, gid: 0, mode: 0 };
  const fields = text.split(',');
  fields.forEach((field, i) => {
    const eq = field.indexOf('=');
    if (eq < 0) {
      if (i !== 0) throw bad(`expected KEY=VALUE, got "${field}"`);
      name = field.trim();
      return;
    }
    const key = field.slice(0, eq).trim().toLowerCase();
    const value = field.slice(eq + 1).trim();
    switch (key) {
      case 'source':
      case 'src':
        name = value;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        if (value === '') throw bad('target must not be empty');
        target.name = value;
        break;
      case 'uid':
      case 'gid': {
        const n = parseCount(value);
        if (n === undefined || n > MAX_ID) throw bad(`${key} must be a number from 0 to ${MAX_ID}`);
        target[key] = n;
        break;
      }
      case 'mode': {
        const m = /^(?:0o?)?([0-7]{1,3})$/i.exec(value);
        if (!m) throw bad('mode must be octal, 0000 to 0777 (e.g. 0400)');
        target.mode = parseInt(m[1]!, 8);
        break;
      }
      default:
        throw bad(`unknown field "${key}" (source, target, uid, gid, mode)`);
    }
  });
  if (name === '') throw bad(`a ${long} name is required`);
  if (long === 'secret' && target.name.includes('/'))
    throw bad(`target is a file name under /run/secrets, without '/'`);
  if (long === 'config' && target.name !== '' && !target.name.startsWith('/'))
    throw bad('target must be an absolute path (e.g. /etc/app.conf)');
  return { name, target };
}

export function secretRefs(flags: FlagValues): SecretReference[] {
  return flags.list(SECRET.long).map((text) => {
    const { name, target } = parseFileRef('secret', text);
    return { secretId: '', secretName: name, target };
  });
}

export function configRefs(flags: FlagValues): ConfigReference[] {
  return flags.list(CONFIG.long).map((text) => {
    const { name, target } = parseFileRef('config', text);
    return { configId: '', configName: name, target };
  });
}
