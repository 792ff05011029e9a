// The Control route table at run time: every method of the service has exactly one entry,
// no stream is a write, and the writes are the calls that change desired state.
import test from 'ava';
import { ControlClient } from '../../../../proto/gen/shoal.js';
import { CONTROL_ROUTES } from '../../../../manager/controlapi/routes.js';

const service = ControlClient.service;

test('every method of ControlClient.service has an entry, and the table names no other', (t) => {
  t.deepEqual(Object.keys(CONTROL_ROUTES).sort(), Object.keys(service).sort());
});

test('no method with a stream is a write (a stream cannot be forwarded)', (t) => {
  for (const [method, def] of Object.entries(service)) {
    if (def.requestStream || def.responseStream) t.not(CONTROL_ROUTES[method as keyof typeof service], 'write', method);
  }
});

test('the writes are the calls that change desired state; CA reads and logs go to the leader; Events is local', (t) => {
  const byRoute = (route: string) =>
    Object.entries(CONTROL_ROUTES)
      .filter(([, r]) => r === route)
      .map(([m]) => m)
      .sort();
  t.deepEqual(byRoute('write'), [
    'createConfig',
    'createNetwork',
    'createSecret',
    'createService',
    'getJoinTokens',
    'removeConfig',
    'removeNetwork',
    'removeNode',
    'removeSecret',
    'removeService',
    'rollbackService',
    'rotateCa',
    'scaleService',
    'updateNode',
    'updateService',
  ]);
  t.deepEqual(byRoute('leader'), ['inspectCa', 'issueClientCertificate', 'serviceLogs']);
  t.deepEqual(byRoute('local'), ['events']);
});
