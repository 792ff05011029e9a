// The agent's --state-dir: made 0700 (an existing looser one set to 0700) when the node id
// is kept, and the node-id file is 0600.
import test from 'ava';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { keepNodeId, readNodeId } from '../../../agent/node-id.js';

const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);

test('a new state dir is made 0700 and the node id kept 0600', async (t) => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'shoal-agent-state-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const dir = path.join(root, 'a', 'agent');
  await keepNodeId(dir, 'n1');
  t.is(mode(dir), '700');
  t.is(mode(path.join(dir, 'node-id')), '600');
  t.is(await readNodeId(dir), 'n1');
});

test('an existing 0755 state dir is set to 0700', async (t) => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'shoal-agent-state-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const dir = path.join(root, 'agent');
  mkdirSync(dir);
  chmodSync(dir, 0o755);
  await keepNodeId(dir, 'n2');
  t.is(mode(dir), '700');
});
