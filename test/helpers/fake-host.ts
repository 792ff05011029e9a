// A fake network namespace for the agent's network tests: it answers the `ip`, `bridge` and
// `iptables` commands agent/network/ runs, keeps their state, and records every command that
// changes something (listings are not recorded).
import type { CommandResult, CommandRunner } from '../../agent/network/commands.js';
import type { DockerNetwork, DockerNetworks } from '../../agent/network/docker.js';

interface Link {
  kind: string;
  mac: string;
  mtu: number;
  up: boolean;
  addrs: Array<{ local: string; prefixlen: number }>;
  vxlan?: { id: number; local: string; link: string; port: number; learning: boolean };
}

const ok = (stdout = ''): CommandResult => ({ code: 0, stdout, stderr: '' });
const fail = (stderr: string, code = 2): CommandResult => ({ code, stdout: '', stderr });

export class FakeHost implements CommandRunner {
  readonly links = new Map<string, Link>();
  readonly neigh = new Map<string, Map<string, string>>();
  readonly fdb = new Map<string, Array<{ mac: string; dst: string }>>();
  readonly routes = new Map<string, Map<string, string>>();
  readonly chains = new Map<string, string[][]>([
    ['filter DOCKER-USER', [['-j', 'RETURN']]],
    ['nat POSTROUTING', [['-s', '10.214.1.0/24', '!', '-o', 'docker0', '-j', 'MASQUERADE']]],
  ]);
  /** Every command that changed something, as one line. */
  readonly changes: string[] = [];
  /** Fail every command whose line starts with this (tests of failures). */
  failing: string | undefined;

  constructor(underlay: { device: string; address: string; mtu: number }) {
    this.links.set('lo', {
      kind: 'loopback',
      mac: '00:00:00:00:00:00',
      mtu: 65536,
      up: true,
      addrs: [{ local: '127.0.0.1', prefixlen: 8 }],
    });
    this.links.set(underlay.device, {
      kind: 'veth',
      mac: '02:aa:00:00:00:01',
      mtu: underlay.mtu,
      up: true,
      addrs: [{ local: underlay.address, prefixlen: 24 }],
    });
  }

  take(): string[] {
    return this.changes.splice(0);
  }

  async run(file: string, args: readonly string[]): Promise<CommandResult> {
    const line = `${file} ${args.join(' ')}`;
    if (this.failing !== undefined && line.startsWith(this.failing)) return fail(`fake failure of ${line}`);
    const a = [...args];
    if (file === 'iptables') return this.iptables(a, line);
    const listing = a[0] === '-j';
    if (!listing) this.changes.push(line);
    if (file === 'ip') return this.ip(listing ? a.slice(1) : a);
    if (file === 'bridge') return this.bridge(listing ? a.slice(1) : a);
    return fail(`unknown command ${file}`, 127);
  }

  private linkJson(name: string, l: Link, details: boolean): Record<string, unknown> {
    return {
      ifname: name,
      mtu: l.mtu,
      address: l.mac,
      flags: l.up ? ['BROADCAST', 'UP', 'LOWER_UP'] : ['BROADCAST'],
      addr_info: l.addrs.map((x) => ({ family: 'inet', ...x })),
      ...(details && l.vxlan
        ? { linkinfo: { info_kind: 'vxlan', info_data: l.vxlan } }
        : details
          ? { linkinfo: { info_kind: l.kind } }
          : {}),
    };
  }

  private ip(a: string[]): CommandResult {
    const details = a[0] === '-d';
    if (details) a = a.slice(1);
    const [obj, verb] = a;
    const dev = a[a.indexOf('dev') + 1] ?? '';
    if (obj === 'addr' && verb === 'show') {
      const entries = [...this.links.entries()].filter(([n]) => a[2] !== 'dev' || n === a[3]);
      if (a[2] === 'dev' && entries.length === 0) return fail(`Device "${a[3]}" does not exist.`, 1);
      return ok(JSON.stringify(entries.map(([n, l]) => this.linkJson(n, l, false))));
    }
    if (obj === 'link' && verb === 'show')
      return ok(JSON.stringify([...this.links.entries()].map(([n, l]) => this.linkJson(n, l, details))));
    if (obj === 'link' && verb === 'add') {
      const name = a[2] ?? '';
      if (this.links.has(name)) return fail('RTNETLINK answers: File exists');
      const val = (k: string) => a[a.indexOf(k) + 1] ?? '';
      this.links.set(name, {
        kind: 'vxlan',
        mac: val('address'),
        mtu: Number(val('mtu')),
        up: false,
        addrs: [],
        vxlan: {
          id: Number(val('id')),
          local: val('local'),
          link: val('dev'),
          port: Number(val('dstport')),
          learning: !a.includes('nolearning'),
        },
      });
      return ok();
    }
    if (obj === 'link' && verb === 'del') {
      if (!this.links.delete(a[2] ?? '')) return fail('Cannot find device');
      for (const m of [this.neigh, this.fdb, this.routes]) m.delete(a[2] ?? '');
      return ok();
    }
    if (obj === 'link' && verb === 'set') {
      const l = this.links.get(a[2] ?? '');
      if (!l) return fail('Cannot find device');
      if (a[3] === 'up') l.up = true;
      if (a[3] === 'address') l.mac = a[4] ?? '';
      if (a[3] === 'mtu') l.mtu = Number(a[4]);
      return ok();
    }
    const l = this.links.get(dev);
    if (!l) return fail(`Cannot find device "${dev}"`, 1);
    if (obj === 'addr') {
      const [local, len] = (a[2] ?? '').split('/');
      const i = l.addrs.findIndex((x) => x.local === local && x.prefixlen === Number(len));
      if (verb === 'del') {
        if (i < 0) return fail('RTNETLINK answers: Cannot assign requested address');
        l.addrs.splice(i, 1);
      } else if (i < 0) l.addrs.push({ local: local ?? '', prefixlen: Number(len) });
      return ok();
    }
    if (obj === 'neigh') {
      const m = this.neigh.get(dev) ?? new Map<string, string>();
      this.neigh.set(dev, m);
      if (verb === 'show')
        return ok(JSON.stringify([...m].map(([dst, lladdr]) => ({ dst, lladdr, state: ['PERMANENT'] }))));
      if (verb === 'replace') m.set(a[2] ?? '', a[4] ?? '');
      if (verb === 'del' && !m.delete(a[2] ?? '')) return fail('RTNETLINK answers: No such file or directory');
      return ok();
    }
    if (obj === 'route') {
      const m = this.routes.get(dev) ?? new Map<string, string>();
      this.routes.set(dev, m);
      if (verb === 'show')
        return ok(JSON.stringify([...m].map(([dst, gateway]) => ({ dst, gateway, flags: ['onlink'] }))));
      if (verb === 'replace') m.set(a[2] ?? '', a[4] ?? '');
      if (verb === 'del' && !m.delete(a[2] ?? '')) return fail('RTNETLINK answers: No such process');
      return ok();
    }
    return fail(`fake ip: ${a.join(' ')}?`);
  }

