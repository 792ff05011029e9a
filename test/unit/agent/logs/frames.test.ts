// agent/logs/frames.ts and docker.ts's options: docker's stream framing taken apart across
// any chunk boundary, lines split with the engine's timestamp kept, and LogOptions as docker's.
import test from 'ava';
import { LogStream } from '../../../../proto/gen/shoal.js';
import { Demuxer, LineSplitter, LogParser, MAX_LINE_BYTES } from '../../../../agent/logs/frames.js';
import { dockerLogOptions } from '../../../../agent/logs/docker.js';

function frame(stream: 1 | 2, text: string): Buffer {
  const data = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(data.length, 4);
  return Buffer.concat([header, data]);
}

const TS1 = '2026-12-07T16:00:00.123456789Z';
const TS2 = '2026-12-07T16:00:01.000000001Z';

test('demux: stdout and stderr frames, whole or cut at every byte', (t) => {
  const all = Buffer.concat([frame(1, 'out\n'), frame(2, 'err\n'), frame(1, '')]);
  const whole = new Demuxer().push(all);
  t.deepEqual(
    whole.map((f) => [f.stream, f.data.toString()]),
    [
      [LogStream.STDOUT, 'out\n'],
      [LogStream.STDERR, 'err\n'],
      [LogStream.STDOUT, ''],
    ],
  );
  for (let cut = 1; cut < all.length; cut++) {
    const d = new Demuxer();
    const got = [...d.push(all.subarray(0, cut)), ...d.push(all.subarray(cut))];
    t.deepEqual(
      got.map((f) => f.data.toString()),
      ['out\n', 'err\n', ''],
      `cut at ${cut}`,
    );
  }
});

test('lines: split on newlines across chunks, timestamp taken off, \\r dropped, the rest flushed at the end', (t) => {
  const s = new LineSplitter();
  t.deepEqual(s.push(Buffer.from(`${TS1} hel`)), []);
  const a = s.push(Buffer.from(`lo world\r\n${TS2} second\n${TS2} no newline`));
  t.deepEqual(
    a.map((l) => [l.timestamp, l.data.toString()]),
    [
      [TS1, 'hello world'],
      [TS2, 'second'],
    ],
  );
  t.deepEqual(
    s.flush().map((l) => [l.timestamp, l.data.toString()]),
    [[TS2, 'no newline']],
  );
  t.deepEqual(s.flush(), []);
  const plain = new LineSplitter().push(Buffer.from('no timestamp here\n'));
  t.deepEqual(
    plain.map((l) => [l.timestamp, l.data.toString()]),
    [['', 'no timestamp here']],
  );
});

test('a line longer than 16 KiB is cut, not buffered without bound', (t) => {
  const s = new LineSplitter();
  const out = s.push(Buffer.alloc(MAX_LINE_BYTES * 2 + 10, 'x'));
  t.is(out.length, 2);
  t.is(out[0]!.data.length, MAX_LINE_BYTES);
  t.is(s.flush()[0]!.data.length, 10);
});

test('parser: interleaved stdout/stderr frames become lines per stream, each frame with its own timestamp', (t) => {
  const p = new LogParser();
  const got = [
    ...p.push(Buffer.concat([frame(1, `${TS1} out 1\n`), frame(2, `${TS1} err 1\n`), frame(1, `${TS2} out`)])),
    ...p.push(frame(1, ' 2\n')),
  ];
  t.deepEqual(
    got.map((g) => [g.stream, g.line.timestamp, g.line.data.toString()]),
    [
      [LogStream.STDOUT, TS1, 'out 1'],
      [LogStream.STDERR, TS1, 'err 1'],
      [LogStream.STDOUT, TS2, 'out 2'],
    ],
  );
});

test('docker options: tail -1 is all (no tail), since in seconds with ms, always timestamps', (t) => {
  t.deepEqual(dockerLogOptions({ follow: false, tail: -1, sinceMs: 0, timestamps: false }), {
    stdout: true,
    stderr: true,
    timestamps: true,
  });
  t.deepEqual(dockerLogOptions({ follow: true, tail: 2, sinceMs: 1_765_123_456_789, timestamps: true }), {
    stdout: true,
    stderr: true,
    timestamps: true,
    tail: 2,
    since: '1765123456.789',
  });
  t.is(dockerLogOptions({ follow: false, tail: 0, sinceMs: 0, timestamps: false }).tail, 0, '--tail 0: none');
});
