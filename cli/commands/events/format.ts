// An Event as `shoal events` prints it: one line of text (eventLine) or one JSON object
// (eventRow), tolerant of payload fields it does not know. Pure.
import { type Event, PublishMode } from '../../../proto/gen/shoal.js';
import { isoTime, SHORT_ID } from '../../output.js';
import { taskName } from '../service/task-name.js';

/** `shoal events --format json`: one per line. */
export interface EventRow {
  time: string | null;
  type: string;
  subject: string;
  /** The published JSON object (the raw text if it is not JSON). */
  payload: unknown;
}

function parsePayload(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export function eventRow(e: Event): EventRow {
  return { time: isoTime(e.timeMs), type: e.type, subject: e.subject, payload: parsePayload(e.payloadJson) };
}

/** Payload fields shown under a shorter name in the text form. */
const EVENT_FIELD_NAMES: Record<string, string> = {
  nodeId: 'node',
  nodeName: 'node',
  hostname: 'node',
  taskId: 'task',
  serviceName: 'service',
  serviceId: 'service',
  desiredState: 'desired',
  containerId: 'container',
  addresses: 'ip',
};

/** A port as the publisher puts it in an endpoint event (publishMode `ingress` | `host`). */
interface EventPort {
  publishedPort: number;
  targetPort: number;
  protocol?: string;
  publishMode?: unknown;
}

function isEventPort(v: unknown): v is EventPort {
  const p = v as Partial<EventPort> | null;
  return typeof p === 'object' && p !== null && typeof p.publishedPort === 'number' && typeof p.targetPort === 'number';
}

function eventValue(key: string, value: unknown): string | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  if (key === 'containerId' && typeof value === 'string') return value.slice(0, SHORT_ID);
  if (Array.isArray(value)) {
    if (value.length === 0) return undefined;
    // [{ network, ip }, ...] -> 10.42.2.3,10.50.1.4
    if (value.every((v) => typeof v === 'object' && v !== null && typeof (v as { ip?: unknown }).ip === 'string')) {
      return value.map((v) => (v as { ip: string }).ip).join(',');
    }
    // [{ publishedPort, targetPort, protocol, publishMode }, ...] -> *:8080->80/tcp,host:53->53/udp
    if (value.every(isEventPort)) {
      const host = (p: EventPort): boolean => p.publishMode === 'host' || p.publishMode === PublishMode.HOST;
      return value
        .map((p) => `${host(p) ? 'host' : '*'}:${p.publishedPort}->${p.targetPort}/${p.protocol || 'tcp'}`)
        .join(',');
    }
    return JSON.stringify(value);
  }
  if (typeof value === 'object') return JSON.stringify(value);
  const text = typeof value === 'string' ? value : JSON.stringify(value); // a number or boolean
  return /[\s"]/.test(text) ? JSON.stringify(text) : text;
}

/**
 * One line per event: `<ISO time> <type> <action> <name> <key=value...>`, e.g.
 * `2026-12-01T10:00:00.123Z endpoint registered web.1 task=abc node=host2 ip=10.42.2.3`.
 * The action is the payload's `type` (created, updated, ...; for health events, the health);
 * the name is the task (`web.1`), the node's hostname or the service's name; every other
 * payload field follows, empty ones left out.
 */
export function eventLine(e: Event): string {
  const payload = parsePayload(e.payloadJson);
  const head = [isoTime(e.timeMs) ?? new Date(0).toISOString(), e.type];
  const subjectName = e.subject.split('.').at(-1) ?? '';
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    return [...head, 'event', subjectName, eventValue('payload', payload) ?? ''].join(' ').trimEnd();
  }
  const fields = { ...(payload as Record<string, unknown>) };
  const take = (key: string): unknown => {
    const v = fields[key];
    delete fields[key];
    return v;
  };
  const str = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');

  const action = str(e.type === 'health' ? take('health') : take('type')) || str(take('action')) || 'event';
  let name: string;
  let id: unknown; // a node's or service's id, shown first
  if (typeof fields.slot === 'number' && typeof (fields.service ?? fields.serviceName) === 'string') {
    const service = str(fields.service ?? fields.serviceName);
    const nodeId = str(fields.nodeId);
    name = taskName({ serviceName: service, slot: Number(take('slot')), nodeId });
    if (typeof fields.service === 'string') take('service');
    else take('serviceName');
  } else if (e.type === 'node' && typeof fields.hostname === 'string') {
    name = str(take('hostname'));
    if ('node' in fields) id = take('node'); // the node's id
  } else if (e.type === 'service' && typeof fields.name === 'string') {
    name = str(take('name'));
    if ('service' in fields) id = take('service'); // the service's id
  } else {
    name = subjectName;
  }

  const shown = new Set<string>();
  const details: string[] = [];
  // A node's hostname (`nodeName`, or `node` outside node events) reads better than its id.
  const hostname = fields.nodeName ?? (e.type === 'node' ? undefined : fields.node);
  if (typeof hostname === 'string' && hostname !== '') delete fields.nodeId;
  for (const [key, value] of [['id', id] as const, ...Object.entries(fields)]) {
    const label = EVENT_FIELD_NAMES[key] ?? key;
    const text = eventValue(key, value);
    if (text === undefined || shown.has(label)) continue;
    shown.add(label);
    details.push(`${label}=${text}`);
  }
  return [...head, action, name, ...details].join(' ');
}