  private bridge(a: string[]): CommandResult {
    const dev = a[a.indexOf('dev') + 1] ?? '';
    if (!this.links.has(dev)) return fail(`Cannot find device "${dev}"`, 1);
    const list = this.fdb.get(dev) ?? [];
    this.fdb.set(dev, list);
    if (a[1] === 'show') return ok(JSON.stringify(list.map((e) => ({ ...e, flags: ['self'], state: 'permanent' }))));
    const mac = a[2] ?? '';
    const dst = a[a.indexOf('dst') + 1] ?? '';
    const i = list.findIndex((e) => e.mac === mac && e.dst === dst);
    if (a[1] === 'append') {
      if (i < 0) list.push({ mac, dst });
      return ok();
    }
    if (a[1] === 'del') {
      if (i < 0) return fail('RTNETLINK answers: No such file or directory');
      list.splice(i, 1);
      return ok();
    }
    return fail(`fake bridge: ${a.join(' ')}?`);
  }

  private iptables(a: string[], line: string): CommandResult {
    const table = a[0] === '-t' ? (a[1] ?? 'filter') : 'filter';
    if (a[0] === '-t') a = a.slice(2);
    const [op, chain = ''] = a;
    const key = `${table} ${chain}`;
    const rules = this.chains.get(key);
    if (op === '-S') {
      if (!rules) return fail(`iptables: No chain/target/match by that name.`, 1);
      return ok([`-N ${chain}`, ...rules.map((r) => `-A ${chain} ${r.join(' ')}`)].join('\n') + '\n');
    }
    this.changes.push(line);
    if (op === '-N') {
      if (rules) return fail('iptables: Chain already exists.', 1);
      this.chains.set(key, []);
      return ok();
    }
    if (!rules) return fail('iptables: No chain/target/match by that name.', 1);
    if (op === '-I') {
      rules.splice(Number(a[2]) - 1, 0, a.slice(3));
      return ok();
    }
    if (op === '-A') {
      rules.push(a.slice(2));
      return ok();
    }
    if (op === '-D') {
      const rest = a.slice(2);
      const i =
        rest.length === 1 && /^\d+$/.test(rest[0] ?? '')
          ? Number(rest[0]) - 1
          : rules.findIndex((r) => r.join(' ') === rest.join(' '));
      if (i < 0 || i >= rules.length) return fail('iptables: Bad rule (does a matching rule exist in that chain?).', 1);
      rules.splice(i, 1);
      return ok();
    }
    return fail(`fake iptables: ${line}?`);
  }

  /** The chain's rules as `iptables -S` lines without "-A CHAIN". */
  rules(table: string, chain: string): string[] {
    return (this.chains.get(`${table} ${chain}`) ?? []).map((r) => r.join(' '));
  }
}

export class FakeDockerNetworks implements DockerNetworks {
  readonly nets = new Map<string, DockerNetwork & { labels: Record<string, string> }>();
  readonly changes: string[] = [];
  /** Names whose removal fails (containers attached). */
  readonly inUse = new Set<string>();

  constructor(private readonly major = 20) {}

  async list(): Promise<DockerNetwork[]> {
    return [...this.nets.values()].filter((n) => n.labels['com.shoal.network.id'] !== undefined);
  }

  async create(
    name: string,
    labels: Record<string, string>,
    subnet: string,
    gateway: string,
    options: Record<string, string>,
  ): Promise<void> {
    if (this.nets.has(name)) throw new Error(`network with name ${name} already exists`);
    this.changes.push(`create ${name} ${subnet} gw ${gateway} ${JSON.stringify(options)}`);
    this.nets.set(name, { name, networkId: labels['com.shoal.network.id'] ?? '', subnet, gateway, options, labels });
  }

  async remove(name: string): Promise<void> {
    if (this.inUse.has(name)) throw new Error(`error while removing network: network ${name} has active endpoints`);
    if (!this.nets.delete(name)) throw new Error(`network ${name} not found`);
    this.changes.push(`remove ${name}`);
  }

  async engineMajor(): Promise<number> {
    return this.major;
  }

  take(): string[] {
    return this.changes.splice(0);
  }
}
