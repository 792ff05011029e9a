// Generated bad Control API requests, reproducible from a seed: every request carries at
// least one defect (a bad name, a huge size or count, an enum out of range, an absurd
// duration, a reserved subnet, an unknown reference), so a correct manager refuses each one
// and changes nothing. Unknown references contain '-' and capitals, so they are never a
// prefix of an id (ids are 25 lowercase letters and digits).
import {
  type CreateNetworkRequest,
  type CreateServiceRequest,
  type EventsRequest,
  type ListTasksRequest,
  type ScaleServiceRequest,
  type ServiceSpec,
  type UpdateNodeRequest,
  type Availability,
  type PublishMode,
  type RestartCondition,
  ServiceMode,
} from '../../proto/gen/shoal.js';
import { Metadata, type ServiceError } from '@grpc/grpc-js';
import type { ControlClient } from '../../proto/gen/shoal.js';
import { makeSpec } from './fixtures.js';

/** mulberry32: a small seeded PRNG, so a failing case can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type BadRequest =
  | { method: 'createService'; request: CreateServiceRequest; defect: string }
  | { method: 'scaleService'; request: ScaleServiceRequest; defect: string }
  | { method: 'updateNode'; request: UpdateNodeRequest; defect: string }
  | { method: 'createNetwork'; request: CreateNetworkRequest; defect: string }
  | {
      method: 'removeService' | 'getService' | 'removeNetwork' | 'getNetwork';
      request: { ref: string };
      defect: string;
    }
  | { method: 'removeNode' | 'getNode'; request: { ref: string; force?: boolean }; defect: string }
  | { method: 'listTasks'; request: ListTasksRequest; defect: string }
  | { method: 'lookupService'; request: { name: string }; defect: string }
  | { method: 'events'; request: EventsRequest; defect: string };

export class BadRequests {
  readonly #r: () => number;
  /** Refs that exist (a valid target for a request whose defect is elsewhere). */
  constructor(
    seed: number,
    private readonly existing: { service: string; node: string; network: string },
    /** Subnets that hold a node's address (refused as the hosts' own network). */
    private readonly hostSubnets: readonly string[] = ['192.168.1.0/24', '192.168.0.0/16'],
  ) {
    this.#r = prng(seed);
  }

  int(n: number): number {
    return Math.floor(this.#r() * n);
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }

  /** Random printable text with some unicode, of `n` characters. */
  text(n: number): string {
    const alphabet = 'abcXYZ019-_. =/\u00e9\u4e2d\ud83d\ude00\t';
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[this.int(alphabet.length)];
    return s;
  }

  /** A size that is sometimes small and sometimes far over any bound. */
  size(): number {
    return this.pick([0, 1, 64, 300, 5_000, 70_000, 300_000, 1_100_000]);
  }

  unknownRef(): string {
    return this.pick([`No-Such-${this.int(1e6)}`, `x-${this.text(3)}-Y`, 'Z'.repeat(300), '', ' ', 'a b', 'é-x']);
  }

  badName(): string {
    return this.pick([
      'Web',
      'web server',
      'github.com',
      'wéb',
      'a'.repeat(64),
      'a'.repeat(300),
      '-web',
      'web-',
      'web+1',
      '_web',
      '',
      `x${this.text(10)}.`,
    ]);
  }

  /** A valid spec with one defect; returns the defect's name. */
  badSpec(): { spec: ServiceSpec; defect: string } {
    const spec = makeSpec(`fuzz-${this.int(1e9)}`, { replicas: 1 });
    const defects: Array<[string, () => void]> = [
      ['name', () => (spec.name = this.badName())],
      ['replicas', () => (spec.replicas = this.pick([100_001, 1e9, 2 ** 52]))],
      ['mode', () => (spec.mode = this.pick([2, 7, -1, 1e6]) as ServiceMode)],
      ['image', () => (spec.image = this.pick(['', ' ', 'a b', 'x'.repeat(2_000 + this.size())]))],
      ['command', () => (spec.command = Array.from({ length: 2_000 }, () => 'x'))],
      ['command size', () => (spec.command = ['sh', '-c', 'x'.repeat(70_000)])],
      ['env count', () => (spec.env = Array.from({ length: 1_100 }, (_, i) => `K${i}=v`))],
      ['env size', () => (spec.env = [`K=${'v'.repeat(40_000)}`])],
      ['env shape', () => (spec.env = [this.pick(['noequals', '=v', 'A B=1'])])],
      ['labels', () => (spec.labels = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, 'v'])))],
      ['label key', () => (spec.labels = { ['k'.repeat(300)]: 'v' })],
      ['label value', () => (spec.labels = { k: 'v'.repeat(5_000 + this.size()) })],
      ['constraints', () => (spec.constraints = Array.from({ length: 70 }, () => 'node.hostname==a'))],
      ['constraint', () => (spec.constraints = [this.pick(['nonsense', 'foo==bar', `node.id==${'x'.repeat(2_000)}`])])],
      [
        'ports',
        () =>
          (spec.ports = [
            {
              protocol: this.pick(['sctp', 'x', 'tcp']),
              targetPort: this.pick([0, 70_000]),
              publishedPort: 80,
              publishMode: 0,
            },
          ]),
      ],
      [
        'port mode',
        () => (spec.ports = [{ protocol: 'tcp', targetPort: 80, publishedPort: 8080, publishMode: 9 as PublishMode }]),
      ],
      ['networks', () => (spec.networks = [this.unknownRef()])],
      ['network count', () => (spec.networks = Array.from({ length: 20 }, (_, i) => `n${i}`))],
      ['stop grace', () => (spec.stopGracePeriodMs = this.pick([-1, 3.6e15, 25 * 3_600_000]))],
      [
        'health',
        () =>
          (spec.health = {
            test: ['CMD', 'true'],
            intervalMs: this.pick([3.6e15, -5]),
            timeoutMs: 0,
            retries: 0,
            startPeriodMs: 0,
          }),
      ],
      ['restart delay', () => (spec.restart = { condition: 0, delayMs: 3.6e15, maxAttempts: 0, windowMs: 0 })],
      [
        'restart condition',
        () => (spec.restart = { condition: 9 as RestartCondition, delayMs: 0, maxAttempts: 0, windowMs: 0 }),
      ],
      ['resources', () => (spec.limits = { nanoCpus: -1, memoryBytes: 2 ** 52 })],
      [
        'whole spec',
        () => (spec.labels = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${i}`, 'v'.repeat(4_000)]))),
      ],
      [
        'stored size',
        () => {
          spec.replicas = 100_000;
          spec.env = Array.from({ length: 100 }, (_, i) => `K${i}=${'v'.repeat(1_000)}`);
        },
      ],
    ];
    const [defect, apply] = this.pick(defects);
    apply();
    // sometimes a second defect, to mix them
    if (this.int(4) === 0) this.pick(defects)[1]();
    return { spec, defect };
  }

  next(): BadRequest {
    const { service, node, network } = this.existing;
    const kind = this.int(11);
    switch (kind) {
      case 0:
      case 1:
      case 2: {
        const { spec, defect } = this.badSpec();
        return { method: 'createService', request: { spec, resolveImage: 0, registryAuth: '' }, defect };
      }
      case 3:
        return this.int(2) === 0
          ? {
              method: 'scaleService',
              request: { ref: service, replicas: this.pick([100_001, 1e9, 2 ** 53 - 1]) },
              defect: 'replicas',
            }
          : { method: 'scaleService', request: { ref: this.unknownRef(), replicas: 1 }, defect: 'unknown ref' };
      case 4: {
        const request: UpdateNodeRequest = { ref: node, labelAdd: {}, labelRm: [] };
        const defect = this.pick([
          'availability',
          'label count',
          'label key',
          'label value',
          'empty key',
          'unknown ref',
          'rm',
        ]);
        if (defect === 'availability') request.availability = this.pick([3, 9, -1]) as Availability;
        if (defect === 'label count')
          request.labelAdd = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, 'v']));
        if (defect === 'label key') request.labelAdd = { ['k'.repeat(500)]: 'v' };
        if (defect === 'label value') request.labelAdd = { k: 'v'.repeat(5_000) };
        if (defect === 'empty key') request.labelAdd = { '': 'v' };
        if (defect === 'unknown ref') request.ref = this.unknownRef();
        if (defect === 'rm') request.labelRm = [this.pick(['nosuchlabel', '', 'x'.repeat(300)])];
        return { method: 'updateNode', request, defect };
      }
      case 5: {
        const defect = this.pick(['name', 'subnet', 'taken', 'labels']);
        const spec = { name: `net-${this.int(1e9)}`, subnet: '', labels: {} as Record<string, string> };
        if (defect === 'name') spec.name = this.badName();
        if (defect === 'subnet')
          spec.subnet = this.pick([
            '127.0.0.0/16',
            '169.254.0.0/16',
            '224.0.0.0/8',
            '240.0.0.0/8',
            '0.0.0.0/8',
            ...this.hostSubnets,
            '10.0.0.0/7',
            '10.43.1.0/16',
            'nonsense',
            'x'.repeat(1_000),
          ]);
        if (defect === 'taken') spec.name = network;
        if (defect === 'labels') spec.labels = { ['k'.repeat(300)]: 'v' };
        return { method: 'createNetwork', request: { spec }, defect };
      }
      case 6:
        return {
          method: this.pick(['removeService', 'getService', 'removeNetwork', 'getNetwork'] as const),
          request: { ref: this.unknownRef() },
          defect: 'unknown ref',
        };
      case 7:
        return {
          method: this.pick(['removeNode', 'getNode'] as const),
          request: { ref: this.unknownRef(), force: true },
          defect: 'unknown ref',
        };
      case 8:
        return {
          method: 'listTasks',
          request: { service: this.unknownRef() || 'No-Such', node: '' },
          defect: 'unknown ref',
        };
      case 9:
        return { method: 'lookupService', request: { name: this.pick(['', 'x'.repeat(300), 'a b']) }, defect: 'name' };
      default:
        return {
          method: 'events',
          request: { types: [this.pick(['bogus', 'x'.repeat(1_000), 'TASK'])], name: '' },
          defect: 'type',
        };
    }
  }
}

export type Outcome = { ok: true } | { ok: false; code: number; details: string };

/** One bad request through a real client (Events: until the first answer or the end), 10 s deadline. */
export function sendBad(client: ControlClient, bad: BadRequest): Promise<Outcome> {
  const options = { deadline: Date.now() + 10_000 };
  return new Promise((resolve) => {
    const done = (err: ServiceError | null) =>
      resolve(err ? { ok: false, code: err.code, details: err.details } : { ok: true });
    if (bad.method === 'events') {
      const stream = client.events(bad.request, new Metadata(), options);
      stream.on('data', () => {
        stream.cancel();
        resolve({ ok: true });
      });
      stream.on('error', (e: ServiceError) => done(e));
      stream.on('end', () => resolve({ ok: true }));
      return;
    }
    const fn = client[bad.method].bind(client) as (
      req: unknown,
      md: Metadata,
      o: object,
      cb: (err: ServiceError | null) => void,
    ) => unknown;
    fn(bad.request, new Metadata(), options, done);
  });
}
