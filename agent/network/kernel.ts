// The kernel's side of the overlay (flannel's VXLAN recipe), per network on this host:
//
//   vx<vni>   vxlan id <vni> local <own underlay ip> dev <underlay> dstport 4789 nolearning,
//             MAC = own lease's vtep_mac, MTU = underlay - 50, <own subnet>.0/32, up
//   per other host's lease:  neigh <peer>.0 lladdr <peer mac> permanent
//                            fdb   <peer mac> dst <peer underlay ip> self permanent
//                            route <peer subnet> via <peer>.0 dev vx<vni> onlink
//   filter DOCKER-USER: vx<vni> <-> its bridge accepted, anything else into or out of
//             vx<vni> dropped (a container of another network cannot reach this one
//             across hosts); nat POSTROUTING: cluster -> cluster RETURN first, so that
//             container source addresses survive
//
// Every call reads what exists first: what is missing is added, what is wrong is replaced,
// what should not exist (a removed host's entries, a removed network's device) is deleted.
import { json, must, type CommandRunner } from './commands.js';
import { VXLAN_OVERHEAD, VXLAN_PORT, type LocalNetwork } from './plan.js';

/** The comment on every iptables rule the agent owns. */
export const RULE_COMMENT = 'shoal-overlay';
const VXLAN_NAME = /^vx\d+$/;

export interface Underlay {
  device: string;
  mtu: number;
}

interface LinkJson {
  ifname: string;
  mtu: number;
  address?: string;
  flags?: string[];
  addr_info?: Array<{ family: string; local: string; prefixlen: number }>;
  linkinfo?: {
    info_kind?: string;
    info_data?: { id?: number; local?: string; link?: string; port?: number; learning?: boolean };
  };
}

/** The interface holding `address` (the host's underlay address) and its MTU. */
export async function findUnderlay(runner: CommandRunner, address: string): Promise<Underlay | undefined> {
  const links = await json<LinkJson>(runner, 'ip', ['-j', 'addr', 'show']);
  for (const l of links) {
    if ((l.addr_info ?? []).some((a) => a.family === 'inet' && a.local === address))
      return { device: l.ifname, mtu: l.mtu };
  }
  return undefined;
}

export const overlayMtu = (u: Underlay): number => u.mtu - VXLAN_OVERHEAD;

/** The VXLAN device of one network, its address and its peers' entries. */
export async function applyVxlan(runner: CommandRunner, net: LocalNetwork, underlay: Underlay): Promise<void> {
  const dev = net.vxlan;
  const mtu = overlayMtu(underlay);
  const links = await json<LinkJson>(runner, 'ip', ['-j', '-d', 'link', 'show']);
  let link = links.find((l) => l.ifname === dev);
  const d = link?.linkinfo?.info_data;
  if (
    link !== undefined &&
    (link.linkinfo?.info_kind !== 'vxlan' ||
      d?.id !== net.vni ||
      d.local !== net.localAddress ||
      d.link !== underlay.device ||
      d.port !== VXLAN_PORT ||
      d.learning !== false)
  ) {
    await must(runner, 'ip', ['link', 'del', dev]);
    link = undefined;
  }
  if (link === undefined) {
    await must(runner, 'ip', [
      'link',
      'add',
      dev,
      'address',
      net.vtepMac,
      'mtu',
      String(mtu),
      'type',
      'vxlan',
      'id',
      String(net.vni),
      'local',
      net.localAddress,
      'dev',
      underlay.device,
      'dstport',
      String(VXLAN_PORT),
      'nolearning',
    ]);
  } else {
    if (link.address?.toLowerCase() !== net.vtepMac)
      await must(runner, 'ip', ['link', 'set', dev, 'address', net.vtepMac]);
    if (link.mtu !== mtu) await must(runner, 'ip', ['link', 'set', dev, 'mtu', String(mtu)]);
  }

  const addrs = (await json<LinkJson>(runner, 'ip', ['-j', 'addr', 'show', 'dev', dev]))[0]?.addr_info ?? [];
  for (const a of addrs) {
    if (a.family === 'inet' && !(a.local === net.vtepIp && a.prefixlen === 32)) {
      await must(runner, 'ip', ['addr', 'del', `${a.local}/${a.prefixlen}`, 'dev', dev]);
    }
  }
  if (!addrs.some((a) => a.family === 'inet' && a.local === net.vtepIp && a.prefixlen === 32)) {
    await must(runner, 'ip', ['addr', 'replace', `${net.vtepIp}/32`, 'dev', dev]);
  }
  if (link === undefined || !(link.flags ?? []).includes('UP')) await must(runner, 'ip', ['link', 'set', dev, 'up']);

  await applyPeers(runner, net);
}

