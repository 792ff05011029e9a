// `shoal config ...` against the fake Control service: like secrets, but inspect shows the
// data (base64, as docker's Spec.Data).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import type { ObjectRow } from '../../../../../cli/commands/secret/objects.js';
import { startFake } from '../../../../helpers/fake-control.js';
import { lines, shoal, usageError } from '../../../../helpers/run-shoal.js';

test('config create, ls, inspect with data, rm refused while in use', async (t) => {
  const { fake, host } = await startFake(t);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'shoal-cli-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'app.conf'), 'listen 80;\n');
  const created = await shoal(['config', 'create', 'app.conf', path.join(dir, 'app.conf')], host);
  t.is(created.code, 0, created.stderr);
  t.is(created.stdout, `${fake.files.configs[0]!.id}\n`);
  const inspect = await shoal(['config', 'inspect', 'app.conf'], host);
  t.like((JSON.parse(inspect.stdout) as ObjectRow[])[0], {
    name: 'app.conf',
    size: 11,
    data: Buffer.from('listen 80;\n').toString('base64'),
  });
  const ls = await shoal(['config', 'ls'], host);
  t.regex(lines(ls.stdout)[1] ?? '', /^cfg\S{9} +app\.conf +/);
  fake.addService({ name: 'web', configs: [{ configId: '', configName: 'app.conf', target: undefined }] });
  const rm = await shoal(['config', 'rm', 'app.conf'], host);
  t.is(rm.stderr, 'shoal: config app.conf is in use by service web\n');
  t.is(
    usageError(['config', 'create', 'x']),
    'config create requires exactly 2 arguments: CONFIG and FILE (or - for stdin)',
  );
});
