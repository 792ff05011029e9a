// shoal events
import type { Command } from '../args.js';
import { eventLine, eventRow } from '../format.js';
import type { CommandContext, ExitCode } from './context.js';

type Cmd<N extends Command['name']> = Extract<Command, { name: N }>;

/**
 * Streams events to stdout, one line (or one JSON object) each, until Ctrl-C / SIGTERM
 * (ctx.signal: exit 0). A stream that ends is reopened on another manager address when
 * there is one (a note on stderr); when none answers, the CliError from the api says why.
 */
export async function events(cmd: Cmd<'events'>, ctx: CommandContext): Promise<ExitCode> {
  await ctx.api.events(
    cmd.request,
    {
      event: (e) => ctx.out(cmd.format === 'json' ? JSON.stringify(eventRow(e)) : eventLine(e)),
      failover: (from, to, why) =>
        ctx.err(`event stream from ${from} ended (${why}); reopening it on ${to} (events in between are missed)`),
    },
    ctx.signal,
  );
  return 0;
}
