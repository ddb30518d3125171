import type { Socket } from 'node:net';
import { describeBadResult, isPendingResult } from './handler-result.js';
import type { ListenerStats } from './listener-stats.js';
import type { ClientInfo, QueryHandler } from './query-handler.js';
import { INVALID_FRAME, TcpFrameReader } from './tcp-frame-reader.js';
import { errorFields, type ThrottledEventLog } from '../logging/throttled-event-log.js';

/** The QR bit, in the third byte of the header. */
const QR_BIT = 0x80;
/** The two-byte length prefix cannot say more. */
const MAX_MESSAGE_LENGTH = 0xffff;

export interface TcpConnectionOptions {
  readonly handler: QueryHandler;
  readonly stats: ListenerStats;
  /** Close after this long without a whole query received or an answer sent. */
  readonly idleTimeoutMs: number;
  /** Queries handed to the handler and not yet answered, at most. */
  readonly maxPipelined: number;
  /** `dns.handler-error`. */
  readonly handlerErrorLog: ThrottledEventLog;
  /** `dns.tcp-error`: resets and the like, which clients cause all day. */
  readonly errorLog: ThrottledEventLog;
  /** Called once, when the socket is closed for whatever reason. */
  readonly onClosed: (connection: TcpConnection) => void;
}

/**
 * One DNS-over-TCP connection, per RFC 7766:
 *
 * - messages are cut out of the stream by `TcpFrameReader`, whatever the segment boundaries;
 * - pipelined queries (§6.2.1.1) go to the handler concurrently and each answer is written, framed
 *   whole in one write, as soon as it is ready: out of order, which clients match by ID (§7);
 * - at `maxPipelined` unanswered queries, or when the socket's write buffer is full, the socket is
 *   paused, so a client that sends faster than we answer, or does not read, is slowed down by TCP
 *   flow control instead of by our memory; reading resumes as answers go out;
 * - idle (§6.2.3): no whole query received and no answer sent for `idleTimeoutMs`, with nothing in
 *   flight, closes the connection. Bytes of an unfinished message do not count as activity, so a
 *   client dripping one byte at a time cannot hold a slot forever;
 * - a length under 12 (zero included) is not DNS: nothing more is read, queries already taken are
 *   answered, then the connection is closed;
 * - the client half-closing (FIN after its last query, as `dig +tcp` does) still gets every answer
 *   before our FIN: the server socket is created with `allowHalfOpen`.
 */
export class TcpConnection {
  private readonly reader = new TcpFrameReader();
  private readonly idleTimer: NodeJS.Timeout;
  private inFlight = 0;
  private writeBlocked = false;
  /** The client sent FIN: answer what was received, then close. */
  private peerEnded = false;
  /** A bad length prefix: read nothing more. */
  private badStream = false;
  /** Our FIN is sent (or queued); waiting for the socket to close. */
  private closing = false;
  private closed = false;
  private pumping = false;
  /** Last whole query received or answer sent (accept, before any): how idle it is when slots run out. */
  lastActivity = Date.now();

