import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ControlApi } from './control-api.js';
import { ControlError } from './control-router.js';
import type { ConsoleSessions } from './console-sessions.js';
import { RAW_PATHS } from '../control-contract/routes.js';

/** The pages: plain HTML, CSS and JavaScript in the repository, read once at start (no build step, no CDN). */
const ASSETS: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

/** Only our own files, no inline script, never framed, nothing sent to another site. */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** `src/control/console/`, from the compiled dist/control/ or from the sources. */
export function consoleAssetDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'console'), resolve(here, '../../src/control/console')];
  const found = candidates.find((dir) => existsSync(join(dir, 'index.html')));
  if (!found) throw new Error(`the web console's pages are missing (looked in ${candidates.join(', ')})`);
  return found;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { ...SECURITY_HEADERS, ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text);
}

function fail(res: ServerResponse, error: ControlError): void {
  sendJson(res, error.status, { error: { code: error.code, message: error.message } });
}

async function readSmallJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 4096) throw new ControlError(413, 'body-too-large', 'a login is a token, not a file');
    chunks.push(chunk);
  }
  try {
    const value = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new ControlError(400, 'bad-json', 'expected {"token": "..."}');
}

/**
 * The web console on the control address: `/console/` and its files without a login (they hold no
 * data), `/console/login` trading the control token for a session cookie, `/console/session` for
 * the page's CSRF token, `/console/logout`. Every view then calls the same `/v1/` routes as the
 * CLI, authenticated by the cookie (see ConsoleSessions).
 */
/** Served over TLS (the console's HTTPS address): the cookie is then `Secure` and the origin https. */
function overTls(req: IncomingMessage): boolean {
  return (req.socket as { encrypted?: boolean }).encrypted === true;
}

export function registerConsoleRoutes(api: ControlApi, sessions: ConsoleSessions): void {
  const dir = consoleAssetDir();
  const files = new Map(Object.entries(ASSETS).map(([name, type]) => [name, { type, body: readFileSync(join(dir, name)) }]));
  const page = (name: string) => (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return fail(res, new ControlError(405, 'method-not-allowed', 'GET only'));
    if (!sessions.hostAllowed(req)) return fail(res, new ControlError(403, 'forbidden-host', 'the console answers only as this machine (Host header)'));
    const file = files.get(name)!;
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': file.type, 'content-length': file.body.length });
    res.end(req.method === 'HEAD' ? undefined : file.body);
  };
  api.registerRawRoute(RAW_PATHS.root, (_req, res) => void res.writeHead(302, { location: '/console/', ...SECURITY_HEADERS }).end());
  api.registerRawRoute(RAW_PATHS.console, (_req, res) => void res.writeHead(302, { location: '/console/', ...SECURITY_HEADERS }).end());
  api.registerRawRoute(RAW_PATHS.consoleIndex, page('index.html'));
  api.registerRawRoute(RAW_PATHS.consoleScript, page('app.js'));
  api.registerRawRoute(RAW_PATHS.consoleStyle, page('app.css'));

  api.registerRawRoute(RAW_PATHS.consoleLogin, async (req, res) => {
    try {
      if (req.method !== 'POST') throw new ControlError(405, 'method-not-allowed', 'POST only');
      // A login from another origin would plant a session of the attacker's choosing (login CSRF).
      if (!sessions.hostAllowed(req) || !sessions.sameOrigin(req, overTls(req))) throw new ControlError(403, 'cross-origin', 'log in from the console page itself');
      const body = await readSmallJson(req);
      const token = typeof body['token'] === 'string' ? body['token'].trim() : '';
      const { id, csrf } = sessions.login(api.isToken(token));
      sendJson(res, 200, { csrf }, { 'set-cookie': sessions.cookie(id, overTls(req)) });
    } catch (error) {
      if (error instanceof ControlError) fail(res, error);
      else throw error;
    }
  });
  api.registerRawRoute(RAW_PATHS.consoleLogout, (req, res) => {
    if (req.method !== 'POST') return fail(res, new ControlError(405, 'method-not-allowed', 'POST only'));
    if (!sessions.sameOrigin(req, overTls(req))) return fail(res, new ControlError(403, 'cross-origin', 'log out from the console page itself'));
    sessions.logout(req);
    sendJson(res, 200, { loggedOut: true }, { 'set-cookie': sessions.cookie('', overTls(req)) });
  });
  api.registerRawRoute(RAW_PATHS.consoleSession, (req, res) => {
    if (!sessions.hostAllowed(req)) return fail(res, new ControlError(403, 'forbidden-host', 'the console answers only as this machine (Host header)'));
    const csrf = sessions.csrfOf(req);
    if (csrf === undefined) return fail(res, new ControlError(401, 'unauthorized', 'not logged in'));
    sendJson(res, 200, { csrf });
  });
  api.setAlternativeAuthentication((req) => sessions.authenticate(req, overTls(req)));
}
