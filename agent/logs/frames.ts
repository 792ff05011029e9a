// Docker's log stream, taken apart: the engine multiplexes stdout and stderr of a non-TTY
// container in frames (an 8-byte header: stream 1|2, three zero bytes, a big-endian uint32
// size; then the payload), and with timestamps=true starts every line with its RFC 3339
// nanosecond time and a space. Chunks may cut frames and lines anywhere: both parsers keep
// what is left over for the next chunk.
import { LogStream } from '../../proto/gen/shoal.js';

const HEADER_BYTES = 8;
/** A line longer than this is cut (docker itself cuts log entries at 16 KiB). */
export const MAX_LINE_BYTES = 16 * 1024;

export interface Frame {
  stream: LogStream;
  data: Buffer;
}

/** Frames from a multiplexed stream, as chunks arrive. */
export class Demuxer {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    const buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: Frame[] = [];
    let pos = 0;
    while (buf.length - pos >= HEADER_BYTES) {
      const type = buf[pos];
      const size = buf.readUInt32BE(pos + 4);
      if (buf.length - pos - HEADER_BYTES < size) break;
      const data = buf.subarray(pos + HEADER_BYTES, pos + HEADER_BYTES + size);
      // 0 is stdin (never sent for logs), 1 stdout, 2 stderr.
      out.push({ stream: type === 2 ? LogStream.STDERR : LogStream.STDOUT, data });
      pos += HEADER_BYTES + size;
    }
    this.pending = Buffer.from(buf.subarray(pos));
    return out;
  }
}

export interface TimedLine {
  /** RFC 3339 with nanoseconds, as the engine wrote it ('' when the line had none). */
  timestamp: string;
  data: Buffer;
}

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Lines of one stream (stdout or stderr), without their newline, with the engine's time split off. */
export class LineSplitter {
  private partial: Buffer = Buffer.alloc(0);

  push(data: Buffer): TimedLine[] {
    const buf = this.partial.length > 0 ? Buffer.concat([this.partial, data]) : data;
    const out: TimedLine[] = [];
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, start);
      if (nl < 0) break;
      out.push(timed(buf.subarray(start, nl)));
      start = nl + 1;
    }
    let rest = buf.subarray(start);
    while (rest.length > MAX_LINE_BYTES) {
      out.push(timed(rest.subarray(0, MAX_LINE_BYTES)));
      rest = rest.subarray(MAX_LINE_BYTES);
    }
    this.partial = Buffer.from(rest);
    return out;
  }

  /** What is left without a final newline (the stream ended). */
  flush(): TimedLine[] {
    const rest = this.partial;
    this.partial = Buffer.alloc(0);
    return rest.length > 0 ? [timed(rest)] : [];
  }
}

function timed(line: Buffer): TimedLine {
  const sp = line.indexOf(0x20);
  if (sp > 0 && sp <= 40) {
    const ts = line.subarray(0, sp).toString('latin1');
    if (TIMESTAMP.test(ts)) return { timestamp: ts, data: Buffer.from(stripCr(line.subarray(sp + 1))) };
  }
  return { timestamp: '', data: Buffer.from(stripCr(line)) };
}

function stripCr(b: Buffer): Buffer {
  return b.length > 0 && b[b.length - 1] === 0x0d ? b.subarray(0, b.length - 1) : b;
}

/** Demuxes and splits one container's log stream into lines per stream. */
export class LogParser {
  private readonly demux = new Demuxer();
  private readonly splitters = new Map<LogStream, LineSplitter>();

  push(chunk: Buffer): { stream: LogStream; line: TimedLine }[] {
    const out: { stream: LogStream; line: TimedLine }[] = [];
    for (const f of this.demux.push(chunk)) {
      for (const line of this.splitter(f.stream).push(f.data)) out.push({ stream: f.stream, line });
    }
    return out;
  }

  flush(): { stream: LogStream; line: TimedLine }[] {
    const out: { stream: LogStream; line: TimedLine }[] = [];
    for (const [stream, s] of this.splitters) for (const line of s.flush()) out.push({ stream, line });
    return out;
  }

  private splitter(stream: LogStream): LineSplitter {
    let s = this.splitters.get(stream);
    if (!s) this.splitters.set(stream, (s = new LineSplitter()));
    return s;
  }
}
