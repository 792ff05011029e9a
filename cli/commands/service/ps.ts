// shoal service ps: the tasks of services, with each slot's history, as docker shows them.
import type { NetworkAddress, Task } from '../../../proto/gen/shoal.js';
import { stateName, TaskState } from '../../../proto/task-state.js';
import { UsageError } from '../../errors.js';
import { ago, capitalize, isoTime, oneLine, shortId, table } from '../../output.js';
import type { FlagSpec, FlagValues } from '../../parse/flags.js';
import { atLeastOne, parseKeyValue } from '../../parse/values.js';
import type { CommandSpec } from '../command.js';
import { FORMAT, type ListOptions, listOptions, NO_TRUNC, printList, QUIET } from '../list.js';
import { taskName } from './task-name.js';

const FILTER: FlagSpec = {
  long: 'filter',
  short: 'f',
  type: 'string',
  value: 'FILTER',
  help: 'Only tasks matching: desired-state=running|shutdown|accepted (repeatable)',
};

/** `service ps --filter`: empty lists match everything. */
export interface TaskFilter {
  /** Tasks whose desired state is one of these (`desired-state=...`, repeatable: any of them). */
  desiredStates: TaskState[];
}

export interface PsOptions extends ListOptions {
  refs: string[];
  filter: TaskFilter;
}

const DESIRED_STATE_FILTERS: Record<string, TaskState[]> = {
  running: [TaskState.RUNNING],
  // Tasks told to stop, including those of a removed service (desired REMOVE).
  shutdown: [TaskState.SHUTDOWN, TaskState.REMOVE],
  accepted: [TaskState.ACCEPTED],
};

function taskFilter(flags: FlagValues): TaskFilter {
  const filter: TaskFilter = { desiredStates: [] };
  for (const text of flags.list(FILTER.long)) {
    const kv = parseKeyValue(text);
    if (kv === undefined) throw new UsageError(`invalid --filter "${text}": expected KEY=VALUE`);
    const [key, value] = kv;
    if (key !== 'desired-state') {
      throw new UsageError(`invalid --filter "${text}": unknown filter "${key}" (expected desired-state)`);
    }
    const states = DESIRED_STATE_FILTERS[value];
    if (states === undefined) {
      throw new UsageError(`invalid --filter "${text}": desired-state must be running, shutdown or accepted`);
    }
    for (const s of states) if (!filter.desiredStates.includes(s)) filter.desiredStates.push(s);
  }
  return filter;
}

export interface TaskRow {
  id: string;
  /** `service.slot` (a global task: `service.<node id prefix>`), as in container names. */
  name: string;
  service: string;
  serviceId: string;
  slot: number;
  /** Hostname of the node; the node id if the node is unknown; "" while unassigned. */
  node: string;
  nodeId: string;
  image: string;
  desiredState: string;
  state: string;
  error: string;
  message: string;
  containerId: string;
  exitCode: number;
  /** The container's address on each of its networks, once it runs. */
  addresses: NetworkAddress[];
  specVersion: number;
  createdAt: string | null;
  updatedAt: string | null;
}

/** `hostnames` maps node id -> hostname (from ListNodes). */
export function taskRow(task: Task, hostnames: ReadonlyMap<string, string>): TaskRow {
  const s = task.status;
  const updatedMs = s?.timestampMs || task.createdAtMs;
  return {
    id: task.id,
    name: taskName(task),
    service: task.serviceName,
    serviceId: task.serviceId,
    slot: task.slot,
    node: task.nodeId === '' ? '' : (hostnames.get(task.nodeId) ?? task.nodeId),
    nodeId: task.nodeId,
    image: task.spec?.image ?? '',
    desiredState: stateName(task.desiredState),
    state: stateName(s?.state ?? 0),
    error: s?.err ?? '',
    message: s?.message ?? '',
    containerId: s?.containerId ?? '',
    exitCode: s?.exitCode ?? 0,
    addresses: (s?.addresses ?? []).map((a) => ({ network: a.network, ip: a.ip })),
    specVersion: task.specVersion,
    createdAt: isoTime(task.createdAtMs),
    updatedAt: isoTime(updatedMs),
  };
}

