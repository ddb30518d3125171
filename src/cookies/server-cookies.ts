import { isIP } from 'node:net';
import type { Clock } from '../clock.js';
import { siphash24 } from '../crypto/siphash.js';
import { parseIpv4, parseIpv6 } from '../wire/ip-address.js';

/**
 * DNS server cookies (RFC 7873) in RFC 9018's interoperable form: Version 1, three reserved
 * bytes, a 32-bit timestamp and SipHash-2-4 over the client cookie, those eight bytes and the
 * client's address, keyed by a 16-byte server secret shared by every worker (cookie-secret.ts).
 */
export const SERVER_COOKIE_LENGTH = 16;
export const CLIENT_COOKIE_LENGTH = 8;
/** RFC 9018 §4.3: a cookie older than an hour, or more than 5 minutes in the future, is not valid. */
const MAX_AGE_SECONDS = 3600;
const MAX_FUTURE_SECONDS = 300;
const REUSE_SECONDS = 1800;

/** What a query's COOKIE option says about its sender. */
export type CookieVerdict =
  /** No COOKIE option: a client that does not do cookies. */
  | 'none'
  /** A client cookie alone: the client asks for a server cookie. */
  | 'client-only'
  /** A server cookie this server made for this client and address, recently: the source address is not spoofed. */
  | 'valid'
  /** A server cookie that is not ours, is for another address, or has expired. */
  | 'bad';

export interface CookieSecrets {
  /** The secret new cookies are made with. */
  current(): Uint8Array;
  /** The secret before the last rotation, still accepted during the overlap (RFC 9018 §4.3). */
  previous(): Uint8Array | undefined;
}

export class ServerCookies {
  /** Client addresses as bytes: parsing them is most of the cost of a cookie. */
  private readonly addressBytes = new Map<string, Uint8Array>();

  constructor(
    private readonly secrets: CookieSecrets,
    private readonly clock: Clock,
  ) {}

  /** A fresh 16-byte server cookie for this client cookie and address. */
  make(clientCookie: Uint8Array, clientAddress: string): Uint8Array {
    const now = Math.floor(this.clock.now() / 1000) >>> 0;
    const cookie = new Uint8Array(SERVER_COOKIE_LENGTH);
    cookie[0] = 1;
    cookie[4] = now >>> 24;
    cookie[5] = (now >>> 16) & 0xff;
    cookie[6] = (now >>> 8) & 0xff;
    cookie[7] = now & 0xff;
    cookie.set(this.hash(this.secrets.current(), clientCookie, cookie.subarray(0, 8), clientAddress), 8);
    return cookie;
  }

  /** Whether `serverCookie` is one this server made for `clientCookie` from `clientAddress`, recently. */
  verify(clientCookie: Uint8Array, serverCookie: Uint8Array, clientAddress: string): boolean {
    if (serverCookie.length !== SERVER_COOKIE_LENGTH || serverCookie[0] !== 1) return false;
    const stamp = ((serverCookie[4]! << 24) | (serverCookie[5]! << 16) | (serverCookie[6]! << 8) | serverCookie[7]!) >>> 0;
    const now = Math.floor(this.clock.now() / 1000);
    // Serial-number arithmetic on the 32-bit timestamp (RFC 1982), as RFC 9018 §4.3 asks.
    const age = (((now >>> 0) - stamp) | 0);
    if (age > MAX_AGE_SECONDS || age < -MAX_FUTURE_SECONDS) return false;
    const header = serverCookie.subarray(0, 8);
    const hash = serverCookie.subarray(8);
    for (const secret of [this.secrets.current(), this.secrets.previous()]) {
      if (secret && constantTimeEqual(this.hash(secret, clientCookie, header, clientAddress), hash)) return true;
    }
    return false;
  }

  /**
   * The server cookie a response carries: the client's own while it is under half an hour old
   * and valid (RFC 9018 §4.3 asks for a new one only after that), else a fresh one.
   */
  forResponse(option: Uint8Array, verdict: CookieVerdict, clientAddress: string): Uint8Array {
    if (verdict === 'valid' && option.length === CLIENT_COOKIE_LENGTH + SERVER_COOKIE_LENGTH) {
      const stamp = ((option[12]! << 24) | (option[13]! << 16) | (option[14]! << 8) | option[15]!) >>> 0;
      const age = ((Math.floor(this.clock.now() / 1000) >>> 0) - stamp) | 0;
      if (age >= 0 && age < REUSE_SECONDS) return option.subarray(CLIENT_COOKIE_LENGTH);
    }
    return this.make(option.subarray(0, CLIENT_COOKIE_LENGTH), clientAddress);
  }

  /** The verdict for a query's cookie; `undefined` option data means the query had none. */
  judge(option: Uint8Array | undefined, clientAddress: string): CookieVerdict {
    if (!option) return 'none';
    if (option.length === CLIENT_COOKIE_LENGTH) return 'client-only';
    return this.verify(option.subarray(0, CLIENT_COOKIE_LENGTH), option.subarray(CLIENT_COOKIE_LENGTH), clientAddress) ? 'valid' : 'bad';
  }

  private hash(secret: Uint8Array, clientCookie: Uint8Array, header: Uint8Array, clientAddress: string): Uint8Array {
    let ip = this.addressBytes.get(clientAddress);
    if (!ip) {
      const family = isIP(clientAddress);
      ip = family === 4 ? parseIpv4(clientAddress) : family === 6 ? parseIpv6(clientAddress) : new Uint8Array(0);
      if (this.addressBytes.size >= 10_000) this.addressBytes.clear();
      this.addressBytes.set(clientAddress, ip);
    }
    const input = new Uint8Array(CLIENT_COOKIE_LENGTH + 8 + ip.length);
    input.set(clientCookie);
    input.set(header, CLIENT_COOKIE_LENGTH);
    input.set(ip, CLIENT_COOKIE_LENGTH + 8);
    return siphash24(secret, input);
  }
}

export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** RFC 7873 §4: the COOKIE option is 8 bytes, or 16 to 40; anything else is FORMERR (§5.2.2). */
export function isWellFormedCookie(data: Uint8Array): boolean {
  return data.length === CLIENT_COOKIE_LENGTH || (data.length >= 16 && data.length <= 40);
}
