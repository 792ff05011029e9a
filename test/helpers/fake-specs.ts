// A whole ServiceSpec from the few fields a CLI test cares about (what the fake Control
// service stores and the tests compare against).
import { ServiceSpec } from '../../proto/gen/shoal.js';

/** `spec` with every other field as `service create` would leave it (busybox, 1 replica, 10 s grace). */
export function fullSpec(spec: Partial<ServiceSpec> & { name: string }): ServiceSpec {
  return {
    ...ServiceSpec.fromPartial({}),
    image: 'busybox',
    command: [],
    env: [],
    labels: {},
    mode: 0,
    replicas: 1,
    constraints: [],
    reservations: undefined,
    limits: undefined,
    ports: [],
    restart: undefined,
    health: undefined,
    networks: [],
    stopGracePeriodMs: 10_000,
    secrets: [],
    configs: [],
    ...spec,
  };
}
