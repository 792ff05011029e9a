// cli/parse/command-line.ts: hosts, help, unknown commands and flags, aliases.
import test from 'ava';
import { serviceCreate } from '../../../../cli/commands/service/create.js';
import { DEFAULT_HOST } from '../../../../cli/parse/flags.js';
import { helpText, parse, parseAs, usageError } from '../../../helpers/run-shoal.js';

// ------------------------------------------------------------------ hosts

test('host: default, SHOAL_HOST, --host before and after the command, -H', (t) => {
  t.deepEqual(parse(['node', 'ls']).hosts, [DEFAULT_HOST]);
  t.deepEqual(parse(['node', 'ls'], { SHOAL_HOST: '10.213.0.1:4242' }).hosts, ['10.213.0.1:4242']);
  t.deepEqual(parse(['--host', 'a:1', 'node', 'ls'], { SHOAL_HOST: 'x:9' }).hosts, ['a:1']);
  t.deepEqual(parse(['node', 'ls', '--host', 'b:2']).hosts, ['b:2']);
  t.deepEqual(parse(['node', '--host=c:3', 'ls']).hosts, ['c:3']);
  t.deepEqual(parse(['-H', 'd:4', 'service', 'ls']).hosts, ['d:4']);
  // the one closest to the command wins, like a repeated flag
  t.deepEqual(parse(['--host', 'a:1', 'node', 'ls', '--host', 'b:2']).hosts, ['b:2']);
});

test('host: comma-separated list, default port for a bare host', (t) => {
  const inv = parse(['--host', '127.0.0.1:1, 127.0.0.2 ,[::1]:3', 'node', 'ls']);
  t.deepEqual(inv.hosts, ['127.0.0.1:1', '127.0.0.2:4242', '[::1]:3']);
  t.is(inv.hostLabel, '127.0.0.1:1, 127.0.0.2 ,[::1]:3');
  t.regex(usageError(['--host', ',', 'node', 'ls']), /^invalid manager address ","/);
});

test('--host after IMAGE belongs to the container command', (t) => {
  const line = ['service', 'create', '--name', 'w', 'img', 'prog', '--host', 'x'];
  t.deepEqual(parse(line).hosts, [DEFAULT_HOST]);
  t.deepEqual(parseAs(serviceCreate, line).spec.command, ['prog', '--host', 'x']);
});

// ------------------------------------------------------------------ help and unknown commands

test('help: bare shoal is usage with ok=false, --help and help are ok', (t) => {
  const bare = parse([]).command;
  t.like(bare, { name: 'help', ok: false });
  t.like(parse(['--help']).command, { name: 'help', ok: true });
  t.like(parse(['-h']).command, { name: 'help', ok: true });
  t.like(parse(['help']).command, { name: 'help', ok: true });
  const service = parse(['service', '--help']).command;
  t.like(service, { name: 'help', ok: true });
  t.regex(helpText(['service', '--help']), /Usage: {2}shoal service COMMAND/);
  t.regex(helpText(['service', '--help']), /scale/);
  t.like(parse(['service']).command, { name: 'help', ok: false });
  const create = helpText(['service', 'create', '--help']);
  t.regex(create, /--reserve-memory SIZE/);
  t.regex(create, /-e, --env KEY=VALUE/);
  t.like(parse(['node', 'update', '-h']).command, { name: 'help', ok: true });
  // --help wins over missing arguments
  t.like(parse(['service', 'create', '--help']).command, { name: 'help', ok: true });
});

test('unknown commands and flags', (t) => {
  t.is(usageError(['frobnicate']), 'unknown command "frobnicate" (see shoal --help)');
  t.is(usageError(['service', 'frob']), 'unknown command "service frob" (see shoal service --help)');
  t.is(usageError(['--foo', 'node', 'ls']), 'unknown flag --foo');
  t.is(usageError(['service', 'create', '--foo', '--name', 'w', 'img']), 'unknown flag --foo for "service create"');
  t.is(usageError(['service', 'ls', '-x']), 'unknown flag -x for "service ls"');
  t.is(usageError(['node', 'ls', '--replicas', '3']), 'unknown flag --replicas for "node ls"');
  t.is(usageError(['service', 'create', '--name']), 'flag --name needs a value');
  t.is(usageError(['service', 'ls', '--quiet=yes']), 'flag --quiet takes no value (or =true / =false), got "yes"');
  t.is(usageError(['service', 'ls', 'extra']), '"service ls" accepts no arguments, got "extra"');
});

test('aliases: ls/list, rm/remove', (t) => {
  t.is(parse(['node', 'list']).command.name, 'node ls');
  t.is(parse(['service', 'list']).command.name, 'service ls');
  t.is(parse(['service', 'remove', 'web']).command.name, 'service rm');
});
