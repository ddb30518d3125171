/** RFC 1035 §4.2.2 / RFC 7766 §8: every message on a TCP stream has a two-byte length prefix. */
const LENGTH_PREFIX = 2;

/** Returned by `TcpFrameReader.read` for a length below `minLength`: the stream is not DNS. */
export const INVALID_FRAME: unique symbol = Symbol('invalid DNS-over-TCP frame');

/**
 * Cuts a DNS-over-TCP byte stream into messages, whatever the chunk boundaries. Pull-based, so
 * the connection can stop taking messages (pipelining limit, write backpressure) and leave the
 * rest here until it wants them.
 *
 * Memory: a message that arrives whole inside one chunk is returned as a view of that chunk, no
 * copy. One that straddles chunks is copied once into a buffer of its announced length, so a
 * client dripping a 64 KiB message byte by byte costs 64 KiB and one copy of each byte, not a
 * re-concatenation per byte.
 */
export class TcpFrameReader {
  /** Unread input. At most one chunk, unless `append` is called before everything was read. */
  private chunk: Buffer | undefined;
  private offset = 0;
  /** First byte of a length prefix split across chunks, or -1. */
  private lengthHigh = -1;
  /** A message straddling chunks, being filled. */
  private partial: Buffer | undefined;
  private partialFilled = 0;
  private invalid = false;

  /** @param minLength shorter messages make the stream invalid (12: a DNS header; 0 closes too). */
  constructor(private readonly minLength = 12) {}

  append(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.chunk === undefined) {
      this.chunk = chunk;
      this.offset = 0;
    } else {
      // Only when the owner appends while messages are still waiting to be read (it paused the
      // socket, but a chunk was already on its way): rare, and bounded by one socket read.
      this.chunk = Buffer.concat([this.chunk.subarray(this.offset), chunk]);
      this.offset = 0;
    }
  }

  /** True when unread bytes are held: whole messages not yet read, or the start of one. */
  get hasBufferedBytes(): boolean {
    return this.chunk !== undefined || this.lengthHigh >= 0 || this.partial !== undefined;
  }

  /** The next whole message, `undefined` until more bytes arrive, or `INVALID_FRAME` (sticky). */
  read(): Buffer | undefined | typeof INVALID_FRAME {
    if (this.invalid) return INVALID_FRAME;
    const chunk = this.chunk;
    if (chunk === undefined) return undefined;

    if (this.partial !== undefined) return this.fillPartial(chunk);

    let length: number;
    const available = chunk.length - this.offset;
    if (this.lengthHigh >= 0) {
      length = (this.lengthHigh << 8) | chunk[this.offset]!;
      this.lengthHigh = -1;
      this.offset += 1;
    } else if (available >= LENGTH_PREFIX) {
      length = chunk.readUInt16BE(this.offset);
      this.offset += LENGTH_PREFIX;
    } else {
      this.lengthHigh = chunk[this.offset]!;
      this.release();
      return undefined;
    }
    if (length < this.minLength) {
      this.invalid = true;
      this.release();
      return INVALID_FRAME;
    }
    if (chunk.length - this.offset >= length) {
      const message = chunk.subarray(this.offset, this.offset + length);
      this.offset += length;
      if (this.offset === chunk.length) this.release();
      return message;
    }
    this.partial = Buffer.allocUnsafe(length);
    this.partialFilled = 0;
    return this.fillPartial(chunk);
  }

  private fillPartial(chunk: Buffer): Buffer | undefined {
    const partial = this.partial!;
    const take = Math.min(partial.length - this.partialFilled, chunk.length - this.offset);
    chunk.copy(partial, this.partialFilled, this.offset, this.offset + take);
    this.partialFilled += take;
    this.offset += take;
    if (this.offset === chunk.length) this.release();
    if (this.partialFilled < partial.length) return undefined;
    this.partial = undefined;
    return partial;
  }

  private release(): void {
    this.chunk = undefined;
    this.offset = 0;
  }
}
