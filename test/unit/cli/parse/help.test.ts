// cli/parse/help.ts: the usage of shoal, of a group and of a command, from the registry.
import test from 'ava';
import { helpText, parse, usageError } from '../../../helpers/run-shoal.js';

test('the manager group: in the root usage, its commands, unknown ones', (t) => {
  t.is(usageError(['manager', 'rm']), 'unknown command "manager rm" (see shoal manager --help)');
  t.like(parse(['manager']).command, { name: 'help', ok: false });
  t.regex(helpText(['--help']), /manager +Manage the cluster managers/);
  t.regex(helpText(['manager', '--help']), /ls +List the managers and which one leads/);
});

test('the network group: in the root usage, its commands', (t) => {
  t.like(parse(['network']).command, { name: 'help', ok: false });
  t.regex(helpText(['--help']), /network +Manage overlay networks/);
  const group = helpText(['network', '--help']);
  for (const sub of ['create', 'ls', 'inspect', 'rm']) t.regex(group, new RegExp(`\\n  ${sub} `));
});
