// One line per event on stdout, as the manager does. Components take a Log so tests stay quiet.
export type Log = (line: string) => void;

export const stdoutLog: Log = (line) => {
  process.stdout.write(`${new Date().toISOString()} ${line}\n`);
};

export const silentLog: Log = () => {};
