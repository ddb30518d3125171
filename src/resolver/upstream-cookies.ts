import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { LRUCache } from 'lru-cache';
import { siphash24 } from '../crypto/siphash.js';
import { EdnsOptionCode, findOption } from '../wire/edns.js';
import { parseIpv4, parseIpv6 } from '../wire/ip-address.js';
import type { EdnsOption, Message } from '../wire/message.js';
import { Rcode } from '../wire/message.js';
import type { ServerAddress } from './dns-transport.js';

/** What a reply's COOKIE option says (RFC 7873 §5.3). */
export type ReplyCookieVerdict =
  /** No COOKIE in the reply (the server does not do cookies), or ours echoed: use the reply. */
  | 'ok'
  /** The echoed client cookie is not the one sent: an off-path forgery. The reply is not used. */
  | 'spoofed'
  /** BADCOOKIE with our client cookie: the server's new cookie is kept; ask once more with it. */
  | 'retry';

export interface UpstreamCookieStats {
  sent: number;
  learned: number;
  spoofed: number;
  badcookie: number;
}

/**
 * Keymaster's own client cookies towards upstream servers (RFC 7873 §4.1, RFC 9018 §3): one per
 * server address, SipHash-2-4 of that address under a secret of this process, so a server (or an
 * observer) cannot link our queries to different servers; and the server cookie each one gave us,
 * sent back with every later query to it.
 */
export class UpstreamCookies {
  readonly stats: UpstreamCookieStats = { sent: 0, learned: 0, spoofed: 0, badcookie: 0 };
  private readonly serverCookies = new LRUCache<string, Uint8Array>({ max: 10_000 });
  private readonly clientCookies = new LRUCache<string, Uint8Array>({ max: 10_000 });

  constructor(private readonly secret: Uint8Array = randomBytes(16)) {}

  private clientCookie(server: ServerAddress): Uint8Array {
    let cookie = this.clientCookies.get(server.host);
    if (!cookie) {
      const family = isIP(server.host);
      const address = family === 4 ? parseIpv4(server.host) : family === 6 ? parseIpv6(server.host) : new TextEncoder().encode(server.host);
      cookie = siphash24(this.secret, address);
      this.clientCookies.set(server.host, cookie);
    }
    return cookie;
  }

  /** The COOKIE option for a query to `server`: our client cookie, and its server cookie once known. */
  optionFor(server: ServerAddress): EdnsOption {
    const client = this.clientCookie(server);
    const known = this.serverCookies.get(key(server));
    const data = new Uint8Array(8 + (known?.length ?? 0));
    data.set(client);
    if (known) data.set(known, 8);
    this.stats.sent++;
    return { code: EdnsOptionCode.COOKIE, data };
  }

  /** Checks a reply from `server` and learns its server cookie. */
  check(server: ServerAddress, reply: Message): ReplyCookieVerdict {
    const option = findOption(reply.edns, EdnsOptionCode.COOKIE);
    if (!option) return 'ok';
    const ours = this.clientCookie(server);
    const data = option.data;
    const echoed = data.subarray(0, 8);
    if (data.length < 8 || !echoed.every((b, i) => b === ours[i])) {
      this.stats.spoofed++;
      return 'spoofed';
    }
    if (data.length >= 16 && data.length <= 40) {
      if (!this.serverCookies.has(key(server))) this.stats.learned++;
      this.serverCookies.set(key(server), data.slice(8));
    }
    if (reply.rcode === Rcode.BADCOOKIE) {
      this.stats.badcookie++;
      return 'retry';
    }
    return 'ok';
  }
}

const key = (s: ServerAddress) => `${s.host}#${s.port}`;
