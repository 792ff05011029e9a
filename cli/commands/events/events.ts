// shoal events: --filter -> an EventsRequest, then the cluster's events, one line (or one JSON
// object) each, until Ctrl-C / SIGTERM.
import type { EventsRequest } from '../../../proto/gen/shoal.js';
import { UsageError } from '../../errors.js';
import type { FlagSpec, FlagValues } from '../../parse/flags.js';
import { formatFlag, noArguments, parseKeyValue } from '../../parse/values.js';
import type { CommandSpec } from '../command.js';
import { FORMAT } from '../list.js';
import { eventLine, eventRow } from './format.js';
import { EVENT_TYPES } from '../../../proto/spec-rules.js';

const FILTER: FlagSpec = {
  long: 'filter',
  short: 'f',
  type: 'string',
  value: 'FILTER',
  help: 'type=task|node|service|health|endpoint (repeatable), service=NAME or node=NAME',
};

/** What `shoal events --filter type=...` accepts (the manager's rule too). */
export { EVENT_TYPES };
/** The event types whose subjects end in a service name (node events end in a hostname). */
const SERVICE_EVENT_TYPES = ['task', 'service', 'health', 'endpoint'];

/** `shoal events`: one line of text, or one JSON object, per event. */
export type EventFormat = 'text' | 'json';

export interface EventsOptions {
  request: EventsRequest;
  format: EventFormat;
}

/**
 * `shoal events --filter`: `type=T` (repeatable: any of them), and at most one of
 * `service=NAME` / `node=NAME`. The manager matches a name against the last token of the
 * subject, which is the service name for task/service/health/endpoint events and the
 * hostname for node events, so `service=` narrows the types to the former and `node=` to
 * node events (a node filter cannot select task events: their subjects are per service).
 */
function eventsRequest(flags: FlagValues): EventsRequest {
  const types: string[] = [];
  let named: { key: 'service' | 'node'; value: string } | undefined;
  for (const text of flags.list(FILTER.long)) {
    const kv = parseKeyValue(text);
    if (kv === undefined) throw new UsageError(`invalid --filter "${text}": expected KEY=VALUE`);
    const [key, value] = kv;
    if (key === 'type') {
      if (!(EVENT_TYPES as readonly string[]).includes(value)) {
        throw new UsageError(
          `invalid --filter "${text}": type must be ${EVENT_TYPES.slice(0, -1).join(', ')} or endpoint`,
        );
      }
      if (!types.includes(value)) types.push(value);
    } else if (key === 'service' || key === 'node') {
      if (value === '') throw new UsageError(`invalid --filter "${text}": a name is required`);
      if (named !== undefined && (named.key !== key || named.value !== value)) {
        throw new UsageError('only one service= or node= filter can be given');
      }
      named = { key, value };
    } else {
      throw new UsageError(`invalid --filter "${text}": unknown filter "${key}" (expected type, service or node)`);
    }
  }
  if (named === undefined) return { types, name: '' };
  const allowed = named.key === 'service' ? SERVICE_EVENT_TYPES : ['node'];
  const other = types.find((t) => !allowed.includes(t));
  if (other !== undefined) {
    throw new UsageError(
      named.key === 'service'
        ? `--filter type=${other} does not go with service=${named.value}: node events are named by hostname (use node=NAME)`
        : `--filter type=${other} does not go with node=${named.value}: node= selects node events only`,
    );
  }
  return { types: types.length > 0 ? types : [...allowed], name: named.value };
}

export const events: CommandSpec<EventsOptions> = {
  name: 'events',
  usage: 'shoal events [OPTIONS]',
  summary: "Stream the cluster's events live (until Ctrl-C)",
  flags: [
    FILTER,
    { ...FORMAT, help: 'Output format: text (default, one line per event) or json (one object per line)' },
  ],
  interruptible: true,
  build({ flags, positionals }) {
    noArguments('events', positionals);
    const format = formatFlag(flags, ['text', 'json']);
    return { request: eventsRequest(flags), format };
  },
  /**
   * Streams events to stdout until Ctrl-C / SIGTERM (ctx.signal: exit 0). A stream that ends
   * is reopened on another manager address when there is one (a note on stderr); when none
   * answers, the CliError from the api says why.
   */
  async run({ request, format }, ctx) {
    await ctx.api.events(
      request,
      {
        event: (e) => ctx.out(format === 'json' ? JSON.stringify(eventRow(e)) : eventLine(e)),
        failover: (from, to, why) =>
          ctx.err(`event stream from ${from} ended (${why}); reopening it on ${to} (events in between are missed)`),
      },
      ctx.signal,
    );
    return 0;
  },
};
