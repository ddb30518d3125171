import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ConsoleSessions, SESSION_IDLE_MS, SESSION_MAX_MS } from '../../src/control/console-sessions.js';
import { ControlError } from '../../src/control/control-router.js';

const req = (headers: Record<string, string>, method = 'GET') => ({ method, headers, socket: {} }) as unknown as IncomingMessage;
const HOST = '127.0.0.1:5380';

function refusal(run: () => unknown): number | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return error instanceof ControlError ? error.status : -1;
  }
}

describe('console sessions', () => {
  it('a wrong token gets no session; a right one a cookie that is HttpOnly, SameSite=Strict, Secure only over TLS', () => {
    const sessions = new ConsoleSessions();
    expect(refusal(() => sessions.login(false))).toBe(401);
    const { id } = sessions.login(true);
    expect(sessions.cookie(id, false)).toBe(`keymaster_session=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200`);
    expect(sessions.cookie(id, true)).toMatch(/; Secure$/);
    expect(sessions.cookie('', false)).toContain('Max-Age=0');
  });

  it('changes need the console origin and the session CSRF token; reads need a local Host', () => {
    const sessions = new ConsoleSessions();
    const { id, csrf } = sessions.login(true);
    const cookie = `other=1; keymaster_session=${id}`;
    expect(sessions.authenticate(req({ host: HOST }), false)).toBeUndefined(); // no cookie: the bearer token decides
    expect(sessions.authenticate(req({ host: HOST, cookie }), false)).toBe(true);
    expect(refusal(() => sessions.authenticate(req({ host: 'evil.example:5380', cookie }), false))).toBe(403);
    expect(refusal(() => sessions.authenticate(req({ host: HOST, cookie, 'sec-fetch-site': 'cross-site' }), false))).toBe(403);
    const change = (headers: Record<string, string>) => refusal(() => sessions.authenticate(req({ host: HOST, cookie, ...headers }, 'DELETE'), false));
    expect(change({ origin: `http://${HOST}`, 'x-csrf-token': csrf })).toBeUndefined();
    expect(change({ origin: `http://${HOST}` })).toBe(403);
    expect(change({ origin: 'http://127.0.0.1:8080', 'x-csrf-token': csrf })).toBe(403);
    expect(change({ origin: `https://${HOST}`, 'x-csrf-token': csrf })).toBe(403);
    expect(change({ 'x-csrf-token': csrf })).toBe(403);
    expect(change({ origin: `http://${HOST}`, 'x-csrf-token': `${csrf}x` })).toBe(403);
    expect(refusal(() => sessions.authenticate(req({ host: HOST, cookie: 'keymaster_session=forged' }), false))).toBe(401);
  });

  it('ends a session after an hour unused and twelve in all, and at logout', () => {
    let now = Date.UTC(2026, 0, 1);
    const sessions = new ConsoleSessions(() => now);
    const a = sessions.login(true);
    const cookie = (id: string) => req({ host: HOST, cookie: `keymaster_session=${id}` });
    now += SESSION_IDLE_MS - 1000;
    expect(sessions.csrfOf(cookie(a.id))).toBe(a.csrf);
    now += SESSION_IDLE_MS + 1;
    expect(sessions.csrfOf(cookie(a.id))).toBeUndefined();
    const b = sessions.login(true);
    for (let t = 0; t < SESSION_MAX_MS; t += SESSION_IDLE_MS / 2) {
      now += SESSION_IDLE_MS / 2;
      expect(sessions.csrfOf(cookie(b.id))).toBe(b.csrf); // kept busy
    }
    now += 1;
    expect(sessions.csrfOf(cookie(b.id))).toBeUndefined();
    const c = sessions.login(true);
    sessions.logout(cookie(c.id));
    expect(sessions.csrfOf(cookie(c.id))).toBeUndefined();
  });

  it('keeps at most 64 sessions, dropping the oldest', () => {
    const sessions = new ConsoleSessions();
    const first = sessions.login(true);
    for (let i = 0; i < 64; i++) sessions.login(true);
    expect(sessions.csrfOf(req({ host: HOST, cookie: `keymaster_session=${first.id}` }))).toBeUndefined();
  });
});
