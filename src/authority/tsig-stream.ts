import { timingSafeEqual } from 'node:crypto';
import { DEFAULT_FUDGE, computeTsigMac, computeTsigTimersMac, extractTsig, signTsig, signTsigResponse, type TsigKey, type TsigVerification } from './tsig.js';

/**
 * TSIG over a multi-message answer (a zone transfer, RFC 8945 §5.3.1): the first message is
 * signed over the request's MAC like any answer, each later one over the MAC before it, itself
 * and the timers alone. Pure: the time comes in as an argument.
 */

/** Signs every message of an answer to a verified request (every one: BIND, Knot and NSD all accept that). */
export function signMessageStream(messages: readonly Uint8Array[], verification: TsigVerification, now: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let prior: Uint8Array | undefined;
  for (const m of messages) {
    const signed = prior === undefined || !verification.ok ? signTsigResponse(m, verification, now) : signTsig(m, verification.key, { now, requestMac: prior, timersOnly: true });
    out.push(signed);
    prior = extractTsig(signed)?.tsig.mac;
  }
  return out;
}

/** RFC 8945 §5.3.1: at most 99 unsigned messages between two signed ones. */
const MAX_UNSIGNED_RUN = 99;

/**
 * Checks the messages of a signed transfer's answer in order (the client side): each signed one
 * against the request's or the prior MAC, time within its fudge; unsigned ones are allowed in
 * runs of at most 99 and folded into the next signed one's MAC; the first and the last must be
 * signed. `check` returns the message without its TSIG RR (to decode), or throws.
 */
export class TsigStreamVerifier {
  private prior: Uint8Array;
  private pending: Uint8Array[] = [];
  private first = true;

  constructor(
    private readonly key: TsigKey,
    requestMac: Uint8Array,
    private readonly now: () => number,
  ) {
    this.prior = requestMac;
  }

  check(wire: Uint8Array): Uint8Array {
    // A copy: extractTsig rewrites the header of what it returns, which for a Buffer is a view of the input.
    const signed = extractTsig(new Uint8Array(wire));
    if (!signed) {
      if (this.first) throw new Error('the answer is not TSIG-signed');
      if (this.pending.length >= MAX_UNSIGNED_RUN) throw new Error(`more than ${MAX_UNSIGNED_RUN} unsigned messages in a row`);
      this.pending.push(wire);
      return wire;
    }
    const t = signed.tsig;
    if (!signed.keyName.equals(this.key.name) || !t.algorithm.equals(this.key.algorithm)) throw new Error(`signed with key ${signed.keyName.toString()}, not ${this.key.name.toString()}`);
    if (t.error !== 0) throw new Error(`TSIG error ${t.error} from the server`);
    const expected = this.first ? computeTsigMac(this.key, signed.unsigned, t, this.prior) : computeTsigTimersMac(this.key, [...this.pending, signed.unsigned], t.timeSigned, t.fudge, this.prior);
    if (t.mac.length === 0 || t.mac.length > expected.length || t.mac.length < Math.min(expected.length, Math.max(10, expected.length / 2)) || !timingSafeEqual(expected.subarray(0, t.mac.length), t.mac))
      throw new Error('the TSIG MAC does not verify');
    // Our own bound on the fudge, whatever the peer wrote (RFC 8945 §5.2.3 recommends 300 s).
    const fudge = Math.min(t.fudge, DEFAULT_FUDGE);
    if (Math.abs(this.now() - t.timeSigned) > fudge) throw new Error(`TSIG time ${t.timeSigned} is outside the fudge of ${fudge} s`);
    this.first = false;
    this.pending = [];
    this.prior = t.mac;
    return signed.unsigned;
  }

  /** Throws when the last message was not signed. */
  finish(): void {
    if (this.first || this.pending.length > 0) throw new Error('the last message of the answer is not TSIG-signed');
  }
}
