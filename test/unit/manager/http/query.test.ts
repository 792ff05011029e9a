// The query parameters of the HTTP API, as Consul reads them.
import test from 'ava';
import { blockingParams, DEFAULT_WAIT_MS, MAX_WAIT_MS } from '../../../../manager/http/query.js';

test('wait and index parameters as Consul reads them', (t) => {
  const p = (s: string) => blockingParams(new URLSearchParams(s));
  t.deepEqual(p(''), { index: undefined, waitMs: DEFAULT_WAIT_MS });
  t.deepEqual(p('index=7'), { index: 7, waitMs: DEFAULT_WAIT_MS });
  t.deepEqual(p('index=7&wait=10s'), { index: 7, waitMs: 10_000 });
  t.deepEqual(p('index=7&wait=500ms'), { index: 7, waitMs: 500 });
  t.deepEqual(p('index=7&wait=1m30s'), { index: 7, waitMs: 90_000 });
  t.deepEqual(p('index=7&wait=1h'), { index: 7, waitMs: MAX_WAIT_MS });
  t.deepEqual(p('index=7&wait=0'), { index: 7, waitMs: DEFAULT_WAIT_MS });
  t.deepEqual(p('index=&wait='), { index: undefined, waitMs: DEFAULT_WAIT_MS });
  t.throws(() => p('index=7&wait=10'), { message: 'invalid wait "10": expected a duration like 10s, 500ms or 1m30s' });
  t.throws(() => p('index=x'), { message: 'invalid index "x": expected a non-negative integer' });
  t.throws(() => p('index=1.5'), { message: /^invalid index/ });
});
