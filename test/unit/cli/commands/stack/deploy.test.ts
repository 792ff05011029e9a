// stack deploy / ls / services / ps / rm through the real cli/bin/shoal against the fake
// Control service: what is created (names, labels, order, output), that a redeploy of the
// same file sends nothing, --prune, an invalid file sends nothing, rm's order.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { NODE1, NODE2, startFake } from '../../../../helpers/fake-control.js';
import { shoal } from '../../../../helpers/run-shoal.js';

process.env.SHOAL_TEST_TAG = '1.36';

function files(contents: Record<string, string>): Record<string, string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'stack-unit-'));
  const out: Record<string, string> = {};
  for (const [name, text] of Object.entries(contents)) {
    out[name] = path.join(dir, name);
    writeFileSync(out[name], text);
  }
  return out;
}

const STACK_FILE = `version: "3.8"
services:
  web:
    image: busybox:\${SHOAL_TEST_TAG}
    ports: ["8080:80"]
    networks: [front]
    secrets: [token]
  worker:
    image: busybox
    command: sleep 3600
networks:
  front:
secrets:
  token:
    file: ./token.txt
`;

const MUTATING = ['createNetwork', 'createSecret', 'createConfig', 'createService', 'updateService', 'removeService'];

test('stack deploy creates networks, secrets and services named STACK_NAME with the stack label', async (t) => {
  const { fake, host } = await startFake(t, [NODE1, NODE2]);
  const f = files({ 'stack.yml': STACK_FILE, 'token.txt': 's3cret' });
  const r = await shoal(['stack', 'deploy', '-c', f['stack.yml']!, 'app'], host);
  t.is(r.code, 0, r.stderr);
  t.is(
    r.stdout,
    [
      'Creating network app_front',
      'Creating network app_default',
      'Creating secret app_token',
      'Creating service app_web',
      'Creating service app_worker',
      '',
    ].join('\n'),
  );
  const web = fake.services.find((s) => s.spec?.name === 'app_web')!;
  t.regex(
    web.spec?.image ?? '',
    /^busybox:1\.36(@sha256:[0-9a-f]{64})?$/,
    'interpolated from the environment (pinned by the manager)',
  );
  t.deepEqual(web.spec?.networks, ['app_front']);
  t.deepEqual(web.spec?.networkAliases, [{ network: 'app_front', aliases: ['web'] }]);
  t.is(web.spec?.labels['com.docker.stack.namespace'], 'app');
  t.deepEqual(
    web.spec?.secrets.map((s) => [s.secretName, s.target?.name]),
    [['app_token', 'token']],
  );
  const worker = fake.services.find((s) => s.spec?.name === 'app_worker')!;
  t.deepEqual(worker.spec?.networks, ['app_default']);
  t.deepEqual(worker.spec?.command, ['sleep', '3600']);
  t.deepEqual(
    fake.networks.map((n) => [n.spec?.name, n.spec?.labels['com.docker.stack.namespace']]),
    [
      ['app_front', 'app'],
      ['app_default', 'app'],
    ],
  );

  // The same file again: nothing is sent.
  const before = fake.calls.length;
  const again = await shoal(['stack', 'deploy', '-c', f['stack.yml']!, 'app'], host);
  t.is(again.code, 0, again.stderr);
  t.is(again.stdout, '');
  t.deepEqual(
    fake.calls.slice(before).filter((c) => MUTATING.includes(c.method)),
    [],
  );

  // ls, services, ps
  const ls = await shoal(['stack', 'ls'], host);
  t.is(ls.stdout, 'NAME      SERVICES\napp       2\n');
  const services = await shoal(['stack', 'services', 'app'], host);
  t.regex(services.stdout, /^ID\s+NAME\s+MODE\s+REPLICAS\s+IMAGE\s+PORTS$/m);
  t.regex(services.stdout, /app_web\s+replicated\s+1\/1\s+busybox:1.36\s+\*:8080->80\/tcp/);
  const ps = await shoal(['stack', 'ps', 'app'], host);
  t.is(ps.code, 0, ps.stderr);
  t.regex(ps.stdout, /^ID\s+NAME\s+IMAGE\s+NODE/);

  // --prune with a file without worker removes it; without --prune it stays.
  const g = files({ 'stack.yml': STACK_FILE.replace(/ {2}worker:\n.*\n.*\n/, ''), 'token.txt': 's3cret' });
  const kept = await shoal(['stack', 'deploy', '-c', g['stack.yml']!, 'app'], host);
  t.is(kept.stdout, '');
  t.truthy(fake.services.find((s) => s.spec?.name === 'app_worker'));
  const pruned = await shoal(['stack', 'deploy', '--prune', '-c', g['stack.yml']!, 'app'], host);
  t.is(pruned.stdout, 'Removing service app_worker\n', pruned.stderr);
  t.falsy(fake.services.find((s) => s.spec?.name === 'app_worker'));

  // rm: services first, then secrets, then networks.
  const rmFrom = fake.calls.length;
  const rm = await shoal(['stack', 'rm', 'app'], host);
  t.is(rm.code, 0, rm.stderr);
  t.is(
    rm.stdout,
    'Removing service app_web\nRemoving secret app_token\nRemoving network app_default\nRemoving network app_front\n',
  );
  t.deepEqual(
    fake.calls
      .slice(rmFrom)
      .map((c) => c.method)
      .filter((m) => m.startsWith('remove')),
    ['removeService', 'removeSecret', 'removeNetwork', 'removeNetwork'],
  );
  t.is(fake.services.length, 0);
  t.is(fake.networks.length, 0);
  const none = await shoal(['stack', 'rm', 'app'], host);
  t.is(none.code, 1);
  t.is(none.stderr, 'Nothing found in stack: app\n');
});

test('an invalid file sends nothing: one line with the file, line and key', async (t) => {
  const { fake, host } = await startFake(t, [NODE1]);
  const f = files({
    'bad.yml': 'version: "3.8"\nservices:\n  web:\n    image: busybox\n    replicas: 3\n',
    'missing.yml': 'version: "3.8"\nservices:\n  web:\n    image: busybox:${NOPE:?set NOPE}\n',
  });
  const r = await shoal(['stack', 'deploy', '-c', f['bad.yml']!, 'app'], host);
  t.is(r.code, 1);
  t.is(r.stderr, `shoal: ${f['bad.yml']}:5: services.web.replicas: additional property replicas is not allowed\n`);
  const m = await shoal(['stack', 'deploy', '-c', f['missing.yml']!, 'app'], host);
  t.is(
    m.stderr,
    `shoal: ${f['missing.yml']}:4: services.web.image: required variable NOPE is missing a value: set NOPE\n`,
  );
  t.deepEqual(
    fake.calls.filter((c) => MUTATING.includes(c.method)),
    [],
  );
});

test('stack deploy: usage errors', async (t) => {
  const { host } = await startFake(t, [NODE1]);
  const r = await shoal(['stack', 'deploy', 'app'], host);
  t.is(r.stderr.split('\n')[0], 'shoal: stack deploy requires at least one --compose-file (-c)');
  const bad = await shoal(['stack', 'deploy', '-c', 'x.yml', 'App'], host);
  t.regex(bad.stderr, /invalid stack name "App": no capitals/);
});
