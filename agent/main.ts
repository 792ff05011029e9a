// shoal-agent: flags -> config, signals, exit codes. The parts and their order are
// AgentNode's (node.ts). SIGTERM/SIGINT stop it (containers keep running), exit 0; a second
// signal exits 1 at once; bad flags or a start that fails: one line on stderr, exit 1.
import { parseConfig, USAGE, UsageError, type AgentConfig } from './config.js';
import { errorMessage } from './exec/errors.js';
import { stdoutLog } from './log.js';
import { AgentNode } from './node.js';

function fail(message: string): never {
  process.stderr.write(`shoal-agent: ${message}\n`);
  process.exit(1);
}

let config: AgentConfig;
try {
  config = parseConfig(process.argv.slice(2), process.env);
} catch (err) {
  if (err instanceof UsageError) fail(err.message);
  throw err;
}
if (config.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const node = new AgentNode({
  config,
  log: stdoutLog,
  onRemoved: (message) => {
    // Removed for good: stop (containers keep running), exit 3 so a supervisor can tell.
    void node.close().finally(() => {
      process.stderr.write(
        `shoal-agent: ${message}; to join again: delete STATE-DIR/tls and start with a fresh join token\n`,
      );
      process.exit(3);
    });
  },
});

let signals = 0;
const stop = (signal: NodeJS.Signals) => {
  if (++signals > 1) {
    stdoutLog(`agent: ${signal} again, exiting now`);
    process.exit(1);
  }
  stdoutLog(`agent: ${signal}, stopping (containers keep running)`);
  node.close().then(
    () => process.exit(0),
    (err: unknown) => fail(`stopping: ${errorMessage(err)}`),
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

node.start().catch((err: unknown) => {
  if (signals === 0) fail(errorMessage(err));
});
