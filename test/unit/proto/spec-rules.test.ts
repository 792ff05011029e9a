import test from 'ava';
import { checkDurationMs, checkRef, checkServiceSpec, formatBytes, InputError } from '../../../proto/spec-rules.js';
import type { ServiceMode } from '../../../proto/gen/shoal.js';
import { makeSpec } from '../../helpers/fixtures.js';

function msg(fn: () => void): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof InputError) return err.message;
    throw err;
  }
  return 'accepted';
}

test('checkServiceSpec: a normal spec passes; each bound names the flag', (t) => {
  t.is(
    msg(() => checkServiceSpec(makeSpec('web'))),
    'accepted',
  );
  t.is(
    msg(() => checkServiceSpec(makeSpec('web', { replicas: 100_001 }))),
    'invalid --replicas 100001: at most 100000',
  );
  t.is(
    msg(() => checkServiceSpec(makeSpec('web', { mode: 5 as ServiceMode }))),
    'invalid --mode 5: expected replicated or global',
  );
  t.is(
    msg(() => checkServiceSpec(makeSpec('web', { command: Array.from({ length: 1_025 }, () => 'x') }))),
    'too many command arguments: 1025, at most 1024',
  );
  t.is(
    msg(() => checkServiceSpec(makeSpec('web', { constraints: Array.from({ length: 65 }, () => 'node.id==x') }))),
    'too many --constraint values: 65, at most 64',
  );
  t.is(
    msg(() => checkServiceSpec(makeSpec('web', { limits: { nanoCpus: -1e9, memoryBytes: 0 } }))),
    'invalid --limit-cpu -1: between 0 and 4096 CPUs',
  );
  t.regex(
    msg(() =>
      checkServiceSpec(
        makeSpec('web', {
          labels: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, 'v'.repeat(4_000)])),
        }),
      ),
    ),
    /^service spec of "web" is too large: \d+ bytes, at most 128 KiB$/,
  );
});

test('durations: 0 to 24h', (t) => {
  t.is(
    msg(() => checkDurationMs(86_400_000, '--x')),
    'accepted',
  );
  t.is(
    msg(() => checkDurationMs(86_400_001, '--x', '24h1ms')),
    'invalid --x "24h1ms": at most 24h',
  );
  t.is(
    msg(() => checkDurationMs(-1, '--x')),
    'invalid --x "-1ms": must not be negative',
  );
});

test('references: given, at most 253 characters, no spaces or control characters', (t) => {
  t.is(
    msg(() => checkRef('host1.example.com', 'node')),
    'accepted',
  );
  t.is(
    msg(() => checkRef('', 'node')),
    'a node name or id is required',
  );
  t.regex(
    msg(() => checkRef('a b', 'service')),
    /^invalid service reference "a b"/,
  );
  t.regex(
    msg(() => checkRef('x'.repeat(254), 'network')),
    /at most 253 characters/,
  );
});

test('formatBytes', (t) => {
  t.is(formatBytes(100), '100 bytes');
  t.is(formatBytes(4096), '4 KiB');
  t.is(formatBytes(3 * 2 ** 20 + 2 ** 19), '3.5 MiB');
});
