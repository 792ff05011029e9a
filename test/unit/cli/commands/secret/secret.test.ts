// `shoal secret ...` through the real cli/bin/shoal against the fake Control service: create
// from a file or stdin, ls, inspect (never the data), rm (refused while in use).
import { spawn } from 'node:child_process';
import { ADMIN_CERT_PATH } from '../../../../helpers/test-pki.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { Readable } from 'node:stream';
import { readSource, type ObjectRow } from '../../../../../cli/commands/secret/objects.js';
import { startFake } from '../../../../helpers/fake-control.js';
import { lines, shoal, usageError } from '../../../../helpers/run-shoal.js';

const BIN = fileURLToPath(new URL('../../../../../cli/bin/shoal', import.meta.url));

function tmpFile(t: { teardown(fn: () => void): void }, content: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'shoal-cli-secret-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'pw.txt');
  writeFileSync(file, content);
  return file;
}

/** `shoal args` with `input` on its stdin. */
function shoalWithStdin(args: string[], host: string, input: string) {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, SHOAL_HOST: host, SHOAL_CERT_PATH: ADMIN_CERT_PATH },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.end(input);
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
}

test('secret create: NAME and FILE or -, labels; refused before any call when wrong', (t) => {
  t.is(
    usageError(['secret', 'create', 'pw']),
    'secret create requires exactly 2 arguments: SECRET and FILE (or - for stdin)',
  );
  t.is(
    usageError(['secret', 'create', 'pw', 'a', 'b']),
    'secret create requires exactly 2 arguments: SECRET and FILE (or - for stdin)',
  );
  t.is(usageError(['secret', 'create', '-l', 'x', 'pw', 'f']), 'invalid --label "x": expected KEY=VALUE');
  t.is(usageError(['secret', 'inspect']), 'secret inspect requires at least one SECRET');
  t.is(usageError(['secret', 'rm']), 'secret rm requires at least one SECRET');
});

test('readSource: a file, stdin for -, one line naming a file that cannot be read', async (t) => {
  const file = tmpFile(t, 'from-file');
  t.is((await readSource(file)).toString(), 'from-file');
  t.is((await readSource('-', Readable.from([Buffer.from('from-'), 'stdin']))).toString(), 'from-stdin');
  await t.throwsAsync(readSource('/nonexistent/pw'), { message: 'cannot read /nonexistent/pw: no such file' });
});

test('secret create from a file and from stdin sends the bytes; ls and inspect never show them', async (t) => {
  const { fake, host } = await startFake(t);
  const file = tmpFile(t, 'file-s3cr3t\n');
  const created = await shoal(['secret', 'create', '--label', 'team=a', 'db_pass', file], host);
  t.is(created.code, 0, created.stderr);
  const [stored] = fake.files.secrets;
  t.is(created.stdout, `${stored!.id}\n`);
  t.is(Buffer.from(stored!.spec!.data).toString(), 'file-s3cr3t\n');
  t.deepEqual(stored!.spec!.labels, { team: 'a' });

  const piped = await shoalWithStdin(['secret', 'create', 'web_pass', '-'], host, 'stdin-s3cr3t');
  t.is(piped.code, 0, piped.stderr);
  t.is(Buffer.from(fake.files.secrets[1]!.spec!.data).toString(), 'stdin-s3cr3t');

  const [ls, json, quiet, inspect] = await Promise.all([
    shoal(['secret', 'ls'], host),
    shoal(['secret', 'ls', '--format', 'json'], host),
    shoal(['secret', 'ls', '-q'], host),
    shoal(['secret', 'inspect', 'db_pass', 'web_pass'], host),
  ]);
  t.regex(lines(ls.stdout)[0] ?? '', /^ID +NAME +CREATED +UPDATED$/);
  t.regex(lines(ls.stdout)[1] ?? '', /^sec\S{9} +db_pass +/);
  t.is((JSON.parse(json.stdout) as ObjectRow[]).length, 2);
  t.is(lines(quiet.stdout).length, 2);
  t.like((JSON.parse(inspect.stdout) as ObjectRow[])[0], { name: 'db_pass', size: 12, labels: { team: 'a' } });
  for (const out of [ls.stdout, json.stdout, inspect.stdout]) {
    t.false(out.includes('s3cr3t'));
    t.false(out.includes(Buffer.from('file-s3cr3t\n').toString('base64')));
  }
  t.false('data' in (JSON.parse(inspect.stdout) as ObjectRow[])[0]!);
});

test('secret create with a file that is not there: one line, nothing sent', async (t) => {
  const { fake, host } = await startFake(t);
  const r = await shoal(['secret', 'create', 'pw', '/nonexistent/pw'], host);
  t.is(r.code, 1);
  t.is(r.stderr, 'shoal: cannot read /nonexistent/pw: no such file\n');
  t.is(fake.count('createSecret'), 0);
});

test('secret rm: removed ones printed; one in use refused with the manager words, the others still go', async (t) => {
  const { fake, host } = await startFake(t);
  fake.files.addSecret({ name: 'web_pass' });
  fake.files.addSecret({ name: 'old' });
  fake.addService({ name: 'web', secrets: [{ secretId: '', secretName: 'web_pass', target: undefined }] });
  const r = await shoal(['secret', 'rm', 'web_pass', 'old', 'nope'], host);
  t.is(r.code, 1);
  t.is(r.stdout, 'old\n');
  t.is(r.stderr, 'shoal: secret web_pass is in use by service web\nshoal: secret nope not found\n');
  t.deepEqual(
    fake.files.secrets.map((s) => s.spec?.name),
    ['web_pass'],
  );
});
