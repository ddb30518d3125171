import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ControlError } from './control-router.js';
import { tokensEqual } from '../control-contract/control-token.js';
import { isLocalHostHeader } from './metrics-route.js';

export const SESSION_COOKIE = 'keymaster_session';
/** A session unused this long ends; the operator logs in again with the token. */
export const SESSION_IDLE_MS = 60 * 60_000;
/** And none lasts longer than a working day. */
export const SESSION_MAX_MS = 12 * 60 * 60_000;
/** Sessions at once; the oldest goes first (each login makes one). */
const MAX_SESSIONS = 64;

interface Session {
  readonly csrf: string;
  readonly created: number;
  lastUsed: number;
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The cookies of a request, by name (the first of each). */
function cookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 1) continue;
    const name = part.slice(0, eq).trim();
    if (!out.has(name)) out.set(name, part.slice(eq + 1).trim());
  }
  return out;
}

/**
 * The web console's logins. The browser presents the control token once, on the login page; it
 * gets a session cookie (`HttpOnly`, `SameSite=Strict`, `Path=/`, `Secure` over TLS) and a
 * per-session CSRF token that its pages send in `X-CSRF-Token`. A request authenticated by the
 * cookie is accepted only with a Host naming this machine (DNS rebinding), and, when it changes
 * state, only with an `Origin` equal to the console's own and the session's CSRF token: another
 * origin on the same host (a different port is the same site, so SameSite does not stop it) is
 * refused.
 */
export class ConsoleSessions {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly now: () => number = Date.now,
    /** Host headers besides loopback addresses and localhost that the console answers to (its HTTPS address's names). */
    private readonly extraHosts: () => readonly string[] = () => [],
  ) {}

  /** A new session after the token was checked; returns the cookie value and the CSRF token. */
  login(tokenIsRight: boolean): { id: string; csrf: string } {
    if (!tokenIsRight) throw new ControlError(401, 'unauthorized', 'wrong token');
    if (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    const id = randomBytes(32).toString('base64url');
    const csrf = randomBytes(32).toString('base64url');
    const t = this.now();
    this.sessions.set(id, { csrf, created: t, lastUsed: t });
    return { id, csrf };
  }

  logout(req: IncomingMessage): void {
    const id = cookies(req.headers.cookie).get(SESSION_COOKIE);
    if (id) this.sessions.delete(id);
  }

  /** The Set-Cookie header for a session (an empty value and Max-Age=0 ends it). */
  cookie(id: string, secure: boolean): string {
    const maxAge = id === '' ? 0 : Math.floor(SESSION_MAX_MS / 1000);
    return `${SESSION_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAge}${secure ? '; Secure' : ''}`;
  }

  /** The live session the request's cookie names, or undefined. */
  session(req: IncomingMessage): Session | undefined {
    const id = cookies(req.headers.cookie).get(SESSION_COOKIE);
    if (!id) return undefined;
    const s = this.sessions.get(id);
    if (!s) return undefined;
    const t = this.now();
    if (t - s.lastUsed > SESSION_IDLE_MS || t - s.created > SESSION_MAX_MS) {
      this.sessions.delete(id);
      return undefined;
    }
    s.lastUsed = t;
    return s;
  }

  /** The Host is one this console is served as. */
  hostAllowed(req: IncomingMessage): boolean {
    const host = req.headers.host;
    return isLocalHostHeader(host) || (host !== undefined && this.extraHosts().includes(host.toLowerCase()));
  }

  /** The request came from the console's own pages: its Origin is this Host, over the scheme served. */
  sameOrigin(req: IncomingMessage, secure: boolean): boolean {
    const origin = req.headers.origin;
    return origin !== undefined && origin === `${secure ? 'https' : 'http'}://${req.headers.host ?? ''}`;
  }

  /**
   * Authenticates a control API request by its session cookie; undefined when it carries none
   * (the bearer token is then required). Throws 401 for an unknown or expired session and 403
   * for a foreign Host, a foreign Origin, or a state change without the CSRF token.
   */
  authenticate(req: IncomingMessage, secure: boolean): true | undefined {
    if (!cookies(req.headers.cookie).has(SESSION_COOKIE)) return undefined;
    if (!this.hostAllowed(req)) throw new ControlError(403, 'forbidden-host', 'the console answers only as this machine (Host header)');
    const session = this.session(req);
    if (!session) throw new ControlError(401, 'unauthorized', 'the console session has ended; log in again');
    if (req.headers['sec-fetch-site'] === 'cross-site') throw new ControlError(403, 'cross-origin', 'request from another site');
    if (STATE_CHANGING.has((req.method ?? 'GET').toUpperCase())) {
      if (!this.sameOrigin(req, secure)) throw new ControlError(403, 'cross-origin', 'a change must come from the console itself (Origin)');
      const presented = req.headers['x-csrf-token'];
      if (typeof presented !== 'string' || !tokensEqual(presented, session.csrf)) throw new ControlError(403, 'csrf', 'missing or wrong X-CSRF-Token');
    }
    return true;
  }

  /** The CSRF token of the request's session (for the page that just loaded). */
  csrfOf(req: IncomingMessage): string | undefined {
    return this.session(req)?.csrf;
  }
}
