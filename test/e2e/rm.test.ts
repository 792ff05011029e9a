// `service rm` removes every container of the service from every host.
import test from 'ava';
import {
  HTTPD,
  IMAGE,
  containersOf,
  each,
  countPerHost,
  services,
  shoal,
  shoalOk,
  uniqueName,
  waitForValue,
  waitNodesReady,
} from '../helpers/bed.js';

test.before(async () => {
  await waitNodesReady();
});

test.serial('service rm leaves no container of the service on any host', async (t) => {
  const name = uniqueName('rm');
  try {
    await shoalOk('service', 'create', '--name', name, '--replicas', '3', '--stop-grace-period', '1s', IMAGE, ...HTTPD);
    t.deepEqual(await waitForValue(() => countPerHost(name), each(1), 30_000), each(1), 'running before rm');

    const r = await shoalOk('service', 'rm', name);
    t.regex(r.stdout, new RegExp(name), 'rm prints the name');
    const left = await waitForValue(async () => (await containersOf(name, { all: true })).length, 0, 30_000);
    t.is(left, 0, 'containers of any state left on the hosts');
    t.false(
      (await services()).some((s) => s.name === name),
      'service ls no longer lists it',
    );
  } finally {
    await shoal('service', 'rm', name);
  }
});
