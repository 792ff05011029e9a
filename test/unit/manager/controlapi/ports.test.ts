// checkPortConflicts on a ClusterState: what the routing mesh carries, and who holds a port.
import { status } from '@grpc/grpc-js';
import test from 'ava';
import { type PortConfig, PublishMode, type ServiceSpec } from '../../../../proto/gen/shoal.js';
import { checkPortConflicts } from '../../../../manager/controlapi/ports.js';
import { ApiError } from '../../../../manager/errors.js';
import { ClusterState } from '../../../../manager/store/cluster-state.js';
import { makeSpec } from '../../../helpers/fixtures.js';

const ingress = (published: number, target = 80, protocol = 'tcp'): PortConfig => ({
  publishedPort: published,
  targetPort: target,
  protocol,
  publishMode: PublishMode.INGRESS,
});
const host = (published: number, target = 80, protocol = 'tcp'): PortConfig => ({
  ...ingress(published, target, protocol),
  publishMode: PublishMode.HOST,
});

function stateWith(...specs: ServiceSpec[]): ClusterState {
  const state = new ClusterState();
  specs.forEach((spec, i) =>
    state.putService({
      id: `svc${i}`,
      spec,
      specVersion: 1,
      createdAtMs: 1,
      updatedAtMs: 1,
      updateStatus: undefined,
      previousVersions: [],
      hasRegistryAuth: false,
    }),
  );
  return state;
}

function refusal(state: ClusterState, spec: ServiceSpec): { code: number; message: string } | undefined {
  try {
    checkPortConflicts(state, spec);
    return undefined;
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    return { code: err.code, message: err.message };
  }
}

const conflict = (message: string) => ({ code: status.INVALID_ARGUMENT, message });

test('ingress vs ingress on the same port and protocol is refused, naming the holder', (t) => {
  const state = stateWith(makeSpec('web', { ports: [ingress(8080)] }));
  t.deepEqual(
    refusal(state, makeSpec('api', { ports: [ingress(8080, 81)] })),
    conflict('port 8080/tcp is already published by service web'),
  );
});

test('ingress vs host and host vs ingress are refused; host vs host is allowed', (t) => {
  const state = stateWith(makeSpec('web', { ports: [ingress(8080)] }), makeSpec('agent', { ports: [host(9000)] }));
  t.deepEqual(
    refusal(state, makeSpec('a', { ports: [host(8080)] })),
    conflict('port 8080/tcp is already published by service web'),
  );
  t.deepEqual(
    refusal(state, makeSpec('b', { ports: [ingress(9000)] })),
    conflict('port 9000/tcp is already published by service agent'),
  );
  t.is(refusal(state, makeSpec('c', { ports: [host(9000)] })), undefined);
});

test('another protocol, another port, or no ports at all: no conflict', (t) => {
  const state = stateWith(makeSpec('dns', { ports: [host(53, 53, 'udp')] }), makeSpec('plain'));
  t.is(refusal(state, makeSpec('dns-tcp', { ports: [ingress(53, 53)] })), undefined);
  t.is(refusal(state, makeSpec('web', { ports: [ingress(8080), host(9090)] })), undefined);
  t.is(refusal(state, makeSpec('none')), undefined);
  t.is(refusal(new ClusterState(), makeSpec('first', { ports: [ingress(80)] })), undefined);
});

test('an empty protocol is tcp, on either side', (t) => {
  const state = stateWith(makeSpec('web', { ports: [ingress(8080, 80, '')] }));
  t.deepEqual(
    refusal(state, makeSpec('api', { ports: [host(8080)] })),
    conflict('port 8080/tcp is already published by service web'),
  );
});

test('the routing mesh: tcp only, and a published port is needed', (t) => {
  const state = new ClusterState();
  t.deepEqual(refusal(state, makeSpec('dns', { ports: [ingress(53, 53, 'udp')] })), {
    code: status.INVALID_ARGUMENT,
    message: 'port 53/udp: the routing mesh carries tcp only; publish udp with mode=host',
  });
  t.deepEqual(refusal(state, makeSpec('web', { ports: [ingress(0, 80)] })), {
    code: status.INVALID_ARGUMENT,
    message: 'port 80/tcp: the routing mesh needs a published port',
  });
  t.is(refusal(state, makeSpec('dns', { ports: [host(53, 53, 'udp')] })), undefined);
});

test('the first conflicting port of the spec is named, whatever the order of services', (t) => {
  const state = stateWith(makeSpec('late', { ports: [ingress(9000)] }), makeSpec('early', { ports: [ingress(8080)] }));
  t.deepEqual(
    refusal(state, makeSpec('api', { ports: [ingress(8080), ingress(9000)] })),
    conflict('port 8080/tcp is already published by service early'),
  );
});

test('a service of the same name is not a conflict (creating it again is refused as existing)', (t) => {
  const state = stateWith(makeSpec('web', { ports: [ingress(8080)] }));
  t.is(refusal(state, makeSpec('web', { ports: [ingress(8080)] })), undefined);
});

test('the check reads services, not tasks', (t) => {
  const state = stateWith(makeSpec('web', { ports: [ingress(8080)] }));
  // Tasks are not looked at: a map that throws on any read proves it.
  Object.defineProperty(state, 'tasks', {
    get: () => {
      throw new Error('tasks read');
    },
  });
  t.deepEqual(
    refusal(state, makeSpec('api', { ports: [ingress(8080)] })),
    conflict('port 8080/tcp is already published by service web'),
  );
});
