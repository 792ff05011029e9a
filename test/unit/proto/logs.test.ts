// proto/logs.ts: --tail and --since as the CLI and the manager both check them.
import test from 'ava';
import { checkLogOptions, MAX_LOG_TAIL, parseSince, parseTail } from '../../../proto/logs.js';

const NOW = Date.parse('2026-12-07T17:00:00Z');

test('--tail: all, 0..MAX; anything else refused with one line', (t) => {
  t.is(parseTail('all'), -1);
  t.is(parseTail('0'), 0);
  t.is(parseTail(String(MAX_LOG_TAIL)), MAX_LOG_TAIL);
  t.throws(() => parseTail(String(MAX_LOG_TAIL + 1)), { message: /^invalid --tail "100001"/ });
  t.throws(() => parseTail('-1'), { message: /^invalid --tail "-1"/ });
});

test('--since: a duration back from now, or an RFC 3339 time (a date alone is midnight UTC)', (t) => {
  t.is(parseSince('10m', NOW), NOW - 600_000);
  t.is(parseSince('2026-12-07T16:00:00Z', NOW), Date.parse('2026-12-07T16:00:00Z'));
  t.is(parseSince('2026-12-07T16:00:00.5+01:00', NOW), Date.parse('2026-12-07T15:00:00.500Z'));
  t.is(parseSince('2026-12-07', NOW), Date.parse('2026-12-07T00:00:00Z'));
  t.throws(() => parseSince('yesterday', NOW), { message: /^invalid --since "yesterday"/ });
});

test('the manager refuses options out of range', (t) => {
  t.notThrows(() => checkLogOptions({ tail: -1, sinceMs: 0 }, NOW));
  t.throws(() => checkLogOptions({ tail: -2, sinceMs: 0 }, NOW), { message: /^invalid --tail -2/ });
  t.throws(() => checkLogOptions({ tail: 1, sinceMs: -1 }, NOW), { message: /^invalid --since/ });
  t.throws(() => checkLogOptions({ tail: 1, sinceMs: NOW + 3_600_000 }, NOW), { message: /is in the future$/ });
});
