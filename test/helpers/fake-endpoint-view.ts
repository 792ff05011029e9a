// An EndpointView in memory for the HTTP API's tests: every change bumps the index, as an
// etcd revision would, and blocking waits time out on the view's own ManualClock, which only
// moves when the test calls view.clock.advance(): a wait ends by a change, by the clock
// passing its timeout, or never. Each wait's requested timeout and how it ended are recorded.
import { PublishMode, type Endpoint, type PortConfig, type ServiceEndpoints } from '../../proto/gen/shoal.js';
import type { EndpointView } from '../../manager/discovery/view.js';
import { ManualClock } from './manual-clock.js';

interface Wait {
  check(): void;
}

export class FakeView implements EndpointView {
  loaded = true;
  index = 10;
  private namesIndex = 10;
  private readonly services = new Map<string, ServiceEndpoints>();
  private readonly waits = new Set<Wait>();
  /** The view's clock: its waits time out on it, and a blocking query's deadline is kept by it. */
  readonly clock = new ManualClock();
  /** waitFor / waitForNames calls so far. */
  waitCalls = 0;
  /** The timeout each waiting call asked for, in order. */
  readonly asked: number[] = [];
  /** How each wait that waited ended. */
  readonly ended: ('change' | 'timeout')[] = [];

  /** `sliceCapMs`: each wait ends after at most this long on the view's clock. */
  constructor(private readonly sliceCapMs = Infinity) {}

  /** Waits in progress. */
  get pendingWaits(): number {
    return this.waits.size;
  }

  set(name: string, networks: string[], endpoints: Endpoint[]): void {
    this.index++;
    if (!this.services.has(name)) this.namesIndex = this.index;
    this.services.set(name, { name, exists: true, networks, ports: [tcp(80)], endpoints, index: this.index });
    this.wake();
  }

  remove(name: string): void {
    this.index++;
    this.services.delete(name);
    this.namesIndex = this.index;
    this.wake();
  }

  lookup(name: string): ServiceEndpoints {
    const se = this.services.get(name);
    if (se) return structuredClone(se);
    return { name, exists: false, networks: [], ports: [], endpoints: [], index: this.index };
  }

  serviceNames(): string[] {
    return [...this.services.keys()].sort();
  }

  waitFor(name: string, index: number, timeoutMs: number): Promise<ServiceEndpoints> {
    return this.wait(() => this.lookup(name), index, timeoutMs);
  }

  waitForNames(index: number, timeoutMs: number): Promise<{ index: number; names: string[] }> {
    return this.wait(() => ({ index: this.namesIndex, names: this.serviceNames() }), index, timeoutMs);
  }

  onChange(): () => void {
    return () => {};
  }

  private wake(): void {
    for (const w of [...this.waits]) w.check();
  }

  private wait<T extends { index: number }>(get: () => T, index: number, timeoutMs: number): Promise<T> {
    this.waitCalls++;
    const now = get();
    if (index === 0 || now.index > index) return Promise.resolve(now);
    this.asked.push(timeoutMs);
    return new Promise((resolve) => {
      const end = (how: 'change' | 'timeout') => {
        cancel();
        this.waits.delete(w);
        this.ended.push(how);
        resolve(get());
      };
      const w: Wait = {
        check: () => {
          if (get().index > index) end('change');
        },
      };
      const cancel = this.clock.after(Math.min(timeoutMs, this.sliceCapMs), () => end('timeout'));
      this.waits.add(w);
    });
  }
}

export function tcp(target: number): PortConfig {
  return { protocol: 'tcp', targetPort: target, publishedPort: 0, publishMode: PublishMode.INGRESS };
}

export function endpoint(task: string, node: string, addrs: Record<string, string>, healthChecked = false): Endpoint {
  return {
    serviceId: 'svc-web',
    serviceName: 'web',
    taskId: task,
    slot: Number(task.replace(/\D/g, '')) || 0,
    nodeId: `id-${node}`,
    nodeName: node,
    nodeAddress: `192.168.0.${node.replace(/\D/g, '')}`,
    addresses: Object.entries(addrs).map(([network, ip]) => ({ network, ip })),
    ports: [tcp(80), tcp(443)],
    healthChecked,
    registeredAtMs: 1,
  };
}

/** The view most tests start from: web with three endpoints on two hosts and two networks. */
export function webView(sliceCapMs?: number): FakeView {
  const v = new FakeView(sliceCapMs);
  v.set(
    'web',
    ['backend', 'shoal'],
    [
      endpoint('task-3', 'host2', { shoal: '10.42.2.3', backend: '10.50.2.3' }, true),
      endpoint('task-1', 'host1', { shoal: '10.42.1.1' }),
      endpoint('task-2', 'host1', { shoal: '10.42.1.2', backend: '10.50.1.2' }),
    ],
  );
  return v;
}
