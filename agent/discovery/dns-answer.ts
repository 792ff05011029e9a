// What a DNS question means in the cluster, and the records that answer it. Pure: the server
// (dns-server.ts) does the sockets, the cache lookup and the forwarding.
//
//   NAME, tasks.NAME             A: one per endpoint, its IP on the first network (in the
//                                service's order) the asker shares; SRV: one per endpoint per
//                                target port, target <task id>.tasks.NAME (A in additional)
//   <task id>.tasks.NAME         A: that task's IP
//   _NAME._tcp, _NAME._udp       SRV of the target ports of that protocol
//   any other type of those      NOERROR, no answers
// NAME is a cluster name only if it is in the cluster's service names (names may hold dots).
// Single-label names, tasks.*, <id>.tasks.<label> and _x._tcp that are not services: NXDOMAIN. A service that
// shares no network with the asker: NXDOMAIN. Anything else is forwarded upstream.
import type { Answer } from 'dns-packet';
import type { Endpoint, ServiceEndpoints } from '../../proto/gen/shoal.js';
import type { AskerNetworks } from './local-tasks.js';

/** Seconds: short, so a client that caches sees a stopped task go within a few seconds. */
export const DNS_TTL_S = 2;

export type Form = 'name' | 'tasks' | 'task' | 'srv';

export type Meaning =
  | { kind: 'service'; service: string; form: Form; taskId?: string; proto?: 'tcp' | 'udp' }
  | { kind: 'nxdomain' }
  | { kind: 'forward' };

interface Candidate {
  service: string;
  form: Form;
  taskId?: string;
  proto?: 'tcp' | 'udp';
}

const TASK_FORM = /^([^.]+)\.tasks\.(.+)$/i;
const SRV_FORM = /^_(.+)\._(tcp|udp)$/i;
const SRV_SHAPE = /^_[^.]+\._(tcp|udp)$/i;
const TASK_SHAPE = /^[^.]+\.tasks\.[^.]+$/i;

function candidates(q: string): Candidate[] {
  const out: Candidate[] = [{ service: q, form: 'name' }];
  if (/^tasks\./i.test(q) && q.length > 'tasks.'.length) out.push({ service: q.slice('tasks.'.length), form: 'tasks' });
  const t = TASK_FORM.exec(q);
  if (t?.[1] !== undefined && t[2] !== undefined) out.push({ service: t[2], form: 'task', taskId: t[1].toLowerCase() });
  const s = SRV_FORM.exec(q);
  if (s?.[1] !== undefined && s[2] !== undefined)
    out.push({ service: s[1], form: 'srv', proto: s[2].toLowerCase() as 'tcp' | 'udp' });
  return out;
}

/**
 * What `qname` means. `names` is the cache's serviceName(): the name as the cluster spells
 * it, null for no service, undefined while the names are not known (then the names that can
 * only be cluster names are looked up as they are, and dotted ones are forwarded).
 */
export function meaning(qname: string, names: (name: string) => string | null | undefined): Meaning {
  const q = qname.replace(/\.$/, '');
  if (q === '') return { kind: 'forward' };
  const list = candidates(q);
  if (names(q) === undefined) {
    const single = !q.includes('.');
    for (const c of list) {
      const guess =
        (c.form === 'name' && single) ||
        (c.form === 'tasks' && !c.service.includes('.')) ||
        (c.form === 'task' && !c.service.includes('.')) ||
        (c.form === 'srv' && SRV_SHAPE.test(q));
      if (guess) return { kind: 'service', ...c };
    }
    return { kind: 'forward' };
  }
  for (const c of list) {
    const name = names(c.service);
    if (typeof name === 'string') return { kind: 'service', ...c, service: name };
  }
  if (!q.includes('.') || /^tasks\./i.test(q) || TASK_SHAPE.test(q) || SRV_SHAPE.test(q)) return { kind: 'nxdomain' };
  return { kind: 'forward' };
}

