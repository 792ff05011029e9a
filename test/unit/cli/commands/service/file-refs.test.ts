// service create --secret and --config: docker's short and long syntax, octal modes, targets;
// bad values refused before any call; a missing secret refused by the manager in one line.
import test from 'ava';
import { parseFileRef } from '../../../../../cli/commands/service/file-refs.js';
import { serviceCreate } from '../../../../../cli/commands/service/create.js';
import { startFake } from '../../../../helpers/fake-control.js';
import { parseAs, shoal, usageError } from '../../../../helpers/run-shoal.js';

test('short and long syntax', (t) => {
  t.deepEqual(parseFileRef('secret', 'web_pass'), { name: 'web_pass', target: { name: '', uid: 0, gid: 0, mode: 0 } });
  t.deepEqual(parseFileRef('secret', 'source=web_pass,target=pw,uid=33,gid=44,mode=0400'), {
    name: 'web_pass',
    target: { name: 'pw', uid: 33, gid: 44, mode: 0o400 },
  });
  t.deepEqual(parseFileRef('secret', 'web_pass,mode=440'), {
    name: 'web_pass',
    target: { name: '', uid: 0, gid: 0, mode: 0o440 },
  });
  t.deepEqual(parseFileRef('config', 'src=app,target=/etc/app.conf'), {
    name: 'app',
    target: { name: '/etc/app.conf', uid: 0, gid: 0, mode: 0 },
  });
});

test('bad values are refused, naming the flag and the field', (t) => {
  const cases: [string[], string][] = [
    [['--secret', 'target=x'], 'invalid --secret "target=x": a secret name is required'],
    [['--secret', 'pw,mode=0999'], 'invalid --secret "pw,mode=0999": mode must be octal, 0000 to 0777 (e.g. 0400)'],
    [['--secret', 'pw,uid=-1'], 'invalid --secret "pw,uid=-1": uid must be a number from 0 to 4294967295'],
    [
      ['--secret', 'pw,color=red'],
      'invalid --secret "pw,color=red": unknown field "color" (source, target, uid, gid, mode)',
    ],
    [
      ['--secret', 'pw,target=a/b'],
      `invalid --secret "pw,target=a/b": target is a file name under /run/secrets, without '/'`,
    ],
    [
      ['--config', 'app,target=etc/x'],
      'invalid --config "app,target=etc/x": target must be an absolute path (e.g. /etc/app.conf)',
    ],
    [['--secret', 'pw,x'], 'invalid --secret "pw,x": expected KEY=VALUE, got "x"'],
  ];
  for (const [flags, message] of cases)
    t.is(usageError(['service', 'create', '--name', 'web', ...flags, 'busybox']), message);
});

test('the spec carries the references, repeatable', (t) => {
  const { spec } = parseAs(serviceCreate, [
    ...['service', 'create', '--name', 'web', '--secret', 'a', '--secret', 'source=b,target=bb'],
    ...['--config', 'c', 'busybox'],
  ]);
  t.deepEqual(
    spec.secrets.map((r) => [r.secretName, r.target?.name]),
    [
      ['a', ''],
      ['b', 'bb'],
    ],
  );
  t.deepEqual(
    spec.configs.map((r) => r.configName),
    ['c'],
  );
});

test('a secret that does not exist: the manager refuses the service in one line', async (t) => {
  const { fake, host } = await startFake(t);
  const r = await shoal(['service', 'create', '--detach', '--name', 'web', '--secret', 'nope', 'busybox'], host);
  t.is(r.code, 1);
  t.is(r.stderr, 'shoal: secret nope not found\n');
  t.is(fake.services.length, 0);
  fake.files.addSecret({ name: 'nope' });
  const ok = await shoal(['service', 'create', '--detach', '--name', 'web', '--secret', 'nope', 'busybox'], host);
  t.is(ok.code, 0, ok.stderr);
});
