import test from 'ava';
import { parseCount, parseCpus, parseKeyValue, parseSize } from '../../../cli/args.js';
import { formatDuration, humanDuration } from '../../../cli/format.js';

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

test('formatDuration and humanDuration', (t) => {
  t.is(formatDuration(120_000), '2m');
  t.is(formatDuration(90_000), '1m30s');
  t.is(formatDuration(300), '300ms');
  t.is(formatDuration(3_600_000), '1h');
  t.is(humanDuration(500), 'Less than a second');
  t.is(humanDuration(1000), '1 second');
  t.is(humanDuration(5000), '5 seconds');
  t.is(humanDuration(65_000), 'About a minute');
  t.is(humanDuration(10 * 60_000), '10 minutes');
  t.is(humanDuration(3 * 3_600_000), '3 hours');
  t.is(humanDuration(3 * 86_400_000), '3 days');
});
