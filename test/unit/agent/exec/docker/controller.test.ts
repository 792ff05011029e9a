// The Docker controller's rules that need no engine (agent/exec/docker/controller.ts): which
// networks a task waits for, the addresses it reports. (With an engine: executor.test.ts.)
import test from 'ava';
import type Docker from 'dockerode';
import { DockerController, addressesOf } from '../../../../../agent/exec/docker/controller.js';
import type { HealthEvents } from '../../../../../agent/exec/docker/health-events.js';
import { makeTask } from '../../../../helpers/agent-support.js';
import { Attachments } from '../../../../helpers/fake-attachments.js';

test('Docker controller: waits only for networks it joins; none when the manager has no networks', (t) => {
  const nets = new Attachments();
  const d = {} as Docker;
  const ev = {} as HealthEvents;
  const on = (networks: string[]) =>
    new DockerController(d, ev, makeTask('t', { spec: { networks } }), undefined, nets);
  t.is(on(['a', 'b']).waitingFor(), 'waiting for network a');
  nets.set('a');
  t.is(on(['a', 'b']).waitingFor(), 'waiting for network b');
  t.is(on([]).waitingFor(), undefined, 'a task that joins no network never waits');
  t.is(
    new DockerController(d, ev, makeTask('t', { spec: { networks: ['x'] } })).waitingFor(),
    undefined,
    'no network support: as before',
  );
  nets.unsupported = true;
  t.is(on(['b']).waitingFor(), undefined, 'manager without networks: runs as before');
});

test('addresses: those of shoal networks only, by shoal network name', (t) => {
  t.deepEqual(addressesOf({ 'shoal-b': '10.43.1.2', bridge: '10.214.1.2', 'shoal-a': '10.42.1.3' }), [
    { network: 'a', ip: '10.42.1.3' },
    { network: 'b', ip: '10.43.1.2' },
  ]);
});