export interface Target {
  taskId: string;
  ip: string;
}

/**
 * Each endpoint's address on the first of the service's networks the asker shares; undefined
 * when the asker shares none of them (NXDOMAIN).
 */
export function targets(se: ServiceEndpoints, asker: AskerNetworks): Target[] | undefined {
  const rank = new Map<string, number>();
  se.networks.forEach((n, i) => {
    if (asker === 'all' || asker.has(n)) rank.set(n, i);
  });
  // A service without networks (a manager without overlay networks): its endpoints' own.
  const anyNetwork = se.networks.length === 0;
  if (!anyNetwork && rank.size === 0) return undefined;
  const out: Target[] = [];
  for (const e of se.endpoints) {
    const ip = pick(e, (n) => (anyNetwork ? (asker === 'all' || asker.has(n) ? 0 : undefined) : rank.get(n)));
    if (ip !== undefined) out.push({ taskId: e.taskId, ip });
  }
  if (anyNetwork && asker !== 'all' && out.length === 0 && se.endpoints.length > 0) return undefined;
  return out;
}

function pick(e: Endpoint, rank: (network: string) => number | undefined): string | undefined {
  let best: string | undefined;
  let bestRank = Infinity;
  for (const a of e.addresses) {
    const r = rank(a.network);
    if (r !== undefined && r < bestRank && a.ip !== '') {
      best = a.ip;
      bestRank = r;
    }
  }
  return best;
}

/** Fisher-Yates, in place. */
export function shuffle<T>(list: T[], random: () => number): T[] {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const a = list[i] as T;
    list[i] = list[j] as T;
    list[j] = a;
  }
  return list;
}

export interface Records {
  rcode: 'NOERROR' | 'NXDOMAIN';
  answers: Answer[];
  additionals: Answer[];
}

/** The records for a cluster name whose service exists. */
export function records(
  m: Extract<Meaning, { kind: 'service' }>,
  qname: string,
  qtype: string,
  se: ServiceEndpoints,
  asker: AskerNetworks,
  random: () => number,
): Records {
  const all = targets(se, asker);
  if (all === undefined) return { rcode: 'NXDOMAIN', answers: [], additionals: [] };
  const name = qname.replace(/\.$/, '');
  const a = (n: string, ip: string): Answer => ({ name: n, type: 'A', class: 'IN', ttl: DNS_TTL_S, data: ip });

  if (m.form === 'task') {
    const t = all.find((x) => x.taskId.toLowerCase() === m.taskId);
    if (t === undefined) return { rcode: 'NXDOMAIN', answers: [], additionals: [] };
    return { rcode: 'NOERROR', answers: qtype === 'A' ? [a(name, t.ip)] : [], additionals: [] };
  }
  if (qtype === 'A' && m.form !== 'srv') {
    return { rcode: 'NOERROR', answers: shuffle(all, random).map((t) => a(name, t.ip)), additionals: [] };
  }
  if (qtype === 'SRV') {
    const ports = [
      ...new Set(
        se.ports.filter((p) => m.proto === undefined || (p.protocol || 'tcp') === m.proto).map((p) => p.targetPort),
      ),
    ].filter((p) => p > 0);
    const answers: Answer[] = [];
    const additionals: Answer[] = [];
    if (ports.length === 0) return { rcode: 'NOERROR', answers, additionals };
    for (const t of shuffle(all, random)) {
      const target = `${t.taskId}.tasks.${se.name}`;
      for (const port of ports) {
        answers.push({
          name,
          type: 'SRV',
          class: 'IN',
          ttl: DNS_TTL_S,
          data: { priority: 0, weight: 1, port, target },
        });
      }
      additionals.push(a(target, t.ip));
    }
    return { rcode: 'NOERROR', answers, additionals };
  }
  return { rcode: 'NOERROR', answers: [], additionals: [] };
}
