// cli/commands/stack/compose/interpolate.ts: docker's ${VAR} forms, $$, and their errors.
import test from 'ava';
import {
  interpolate,
  InterpolationError,
  parseEnvFile,
} from '../../../../../cli/commands/stack/compose/interpolate.js';

const env = new Map([
  ['TAG', '1.2'],
  ['EMPTY', ''],
]);

test('interpolate: ${VAR}, $VAR, defaults for unset or empty, $$', (t) => {
  t.is(interpolate('img:${TAG}', env), 'img:1.2');
  t.is(interpolate('img:$TAG-x', env), 'img:1.2-x');
  t.is(interpolate('${NOPE}', env), '');
  t.is(interpolate('${NOPE:-d}', env), 'd');
  t.is(interpolate('${EMPTY:-d}', env), 'd');
  t.is(interpolate('${EMPTY-d}', env), '');
  t.is(interpolate('${NOPE-d}', env), 'd');
  t.is(interpolate('${NOPE:-$TAG}', env), '1.2');
  t.is(interpolate('cost $$5 ${TAG:?x}', env), 'cost $5 1.2');
  t.is(interpolate('${EMPTY?err}', env), '');
});

test('interpolate: required variables and bad forms are one-line errors', (t) => {
  const msg = (s: string): string => t.throws(() => interpolate(s, env), { instanceOf: InterpolationError }).message;
  t.is(msg('${NOPE:?set NOPE}'), 'required variable NOPE is missing a value: set NOPE');
  t.is(msg('${EMPTY:?}'), 'required variable EMPTY is missing a value');
  t.is(msg('${NOPE?no}'), 'required variable NOPE is missing a value: no');
  t.regex(msg('${TAG'), /missing "}"/);
  t.regex(msg('a $ b'), /must be followed by a name/);
  t.regex(msg('${TAG/x}'), /unexpected "\/x"/);
});

test('parseEnvFile: KEY=VALUE lines, comments, KEY alone from the environment', (t) => {
  const got = parseEnvFile('# c\nA=1\n\nB= two words\nTAG\nMISSING\n', 'x.env', env);
  t.deepEqual(
    [...got],
    [
      ['A', '1'],
      ['B', ' two words'],
      ['TAG', '1.2'],
    ],
  );
  t.throws(() => parseEnvFile('BAD KEY=1', 'x.env', env), { message: 'x.env:1: invalid variable name "BAD KEY"' });
});
