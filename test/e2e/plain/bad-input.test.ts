// Bad input is refused with one line on stderr that names the problem, exit code 1, and
// nothing changes in the cluster.
import test from 'ava';
import { IMAGE, SLEEP, removeService, services, shoal, uniqueName, waitNodesReady } from '../../helpers/bed.js';

test.before(async () => {
  await waitNodesReady();
});

const name = uniqueName('bad');
const cases: Array<{ what: string; args: string[]; names: RegExp }> = [
  { what: 'unknown flag', args: ['service', 'create', '--bogus', '--name', name, IMAGE, ...SLEEP], names: /--bogus/ },
  {
    what: 'malformed constraint',
    args: ['service', 'create', '--name', name, '--constraint', 'nonsense', IMAGE, ...SLEEP],
    names: /constraint.*nonsense|nonsense.*constraint/i,
  },
  {
    what: 'negative replicas',
    args: ['service', 'create', '--name', name, '--replicas', '-1', IMAGE, ...SLEEP],
    names: /replicas/,
  },
  { what: 'missing image', args: ['service', 'create', '--name', name], names: /image/i },
  { what: 'scale of an unknown service', args: ['service', 'scale', 'nosuch=3'], names: /nosuch/ },
  { what: 'inspect of an unknown node', args: ['node', 'inspect', 'nosuch'], names: /nosuch/ },
];

// none of these may create it; if one does, do not leave it behind
test.after.always(async () => {
  await removeService(name);
});

for (const c of cases) {
  test.serial(`bad input (${c.what}): one-line error naming it, exit 1, service ls unchanged`, async (t) => {
    const before = await services();
    const r = await shoal(...c.args);
    const err = r.stderr.trim();
    t.is(r.code, 1, `exit code of shoal ${c.args.join(' ')}`);
    t.not(err, '', 'stderr says something');
    t.false(err.includes('\n'), `one line on stderr: ${JSON.stringify(err)}`);
    t.regex(err, c.names, 'the message names the problem');
    t.deepEqual(await services(), before, 'service ls unchanged');
  });
}