/** Neighbour, FDB and route entries: exactly one set per peer, nothing else. */
export async function applyPeers(runner: CommandRunner, net: LocalNetwork): Promise<void> {
  const dev = net.vxlan;
  // In flannel's order: neighbour, FDB, route (a route never points at an unknown MAC).
  const neighs = await json<{ dst: string; lladdr?: string; state?: string[] }>(runner, 'ip', [
    '-j',
    'neigh',
    'show',
    'dev',
    dev,
  ]);
  const fdb = await json<{ mac: string; dst?: string; state?: string }>(runner, 'bridge', [
    '-j',
    'fdb',
    'show',
    'dev',
    dev,
  ]);
  const routes = await json<{ dst: string; gateway?: string; flags?: string[] }>(runner, 'ip', [
    '-j',
    'route',
    'show',
    'dev',
    dev,
  ]);

  for (const p of net.peers) {
    const n = neighs.find((e) => e.dst === p.vtepIp);
    if (!(n?.lladdr?.toLowerCase() === p.vtepMac && (n.state ?? []).includes('PERMANENT'))) {
      await must(runner, 'ip', ['neigh', 'replace', p.vtepIp, 'lladdr', p.vtepMac, 'dev', dev, 'nud', 'permanent']);
    }
    if (!fdb.some((e) => e.mac.toLowerCase() === p.vtepMac && e.dst === p.nodeAddress)) {
      await must(runner, 'bridge', ['fdb', 'append', p.vtepMac, 'dev', dev, 'dst', p.nodeAddress, 'self', 'permanent']);
    }
    const r = routes.find((e) => e.dst === p.subnet);
    if (!(r?.gateway === p.vtepIp && (r.flags ?? []).includes('onlink'))) {
      await must(runner, 'ip', ['route', 'replace', p.subnet, 'via', p.vtepIp, 'dev', dev, 'onlink']);
    }
  }

  // What points at hosts that are gone (or moved): routes first, then FDB, then neighbours.
  for (const r of routes) {
    if (!net.peers.some((p) => p.subnet === r.dst && p.vtepIp === r.gateway)) {
      await must(runner, 'ip', ['route', 'del', r.dst, 'dev', dev]);
    }
  }
  for (const e of fdb) {
    if (e.dst === undefined) continue; // not a remote entry (the device's own)
    if (!net.peers.some((p) => p.vtepMac === e.mac.toLowerCase() && p.nodeAddress === e.dst)) {
      await must(runner, 'bridge', ['fdb', 'del', e.mac, 'dev', dev, 'dst', e.dst, 'self']);
    }
  }
  for (const n of neighs) {
    if (!net.peers.some((p) => p.vtepIp === n.dst)) await must(runner, 'ip', ['neigh', 'del', n.dst, 'dev', dev]);
  }
}

/** Deletes the VXLAN devices (vx<number>) of networks not in `keep`. */
export async function removeStaleDevices(runner: CommandRunner, keep: ReadonlySet<string>): Promise<string[]> {
  const links = await json<LinkJson>(runner, 'ip', ['-j', '-d', 'link', 'show']);
  const removed: string[] = [];
  for (const l of links) {
    if (l.linkinfo?.info_kind !== 'vxlan' || !VXLAN_NAME.test(l.ifname) || keep.has(l.ifname)) continue;
    await must(runner, 'ip', ['link', 'del', l.ifname]);
    removed.push(l.ifname);
  }
  return removed;
}

