// shoal service logs: the stdout and stderr of a service's (or one task's) containers from
// every host, streamed through the manager, each line prefixed by its task as docker does
// (`web.2.k3j5x8q1m0ab@host3 | line`); stdout lines to stdout, stderr lines and warnings to
// stderr. Without --follow it ends after the last line; with it, Ctrl-C ends it.
import type { LogLine, LogSource, ServiceLogsMessage } from '../../../proto/gen/shoal.js';
import { LogStream } from '../../../proto/gen/shoal.js';
import { parseSince, parseTail, TAIL_ALL } from '../../../proto/logs.js';
import { UsageError } from '../../errors.js';
import type { FlagSpec } from '../../parse/flags.js';
import { asUsage } from '../../parse/values.js';
import type { CommandSpec } from '../command.js';
import { taskName } from './task-name.js';

const FOLLOW: FlagSpec = { long: 'follow', short: 'f', type: 'boolean', help: 'Follow log output (new tasks too)' };
const TAIL: FlagSpec = {
  long: 'tail',
  short: 'n',
  type: 'string',
  value: 'N',
  help: 'Number of lines to show from the end of each task\'s log (default "all")',
};
const SINCE: FlagSpec = {
  long: 'since',
  type: 'string',
  value: 'T',
  help: 'Show logs since a time (2026-12-07T16:00:00Z) or for a duration back (10m)',
};
const TIMESTAMPS: FlagSpec = { long: 'timestamps', short: 't', type: 'boolean', help: 'Show timestamps' };
const NO_TASK_IDS: FlagSpec = { long: 'no-task-ids', type: 'boolean', help: 'Do not include task IDs in output' };
const NO_TRUNC: FlagSpec = { long: 'no-trunc', type: 'boolean', help: 'Do not truncate output (full task IDs)' };
const RAW: FlagSpec = { long: 'raw', type: 'boolean', help: 'Do not neatly format logs (no prefix)' };

export interface LogsOptions {
  ref: string;
  follow: boolean;
  tail: number;
  /** As given; turned into a time when the command runs. */
  since: string | undefined;
  format: LogFormat;
}

export interface LogFormat {
  timestamps: boolean;
  taskIds: boolean;
  noTrunc: boolean;
  raw: boolean;
}

/** docker's task id prefix in log lines (12 characters, like container ids). */
const SHORT_ID = 12;

/** Formats lines as their sources arrive; pads the prefix to the widest seen, as docker aligns them. */
export class LogPrinter {
  private readonly sources = new Map<string, LogSource>();
  private width = 0;

  constructor(private readonly format: LogFormat) {}

  /** Lines of one message: [stream, text] each, in order; a warning (stderr) first. */
  render(m: ServiceLogsMessage): Array<[LogStream, string]> {
    const out: Array<[LogStream, string]> = [];
    if (m.warning) out.push([LogStream.STDERR, m.warning]);
    for (const s of m.sources) {
      this.sources.set(s.taskId, s);
      this.width = Math.max(this.width, this.prefix(s).length);
    }
    for (const line of m.lines) out.push([line.stream, this.line(line)]);
    return out;
  }

  private prefix(s: LogSource): string {
    const name = taskName({ serviceName: s.serviceName, slot: s.slot, nodeId: s.nodeId });
    const id = this.format.noTrunc ? s.taskId : s.taskId.slice(0, SHORT_ID);
    return `${name}${this.format.taskIds ? `.${id}` : ''}@${s.nodeHostname}`;
  }

  private line(l: LogLine): string {
    const text = Buffer.from(l.data).toString('utf8');
    const ts = this.format.timestamps && l.timestamp ? `${l.timestamp} ` : '';
    if (this.format.raw) return `${ts}${text}`;
    const s = this.sources.get(l.taskId);
    const prefix = s ? this.prefix(s) : l.taskId.slice(0, SHORT_ID);
    return `${ts}${prefix.padEnd(this.width)} | ${text}`;
  }
}

export const serviceLogs: CommandSpec<LogsOptions> = {
  name: 'service logs',
  usage: 'shoal service logs [OPTIONS] SERVICE|TASK',
  summary: 'Fetch the logs of a service or task',
  flags: [FOLLOW, TAIL, SINCE, TIMESTAMPS, NO_TASK_IDS, NO_TRUNC, RAW],
  interruptible: true,
  build({ flags, positionals }) {
    if (positionals.length !== 1) throw new UsageError('service logs requires exactly one SERVICE or TASK');
    const tailText = flags.string(TAIL.long);
    const since = flags.string(SINCE.long);
    if (since !== undefined) asUsage(() => parseSince(since, Date.now()));
    return {
      ref: positionals[0]!,
      follow: flags.bool(FOLLOW.long),
      tail: tailText === undefined ? TAIL_ALL : asUsage(() => parseTail(tailText)),
      since,
      format: {
        timestamps: flags.bool(TIMESTAMPS.long),
        taskIds: !flags.bool(NO_TASK_IDS.long),
        noTrunc: flags.bool(NO_TRUNC.long),
        raw: flags.bool(RAW.long),
      },
    };
  },
  async run(o, ctx) {
    const sinceMs = o.since === undefined ? 0 : asUsage(() => parseSince(o.since!, ctx.now()));
    const printer = new LogPrinter(o.format);
    await ctx.api.serviceLogs(
      { ref: o.ref, options: { follow: o.follow, tail: o.tail, sinceMs, timestamps: o.format.timestamps } },
      (m) => {
        for (const [stream, text] of printer.render(m)) (stream === LogStream.STDERR ? ctx.err : ctx.out)(text);
      },
      ctx.signal,
    );
    return 0;
  },
};
