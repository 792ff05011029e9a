// cli/parse/values.ts: the value parsers every command shares.
import test from 'ava';
import { parseCount, parseCpus, parseKeyValue, parseSize } from '../../../../cli/parse/values.js';

test('sizes: bytes and binary units, case-insensitive, optional b / ib', (t) => {
  t.is(parseSize('100'), 100);
  t.is(parseSize('100b'), 100);
  t.is(parseSize('512k'), 512 * 1024);
  t.is(parseSize('512K'), 512 * 1024);
  t.is(parseSize('64M'), 64 * 1024 ** 2);
  t.is(parseSize('64mb'), 64 * 1024 ** 2);
  t.is(parseSize('64MiB'), 64 * 1024 ** 2);
  t.is(parseSize('1G'), 1024 ** 3);
  t.is(parseSize('1.5g'), 1.5 * 1024 ** 3);
  t.is(parseSize('2t'), 2 * 1024 ** 4);
  t.is(parseSize('0'), 0);
  for (const bad of ['', 'M', '-1', '64Q', '1 2', '1e3', '64MM', '0x10', '1.5.5k'])
    t.is(parseSize(bad), undefined, bad);
});

test('cpus: nano-CPUs', (t) => {
  t.is(parseCpus('0.5'), 500_000_000);
  t.is(parseCpus('2'), 2_000_000_000);
  t.is(parseCpus('.25'), 250_000_000);
  t.is(parseCpus('0'), 0);
  for (const bad of ['', '-1', 'half', '1e9', '1,5']) t.is(parseCpus(bad), undefined, bad);
});

test('counts: decimal digits only', (t) => {
  t.is(parseCount('0'), 0);
  t.is(parseCount('42'), 42);
  for (const bad of ['', '-1', '+1', '1.0', '1e2', ' 1', '99999999999999999999']) t.is(parseCount(bad), undefined, bad);
});

test('KEY=VALUE: split at the first =, empty value allowed', (t) => {
  t.deepEqual(parseKeyValue('a=b'), ['a', 'b']);
  t.deepEqual(parseKeyValue('a=b=c'), ['a', 'b=c']);
  t.deepEqual(parseKeyValue('a='), ['a', '']);
  t.is(parseKeyValue('a'), undefined);
  t.is(parseKeyValue('=b'), undefined);
});
