import test from 'ava';
import { checkName, isDnsLabel, NameError } from '../../../proto/names.js';
import { quote } from '../../../proto/quote.js';

test('isDnsLabel: lowercase letters, digits, - and _, 1-63, no leading or trailing - or _', (t) => {
  for (const ok of ['web', 'a', '3d', 'web-2', 'a'.repeat(63), 'x-y-z', 'web_1', 'app_web']) t.true(isDnsLabel(ok), ok);
  for (const bad of [
    '',
    'Web',
    'web.local',
    'web server',
    'wéb',
    'a'.repeat(64),
    '-web',
    'web-',
    '_web',
    'web_',
    'web\n',
  ])
    t.false(isDnsLabel(bad), bad);
});

test('checkName: one line naming the name and the problem', (t) => {
  const msg = (name: string) => t.throws(() => checkName('service name', name), { instanceOf: NameError }).message;
  t.is(msg(''), 'service name is required');
  t.is(
    msg('Web'),
    "invalid service name \"Web\": no capitals: use lowercase letters, digits, '-' and '_' (a DNS label)",
  );
  t.is(msg('a\nb'), "invalid service name \"a\\nb\": use only lowercase letters, digits, '-' and '_' (a DNS label)");
  t.regex(msg('a'.repeat(300)), /^invalid service name "a{64}"\.\.\.\(300 characters\): at most 63 characters/);
});

test('quote: short values whole, long ones cut, control characters escaped', (t) => {
  t.is(quote('web'), '"web"');
  t.is(quote('a\tb'), '"a\\tb"');
  t.is(quote('x'.repeat(100)), `"${'x'.repeat(64)}"...(100 characters)`);
});
