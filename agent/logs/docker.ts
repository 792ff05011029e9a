// Reads a task's container log from the Docker engine: the container is the one carrying
// the task's label (what the executor created), its log is `docker logs` with the engine's
// timestamps, demultiplexed and split into lines (frames.ts).
import type Docker from 'dockerode';
import type { LogLine, LogOptions } from '../../proto/gen/shoal.js';
import { LABEL } from '../../proto/naming.js';
import type { Executor } from '../exec/executor.js';
import { DockerExecutor } from '../exec/docker/executor.js';
import { LogParser } from './frames.js';

/** A task's log could not be read (its container is gone, the engine refused): one line. */
export class TaskLogError extends Error {
  override name = 'TaskLogError';
}

/**
 * Where a task's lines go. Returning false asks the reader to wait for `drained` before
 * reading on (the publish stream is full).
 */
export interface LineSink {
  lines(lines: LogLine[]): boolean;
  drained(): Promise<void>;
}

/** Reads one task's log; resolves when it is read (with follow: when the container stops or `signal` aborts). */
export interface LogReader {
  read(taskId: string, options: LogOptions, sink: LineSink, signal: AbortSignal): Promise<void>;
}

/** The options docker's logs call takes for LogOptions (tail -1: all; since in seconds). */
export function dockerLogOptions(o: LogOptions): {
  stdout: true;
  stderr: true;
  timestamps: true;
  tail?: number;
  since?: string;
} {
  return {
    stdout: true,
    stderr: true,
    timestamps: true,
    ...(o.tail >= 0 && { tail: o.tail }),
    ...(o.sinceMs > 0 && { since: (o.sinceMs / 1000).toFixed(3) }),
  };
}

export class DockerLogReader implements LogReader {
  constructor(private readonly docker: Docker) {}

  async read(taskId: string, options: LogOptions, sink: LineSink, signal: AbortSignal): Promise<void> {
    const id = await this.containerOf(taskId);
    const container = this.docker.getContainer(id);
    const parser = new LogParser();
    const emit = (parts: ReturnType<LogParser['push']>): boolean =>
      parts.length === 0 ||
      sink.lines(parts.map((p) => ({ taskId, stream: p.stream, timestamp: p.line.timestamp, data: p.line.data })));
    const opts = dockerLogOptions(options);
    try {
      if (!options.follow) {
        const buf = await container.logs({ ...opts, follow: false, abortSignal: signal });
        emit(parser.push(Buffer.isBuffer(buf) ? buf : Buffer.from(buf)));
        emit(parser.flush());
        return;
      }
      const stream = (await container.logs({ ...opts, follow: true, abortSignal: signal })) as NodeJS.ReadableStream &
        Partial<{ destroy(): void }>;
      await new Promise<void>((resolve, reject) => {
        const stop = () => {
          stream.destroy?.();
          resolve();
        };
        signal.addEventListener('abort', stop, { once: true });
        stream.on('data', (chunk: Buffer) => {
          if (!emit(parser.push(chunk))) {
            stream.pause();
            void sink.drained().then(() => stream.resume());
          }
        });
        stream.on('end', () => {
          signal.removeEventListener('abort', stop);
          emit(parser.flush());
          resolve();
        });
        stream.on('error', (err: Error) => {
          signal.removeEventListener('abort', stop);
          if (signal.aborted) resolve();
          else reject(err);
        });
      });
    } catch (err) {
      if (signal.aborted) return;
      throw new TaskLogError(`task ${taskId}: reading its container log failed: ${oneLine(err)}`, { cause: err });
    }
  }

  private async containerOf(taskId: string): Promise<string> {
    let list: Docker.ContainerInfo[];
    try {
      list = await this.docker.listContainers({ all: true, filters: { label: [`${LABEL.taskId}=${taskId}`] } });
    } catch (err) {
      throw new TaskLogError(`task ${taskId}: listing containers failed: ${oneLine(err)}`, { cause: err });
    }
    const c = list[0];
    if (!c) throw new TaskLogError(`task ${taskId}: its container is gone on this node`);
    return c.Id;
  }
}

function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}

/** The reader for this executor's engine (undefined for an engine without one: tests' fakes). */
export function logReaderFor(executor: Executor): LogReader | undefined {
  return executor instanceof DockerExecutor ? new DockerLogReader(executor.docker) : undefined;
}