// ---------------------------------------------------------------- iptables

const comment = ['-m', 'comment', '--comment', RULE_COMMENT];

/** DOCKER-USER rules of the networks, in the order `iptables -S` prints their arguments. */
export function forwardRules(nets: readonly LocalNetwork[]): string[][] {
  const rules: string[][] = [];
  for (const n of nets) {
    rules.push(
      ['-i', n.vxlan, '-o', n.bridge, ...comment, '-j', 'ACCEPT'],
      ['-i', n.bridge, '-o', n.vxlan, ...comment, '-j', 'ACCEPT'],
      ['!', '-i', n.bridge, '-o', n.vxlan, ...comment, '-j', 'DROP'],
      ['-i', n.vxlan, '!', '-o', n.bridge, ...comment, '-j', 'DROP'],
    );
  }
  return rules;
}

/** nat POSTROUTING rules: overlay to overlay keeps its source address. */
export function natRules(nets: readonly LocalNetwork[]): string[][] {
  const subnets = [...new Set(nets.map((n) => n.clusterSubnet))];
  return subnets.map((s) => ['-s', s, '-d', s, ...comment, '-j', 'RETURN']);
}

async function listRules(runner: CommandRunner, table: string, chain: string): Promise<string[][] | undefined> {
  const r = await runner.run('iptables', ['-t', table, '-S', chain]);
  if (r.code !== 0) return undefined;
  return r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith(`-A ${chain} `))
    .map((l) => l.split(/\s+/).slice(2));
}

const isOurs = (rule: readonly string[]): boolean => {
  const i = rule.indexOf('--comment');
  return i >= 0 && rule[i + 1]?.replace(/^"|"$/g, '') === RULE_COMMENT;
};

/**
 * Makes the chain begin with exactly `desired` (our rules, any order among themselves):
 * stale ones of ours are deleted, missing ones inserted at the top, and ours that something
 * else (Docker inserts its MASQUERADE rules at the top) got in front of are moved up.
 */
export async function ensureChainPrefix(
  runner: CommandRunner,
  table: string,
  chain: string,
  desired: readonly string[][],
): Promise<void> {
  const key = (r: readonly string[]) => r.join(' ');
  const want = new Set(desired.map(key));
  let rules = await listRules(runner, table, chain);
  if (rules === undefined) {
    if (desired.length === 0) return;
    await must(runner, 'iptables', ['-t', table, '-N', chain]);
    rules = [];
  }
  let changed = false;
  for (const r of rules) {
    if (isOurs(r) && !want.has(key(r))) {
      await must(runner, 'iptables', ['-t', table, '-D', chain, ...r]);
      changed = true;
    }
  }
  if (changed) rules = (await listRules(runner, table, chain)) ?? [];
  for (const d of [...desired].reverse()) {
    const firstOther = rules.findIndex((r) => !isOurs(r));
    const prefixEnd = firstOther < 0 ? rules.length : firstOther;
    const at = rules.findIndex((r) => key(r) === key(d));
    if (at >= 0 && at < prefixEnd) continue;
    await must(runner, 'iptables', ['-t', table, '-I', chain, '1', ...d]);
    // The old copy (below something else) moved down by one: rule number at + 2.
    if (at >= 0) await must(runner, 'iptables', ['-t', table, '-D', chain, String(at + 2)]);
    rules = (await listRules(runner, table, chain)) ?? [];
  }
}

export async function applyRules(runner: CommandRunner, nets: readonly LocalNetwork[]): Promise<void> {
  await ensureChainPrefix(runner, 'filter', 'DOCKER-USER', forwardRules(nets));
  await ensureChainPrefix(runner, 'nat', 'POSTROUTING', natRules(nets));
}
