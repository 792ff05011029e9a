// What `shoal secret ...` and `shoal config ...` share: both are named blobs created from a
// file or stdin, listed, inspected and removed the same way. Only their rows differ: a
// secret's data never comes back from the manager; a config's does (inspect shows it base64,
// as docker's Spec.Data).
import { readFile } from 'node:fs/promises';
import type { Config, Secret } from '../../../proto/gen/shoal.js';
import { CliError, UsageError } from '../../errors.js';
import { ago, isoTime, jsonArray, shortId, table } from '../../output.js';
import type { FlagSpec } from '../../parse/flags.js';
import { atLeastOne, formatFlag, labelFlags, noArguments } from '../../parse/values.js';
import { type AnyCommand, type CommandContext, type CommandSpec, forEachRef } from '../command.js';
import { FORMAT, INSPECT_FORMAT, type ListOptions, listOptions, NO_TRUNC, printList, QUIET } from '../list.js';

export type ObjectKind = 'secret' | 'config';

/** `ls --format json` and `inspect`: one secret or config (`data` for configs' inspect only). */
export interface ObjectRow {
  id: string;
  name: string;
  labels: Record<string, string>;
  /** Bytes of data. */
  size: number;
  createdAt: string | null;
  updatedAt: string | null;
  /** A config's data, base64 (inspect only; never a secret's). */
  data?: string;
}

export function secretRow(s: Secret): ObjectRow {
  return {
    id: s.id,
    name: s.spec?.name ?? '',
    labels: { ...(s.spec?.labels ?? {}) },
    size: s.size,
    createdAt: isoTime(s.createdAtMs),
    updatedAt: isoTime(s.updatedAtMs),
  };
}

export function configRow(c: Config, withData = false): ObjectRow {
  const data = Buffer.from(c.spec?.data ?? new Uint8Array());
  return {
    id: c.id,
    name: c.spec?.name ?? '',
    labels: { ...(c.spec?.labels ?? {}) },
    size: data.length,
    createdAt: isoTime(c.createdAtMs),
    updatedAt: isoTime(c.updatedAtMs),
    ...(withData && { data: data.toString('base64') }),
  };
}

/** Columns `ID NAME CREATED UPDATED` (ages), sorted by name. */
export function objectTable(rows: readonly ObjectRow[], nowMs: number, noTrunc = false): string {
  return table(
    ['ID', 'NAME', 'CREATED', 'UPDATED'],
    [...rows]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((r) => [shortId(r.id, noTrunc), r.name, ago(r.createdAt, nowMs), ago(r.updatedAt, nowMs)]),
  );
}

/** FILE's bytes, or stdin's for `-`; a file that cannot be read is one line naming it. */
export async function readSource(
  source: string,
  stdin: AsyncIterable<Buffer | string> = process.stdin,
): Promise<Buffer> {
  if (source === '-') {
    const chunks: Buffer[] = [];
    for await (const c of stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
    return Buffer.concat(chunks);
  }
  try {
    return await readFile(source);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (code ?? (err as Error).message);
    throw new CliError(`cannot read ${source}: ${why}`);
  }
}

/** What the commands ask of the manager, per kind. */
interface KindApi {
  create(ctx: CommandContext, name: string, labels: Record<string, string>, data: Buffer): Promise<{ id: string }>;
  inspect(ctx: CommandContext, ref: string): Promise<ObjectRow>;
  list(ctx: CommandContext): Promise<ObjectRow[]>;
  remove(ctx: CommandContext, ref: string): Promise<void>;
}

const LABEL: FlagSpec = {
  long: 'label',
  short: 'l',
  type: 'string',
  value: 'KEY=VALUE',
  help: 'Set a label (repeatable)',
};

export interface CreateOptions {
  name: string;
  source: string;
  labels: Record<string, string>;
}

/** create, ls, inspect, rm for one kind, in the order `shoal KIND --help` lists them. */
export function objectCommands(kind: ObjectKind, api: KindApi, caps: string): AnyCommand[] {
  const upper = kind.toUpperCase();
  const create: CommandSpec<CreateOptions> = {
    name: `${kind} create`,
    usage: `shoal ${kind} create [OPTIONS] ${upper} FILE|-`,
    summary: `Create a ${kind} from a file or from stdin (-); ${caps}`,
    flags: [LABEL],
    build({ flags, positionals }) {
      if (positionals.length !== 2)
        throw new UsageError(`${kind} create requires exactly 2 arguments: ${upper} and FILE (or - for stdin)`);
      const [name = '', source = ''] = positionals;
      if (name.trim() === '') throw new UsageError(`${kind} create requires a ${upper} name`);
      if (source === '') throw new UsageError(`${kind} create requires a FILE (or - for stdin)`);
      return { name, source, labels: labelFlags(flags, LABEL.long) };
    },
    async run({ name, source, labels }, ctx) {
      const data = await readSource(source);
      ctx.out((await api.create(ctx, name, labels, data)).id);
      return 0;
    },
  };
  const ls: CommandSpec<ListOptions> = {
    name: `${kind} ls`,
    aliases: ['list'],
    usage: `shoal ${kind} ls [OPTIONS]`,
    summary: `List ${kind}s`,
    flags: [FORMAT, { ...QUIET, help: `Only print ${kind} IDs` }, NO_TRUNC],
    build({ flags, positionals }) {
      noArguments(`${kind} ls`, positionals);
      return listOptions(flags);
    },
    async run(options, ctx) {
      const rows = (await api.list(ctx)).sort((a, b) => a.name.localeCompare(b.name));
      printList(rows, options, (r) => objectTable(r, ctx.now(), options.noTrunc), ctx);
      return 0;
    },
  };
  const inspect: CommandSpec<{ refs: string[] }> = {
    name: `${kind} inspect`,
    usage: `shoal ${kind} inspect [OPTIONS] ${upper} [${upper}...]`,
    summary: `Display detailed information on one or more ${kind}s (a JSON array${kind === 'secret' ? ', never the data' : ''})`,
    flags: [INSPECT_FORMAT],
    build({ flags, positionals }) {
      formatFlag(flags, ['json']);
      return { refs: atLeastOne(`${kind} inspect`, upper, positionals) };
    },
    async run({ refs }, ctx) {
      const { results, failed } = await forEachRef(refs, ctx, (ref) => api.inspect(ctx, ref));
      ctx.out(jsonArray(results));
      return failed > 0 ? 1 : 0;
    },
  };
  const rm: CommandSpec<{ refs: string[] }> = {
    name: `${kind} rm`,
    aliases: ['remove'],
    usage: `shoal ${kind} rm ${upper} [${upper}...]`,
    summary: `Remove one or more ${kind}s (not while a service uses them)`,
    flags: [],
    build: ({ positionals }) => ({ refs: atLeastOne(`${kind} rm`, upper, positionals) }),
    async run({ refs }, ctx) {
      const { failed } = await forEachRef(refs, ctx, async (ref) => {
        await api.remove(ctx, ref);
        ctx.out(ref);
      });
      return failed > 0 ? 1 : 0;
    },
  };
  return [create, ls, inspect, rm] as AnyCommand[];
}
