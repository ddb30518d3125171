import { describe, expect, it } from 'vitest';
import { INVALID_FRAME, TcpFrameReader } from '../../src/server/tcp-frame-reader.js';

/** A length-prefixed message of `length` bytes, each byte derived from `seed`. */
function frame(length: number, seed: number): Buffer {
  const out = Buffer.alloc(2 + length);
  out.writeUInt16BE(length, 0);
  for (let i = 0; i < length; i++) out[2 + i] = (seed * 31 + i) & 0xff;
  return out;
}

/** Feeds `chunks` one at a time, reading everything available after each. */
function readAll(reader: TcpFrameReader, chunks: Buffer[]): (Buffer | typeof INVALID_FRAME)[] {
  const out: (Buffer | typeof INVALID_FRAME)[] = [];
  for (const chunk of chunks) {
    reader.append(chunk);
    for (let m = reader.read(); m !== undefined; m = reader.read()) {
      out.push(m);
      if (m === INVALID_FRAME) return out;
    }
  }
  return out;
}

describe('TcpFrameReader', () => {
  const stream = Buffer.concat([frame(12, 1), frame(300, 2), frame(12, 3), frame(1000, 4)]);
  const expected = [frame(12, 1), frame(300, 2), frame(12, 3), frame(1000, 4)].map((f) => f.subarray(2));

  it('returns whole messages from one chunk, as views without copying', () => {
    const reader = new TcpFrameReader();
    const messages = readAll(reader, [stream]);
    expect(messages).toEqual(expected);
    expect((messages[1] as Buffer).buffer).toBe(stream.buffer);
    expect(reader.hasBufferedBytes).toBe(false);
  });

  it('reassembles the same messages whatever the split point, two chunks', () => {
    const want = expected.map((m) => m.toString('hex')).join(' ');
    const wrong: number[] = [];
    for (let cut = 1; cut < stream.length; cut++) {
      const messages = readAll(new TcpFrameReader(), [stream.subarray(0, cut), stream.subarray(cut)]);
      if (messages.map((m) => (m === INVALID_FRAME ? 'invalid' : m.toString('hex'))).join(' ') !== want) wrong.push(cut);
    }
    expect(wrong).toEqual([]);
  });

  it('reassembles a stream fed one byte at a time, and in uneven chunks', () => {
    const bytes = [...stream].map((b) => Buffer.from([b]));
    expect(readAll(new TcpFrameReader(), bytes)).toEqual(expected);
    const uneven: Buffer[] = [];
    for (let at = 0, size = 1; at < stream.length; at += size, size = (size * 7 + 3) % 97 || 1) uneven.push(stream.subarray(at, at + size));
    expect(readAll(new TcpFrameReader(), uneven)).toEqual(expected);
  });

  it('keeps unread messages when more is appended before they are read (a paused owner)', () => {
    const reader = new TcpFrameReader();
    reader.append(stream.subarray(0, 20));
    expect(reader.read()).toEqual(expected[0]);
    reader.append(stream.subarray(20, 200));
    reader.append(stream.subarray(200));
    const rest = [];
    for (let m = reader.read(); m !== undefined; m = reader.read()) rest.push(m);
    expect(rest).toEqual(expected.slice(1));
  });

  it('answers undefined until a message is complete, and holds the bytes meanwhile', () => {
    const reader = new TcpFrameReader();
    reader.append(Buffer.from([0x00]));
    expect(reader.read()).toBeUndefined();
    expect(reader.hasBufferedBytes).toBe(true);
    reader.append(Buffer.from([12, 1, 2, 3]));
    expect(reader.read()).toBeUndefined();
  });

  it('reports a zero or sub-header length as INVALID_FRAME, and stays invalid', () => {
    for (const length of [0, 1, 11]) {
      const reader = new TcpFrameReader();
      const bad = Buffer.alloc(2 + length);
      bad.writeUInt16BE(length, 0);
      expect(readAll(reader, [frame(12, 9), bad, frame(12, 9)])).toEqual([frame(12, 9).subarray(2), INVALID_FRAME]);
      expect(reader.read()).toBe(INVALID_FRAME);
    }
    // The same when the bad prefix itself is split.
    const reader = new TcpFrameReader();
    expect(readAll(reader, [Buffer.from([0]), Buffer.from([5])])).toEqual([INVALID_FRAME]);
  });

  it('handles the largest message the prefix allows', () => {
    const big = frame(65535, 7);
    expect(readAll(new TcpFrameReader(), [big.subarray(0, 1), big.subarray(1, 40000), big.subarray(40000)])).toEqual([big.subarray(2)]);
  });
});