/**
 * As docker: by service, then slot (a global task: by node), newest task first within a
 * slot (the manager keeps a few ended tasks per slot as history).
 */
export function sortTaskRows(rows: TaskRow[]): TaskRow[] {
  return [...rows].sort(
    (a, b) =>
      a.service.localeCompare(b.service) ||
      a.serviceId.localeCompare(b.serviceId) ||
      a.slot - b.slot ||
      // A replicated slot's tasks may have run on different nodes: only global tasks group by node.
      (a.slot === 0 ? a.node.localeCompare(b.node) || a.nodeId.localeCompare(b.nodeId) : 0) ||
      (b.createdAt ?? '').localeCompare(a.createdAt ?? '') ||
      (b.updatedAt ?? '').localeCompare(a.updatedAt ?? '') ||
      a.id.localeCompare(b.id),
  );
}

/**
 * Docker's `service ps` table. Rows come sorted (sortTaskRows); a task of the same slot as
 * the row above it is history and its NAME is shown as ` \_ web.1`, as docker does.
 */
export function taskTable(rows: readonly TaskRow[], nowMs: number, noTrunc = false): string {
  return table(
    ['ID', 'NAME', 'IMAGE', 'NODE', 'DESIRED STATE', 'CURRENT STATE', 'ERROR'],
    rows.map((r, i) => {
      const since = r.updatedAt === null ? '' : ` ${ago(r.updatedAt, nowMs)}`;
      const above = rows[i - 1];
      const history = above !== undefined && above.serviceId === r.serviceId && above.name === r.name;
      return [
        shortId(r.id, noTrunc),
        history ? ` \\_ ${r.name}` : r.name,
        imageColumn(r.image, noTrunc),
        r.node,
        capitalize(r.desiredState),
        `${capitalize(r.state)}${since}`,
        oneLine(r.error),
      ];
    }),
  );
}

/**
 * The IMAGE column: the image as stored, its digest (the manager pins tags) cut to 12 hex
 * digits like an id (`busybox:latest@sha256:4b6f1c2a8e0d`); whole with --no-trunc.
 */
export function imageColumn(image: string, noTrunc: boolean): string {
  if (noTrunc) return image;
  return image.replace(/@(sha256:[0-9a-f]{12})[0-9a-f]{52}$/, '@$1');
}

export const servicePs: CommandSpec<PsOptions> = {
  name: 'service ps',
  usage: 'shoal service ps [OPTIONS] SERVICE [SERVICE...]',
  summary: 'List the tasks of one or more services (with the history of each slot)',
  flags: [FILTER, FORMAT, QUIET, NO_TRUNC],
  build: ({ flags, positionals }) => ({
    refs: atLeastOne('service ps', 'SERVICE', positionals),
    filter: taskFilter(flags),
    ...listOptions(flags),
  }),
  async run(options, ctx) {
    // Resolve each ref first, so an unknown service is an error and not an empty list.
    const services = await Promise.all(options.refs.map((ref) => ctx.api.getService(ref)));
    const [nodes, ...taskLists] = await Promise.all([
      ctx.api.listNodes(),
      ...services.map((s) => ctx.api.listTasks({ service: s.id })),
    ]);
    const hostnames = new Map(nodes.map((n) => [n.id, n.description?.hostname ?? ''] as const));
    const seen = new Set<string>(); // the same service named twice: its tasks once
    const { desiredStates } = options.filter;
    const rows = sortTaskRows(
      taskLists
        .flat()
        .filter((t) => !seen.has(t.id) && seen.add(t.id))
        .filter((t) => desiredStates.length === 0 || desiredStates.includes(t.desiredState))
        .map((t) => taskRow(t, hostnames)),
    );
    printList(rows, options, (r) => taskTable(r, ctx.now(), options.noTrunc), ctx);
    return 0;
  },
};
