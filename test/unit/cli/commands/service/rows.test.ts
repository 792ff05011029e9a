// cli/commands/service/rows.ts: the service row of `service ls --format json` and `inspect`.
import test from 'ava';
import { serviceRow } from '../../../../../cli/commands/service/rows.js';
import { RestartCondition, type Service, ServiceMode } from '../../../../../proto/gen/shoal.js';
import { T0, webSpec as spec } from '../../../../helpers/cli-fixtures.js';

test('serviceRow: desired and running from the status', (t) => {
  const service: Service = {
    id: 's1cccccccccccccccccccccccc',
    spec,
    specVersion: 2,
    createdAtMs: T0,
    updatedAtMs: T0,
    updateStatus: undefined,
    previousVersions: [],
    hasRegistryAuth: false,
  };
  const row = serviceRow(service, { desired: 3, running: 2, stopping: 1, pendingReason: '' });
  t.like(row, {
    id: service.id,
    name: 'web',
    mode: 'replicated',
    replicas: 3,
    running: 2,
    desired: 3,
    stopping: 1,
    image: 'busybox:latest',
    stopGracePeriodMs: 10_000,
  });
  t.deepEqual(row.command, ['sh', '-c', 'sleep 1d']);
  t.deepEqual(row.constraints, ['node.labels.zone==a']);
  t.deepEqual(row.reservations, { cpus: 0.5, memoryBytes: 64 * 1024 ** 2 });
  t.is(row.limits, null);
  t.is(row.restart, null);
  t.is(row.health, null);
  // no status: the spec's replicas, nothing running
  t.like(serviceRow(service, undefined), { replicas: 3, desired: 3, running: 0 });
  const global = serviceRow(
    { ...service, spec: { ...spec, mode: ServiceMode.GLOBAL, replicas: 0 } },
    {
      desired: 4,
      running: 4,
      stopping: 0,
      pendingReason: '',
    },
  );
  t.like(global, { mode: 'global', replicas: 4 });
});

test('serviceRow: restart policy and health check; unset grace period is null', (t) => {
  const service: Service = {
    id: 's1',
    spec: {
      ...spec,
      stopGracePeriodMs: undefined,
      restart: { condition: RestartCondition.ON_FAILURE, delayMs: 0, maxAttempts: 3, windowMs: 60_000 },
      health: { test: ['CMD-SHELL', 'true'], intervalMs: 2000, timeoutMs: 0, retries: 5, startPeriodMs: 0 },
    },
    specVersion: 1,
    createdAtMs: T0,
    updatedAtMs: T0,
    updateStatus: undefined,
    previousVersions: [],
    hasRegistryAuth: false,
  };
  const row = serviceRow(service, undefined);
  t.is(row.stopGracePeriodMs, null);
  t.deepEqual(row.restart, { condition: 'on-failure', delayMs: 0, maxAttempts: 3, windowMs: 60_000 });
  t.deepEqual(row.health, {
    test: ['CMD-SHELL', 'true'],
    intervalMs: 2000,
    timeoutMs: 0,
    retries: 5,
    startPeriodMs: 0,
  });
  const defaults = serviceRow(
    {
      ...service,
      spec: { ...spec, restart: { condition: RestartCondition.NONE, delayMs: undefined, maxAttempts: 0, windowMs: 0 } },
    },
    undefined,
  );
  t.deepEqual(defaults.restart, { condition: 'none', delayMs: null, maxAttempts: 0, windowMs: 0 });
  t.is(
    serviceRow(
      { ...service, spec: { ...spec, restart: { condition: RestartCondition.ANY, maxAttempts: 0, windowMs: 0 } } },
      undefined,
    ).restart?.condition,
    'any',
  );
});

test('serviceRow: networks', (t) => {
  const service: Service = {
    id: 's1',
    spec: { ...spec, networks: ['backend', 'front'] },
    specVersion: 1,
    createdAtMs: T0,
    updatedAtMs: T0,
    updateStatus: undefined,
    previousVersions: [],
    hasRegistryAuth: false,
  };
  t.deepEqual(serviceRow(service, undefined).networks, ['backend', 'front']);
  t.deepEqual(serviceRow({ ...service, spec }, undefined).networks, []);
});
