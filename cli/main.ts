// `shoal`: the process around run.ts: its streams, environment, clock, signals and exit status.
import { systemClock } from '../proto/clock.js';
import { GrpcControlApi } from './client.js';
import { cliCredentials } from './credentials.js';
import { runShoal } from './run.js';

// `shoal service ls | head -1`: a reader that went away is not worth a stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  process.exit(process.exitCode ?? 0);
});

const code = await runShoal(process.argv.slice(2), {
  env: process.env,
  out: (text) => void process.stdout.write(`${text}\n`),
  err: (text) => void process.stderr.write(`${text}\n`),
  clock: systemClock,
  connect: (hosts, label) => new GrpcControlApi(hosts, { label, credentials: () => cliCredentials(process.env) }),
  interrupts: () => {
    const interrupted = new AbortController();
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => interrupted.abort());
    return interrupted.signal;
  },
});
// Exit now: a channel still in a TLS handshake with an address that never answered would
// keep the process alive (stdout and stderr are synchronous for files and pipes on Linux).
process.exit(code);