  constructor(
    private readonly socket: Socket,
    readonly client: ClientInfo,
    private readonly options: TcpConnectionOptions,
  ) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('drain', this.onDrain);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    this.idleTimer = setTimeout(this.onIdle, options.idleTimeoutMs);
    this.idleTimer.unref();
  }

  /** Answers are being worked on: not idle. */
  get busy(): boolean {
    return this.inFlight > 0;
  }

  /** Shutdown: close now, answers in flight are dropped. */
  destroy(): void {
    this.socket.destroy();
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.closing || this.badStream) return; // draining the peer's leftovers until it closes
    this.reader.append(chunk);
    this.pump();
  };

  private readonly onEnd = (): void => {
    this.peerEnded = true;
    this.pump();
  };

  private readonly onDrain = (): void => {
    this.writeBlocked = false;
    this.pump();
  };

  private readonly onError = (error: Error): void => {
    this.options.errorLog.log({ client: this.client.address, port: this.client.port, ...errorFields(error) });
  };

  private readonly onClose = (): void => {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.idleTimer);
    this.options.onClosed(this);
  };

  private readonly onIdle = (): void => {
    if (this.closed) return;
    if (this.closing || this.writeBlocked) {
      // Our FIN went out a whole timeout ago and the peer neither closed nor read: stop waiting.
      this.socket.destroy();
      return;
    }
    if (this.inFlight > 0) {
      // Waiting on our own resolver is not the client being idle; the answer re-arms the timer.
      this.idleTimer.refresh();
      return;
    }
    this.finish();
  };

  /** Takes messages from the reader while the limits allow, then pauses, resumes or closes. */
  private pump(): void {
    if (this.pumping || this.closed || this.closing) return;
    this.pumping = true;
    const max = this.options.maxPipelined;
    try {
      while (!this.badStream && this.inFlight < max && !this.writeBlocked && !this.closed) {
        const message = this.reader.read();
        if (message === undefined) break;
        if (message === INVALID_FRAME) {
          this.badStream = true;
          this.options.stats.tcpQueries++;
          this.options.stats.dropped++;
          break;
        }
        this.dispatch(message);
      }
    } finally {
      this.pumping = false;
    }
    if (this.closed) return;
    // With nothing in flight and writes flowing, the loop above read the reader dry: whatever the
    // client sent before its FIN (or before the bad frame) has been answered.
    if ((this.peerEnded || this.badStream) && this.inFlight === 0 && (this.badStream || !this.writeBlocked)) {
      this.finish();
      return;
    }
    const hold = this.badStream || this.writeBlocked || this.inFlight >= max;
    if (hold) {
      if (!this.socket.isPaused()) this.socket.pause();
    } else if (this.socket.isPaused()) {
      this.socket.resume();
    }
  }

  private dispatch(message: Buffer): void {
    const stats = this.options.stats;
    stats.tcpQueries++;
    this.idleTimer.refresh();
    this.lastActivity = Date.now();
    // Responses are never answered (no loops), on TCP as on UDP; the connection itself is fine.
    if ((message[2]! & QR_BIT) !== 0) {
      stats.dropped++;
      return;
    }
    this.inFlight++;
    let result;
    try {
      result = this.options.handler(message, this.client);
    } catch (error) {
      this.onFailure(error);
      return;
    }
    if (result === undefined || result instanceof Uint8Array) this.onAnswer(result);
    else if (isPendingResult(result)) result.then(this.onAnswer, this.onFailure);
    else this.onFailure(new TypeError(describeBadResult(result)));
  }

  // Bound once per connection and handed to every pending answer: no closure per query.
  private readonly onAnswer = (response: unknown): void => {
    this.inFlight--;
    this.send(response);
    if (!this.pumping) this.pump();
  };

  private readonly onFailure = (error: unknown): void => {
    this.inFlight--;
    this.options.stats.dropped++;
    this.options.handlerErrorLog.log(
      { transport: 'tcp', client: this.client.address, ...errorFields(error) },
      'query handler failed; query dropped',
    );
    if (!this.pumping) this.pump();
  };

  /** Never throws: it runs inside promise callbacks. */
  private send(response: unknown): void {
    const stats = this.options.stats;
    if (response === undefined || this.closed || this.socket.destroyed || !this.socket.writable) {
      stats.dropped++;
      return;
    }
    // A zone transfer answers with several messages; they go out in order, in one write.
    const messages = Array.isArray(response) ? (response as unknown[]) : [response];
    const bad = messages.find((m) => !(m instanceof Uint8Array) || m.length > MAX_MESSAGE_LENGTH);
    if (bad !== undefined || messages.length === 0) {
      stats.dropped++;
      const why = bad instanceof Uint8Array ? `answer of ${bad.length} bytes exceeds the TCP maximum of 65535` : describeBadResult(bad);
      this.options.handlerErrorLog.log({ transport: 'tcp', client: this.client.address, error: why }, 'query handler failed; query dropped');
      return;
    }
    // Prefix and message in one buffer and one write: a pipelined answer must never be split by
    // another answer's bytes, and one segment is what the client's reader hopes for.
    let total = 0;
    for (const m of messages as Uint8Array[]) total += 2 + m.length;
    const framed = Buffer.allocUnsafe(total);
    let at = 0;
    for (const m of messages as Uint8Array[]) {
      framed.writeUInt16BE(m.length, at);
      framed.set(m, at + 2);
      at += 2 + m.length;
    }
    this.idleTimer.refresh();
    this.lastActivity = Date.now();
    try {
      if (!this.socket.write(framed)) this.writeBlocked = true;
    } catch (error) {
      stats.dropped++;
      this.onError(error as Error);
    }
  }

  /** Sends our FIN, then waits (bounded by the idle timer) for the peer's before closing. */
  private finish(): void {
    if (this.closing || this.closed) return;
    this.closing = true;
    this.idleTimer.refresh();
    this.socket.end();
    // Keep reading and discarding: closing with unread bytes in the kernel would send RST, and an
    // RST can destroy answers the client has not read yet.
    this.socket.resume();
  }
}
