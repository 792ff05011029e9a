import test from 'ava';
import { parseDuration } from '../../../proto/duration.js';

test('durations: Go syntax, in milliseconds', (t) => {
  t.is(parseDuration('1s'), 1000);
  t.is(parseDuration('500ms'), 500);
  t.is(parseDuration('1m30s'), 90_000);
  t.is(parseDuration('2m'), 120_000);
  t.is(parseDuration('1h'), 3_600_000);
  t.is(parseDuration('1.5s'), 1500);
  t.is(parseDuration('.5s'), 500);
  t.is(parseDuration('1h2m3s4ms'), 3_723_004);
  t.is(parseDuration('1500us'), 2);
  t.is(parseDuration('1500µs'), 2);
  t.is(parseDuration('0'), 0);
  t.is(parseDuration('0s'), 0);
});

test('durations: anything else is undefined', (t) => {
  for (const bad of ['', '10', 's', '-1s', '+1s', '1d', '1 s', '1s ', ' 1s', '1m30', 'ms', '1..5s', '0x10s']) {
    t.is(parseDuration(bad), undefined, bad);
  }
});
