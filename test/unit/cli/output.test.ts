// cli/output.ts: tables, JSON arrays, durations.
import test from 'ava';
import { formatDuration, humanDuration, jsonArray, table } from '../../../cli/output.js';

test('table: aligned with padding 3, min width 10, no trailing spaces', (t) => {
  t.is(
    table(
      ['A', 'LONGER HEADER'],
      [
        ['x', 'y'],
        ['wide value here', ''],
      ],
    ),
    [`${'A'.padEnd(18)}LONGER HEADER`, `${'x'.padEnd(18)}y`, 'wide value here'].join('\n'),
  );
});

test('jsonArray: always an array', (t) => {
  t.deepEqual(JSON.parse(jsonArray([])), []);
  t.deepEqual(JSON.parse(jsonArray([{ a: 1 }])), [{ a: 1 }]);
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
