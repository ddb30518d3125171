import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlClient, ControlClientError } from '../../src/cli/control-client.js';
import { formatFields, formatTable } from '../../src/cli/table.js';
import { parseSocketAddress } from '../../src/config/socket-address.js';
import { writeFileAtomic } from '../../src/storage/atomic-file.js';
import { ControlApi } from '../../src/control/control-api.js';
import { ControlError, ControlResponse, ControlRouter } from '../../src/control/control-router.js';
import { createLogger, logDnssecEvent, logEvent, type Logger } from '../../src/logging/logger.js';
import { route } from '../../src/control-contract/route.js';

const HOST = '127.10.0.6';

type ReplyBody = { error: { code: string; message: string; details?: unknown }; pid?: number };

/** The parsed JSON body of a control API reply. */
async function bodyOf(res: Response): Promise<ReplyBody> {
  return (await res.json()) as ReplyBody;
}

/** A logger whose JSON lines land in `lines`. */
function memoryLogger(level: 'debug' | 'info' = 'debug'): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString().split('\n')) if (text !== '') lines.push(JSON.parse(text));
      done();
    },
  });
  return { logger: createLogger({ level, destination: stream }), lines };
}

describe('ControlApi in process', () => {
  let dir: string;
  let api: ControlApi;
  let token: string;
  let base: string;
  let lines: Record<string, unknown>[];

  const call = (path: string, init: RequestInit = {}, bearer: string | null = token) =>
    fetch(`${base}${path}`, { ...init, headers: { ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...init.headers } });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keymaster-control-api-'));
    const memory = memoryLogger();
    lines = memory.lines;
    api = new ControlApi({ address: parseSocketAddress(`${HOST}:0`), stateDir: join(dir, 'state'), logger: memory.logger, maxBodyBytes: 1024 });
    api.registerRoute(route('GET', '/v1/zones/:zone'), ({ params, query }) => ({ zone: params['zone'], verbose: query.get('verbose') }));
    api.registerRoute(route('GET', '/v1/zones/list'), () => ({ literal: true }));
    api.registerRoute(route('POST', '/v1/zones'), ({ body }) => new ControlResponse(201, { created: body }));
    api.registerRoute(route('DELETE', '/v1/zones/:zone'), () => undefined);
    api.registerRoute(route('POST', '/v1/conflict'), () => {
      throw new ControlError(409, 'exists', 'zone already exists', { zone: 'a.' });
    });
    api.registerRoute(route('GET', '/v1/crash'), async () => {
      throw new Error('secret internal detail');
    });
    await api.start();
    base = `http://${HOST}:${api.address.port}`;
    token = (await readFile(join(dir, 'state', 'control.token'), 'utf8')).trim();
  });

  afterAll(async () => {
    await api?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('binds the port it was given (0: a free one) and writes the token atomically, 0600, no temp files left', async () => {
    expect(api.address.host).toBe(HOST);
    expect(api.address.port).toBeGreaterThan(0);
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect((await stat(join(dir, 'state', 'control.token'))).mode & 0o777).toBe(0o600);
    expect(await readdir(join(dir, 'state'))).toEqual(['control.token']);
  });

  it('routes with :params (URL-decoded), query strings, and literals before params', async () => {
    expect(await (await call('/v1/zones/home.arpa.?verbose=1')).json()).toEqual({ zone: 'home.arpa.', verbose: '1' });
    expect(await (await call('/v1/zones/a%2Fb')).json()).toEqual({ zone: 'a/b', verbose: null });
    expect(await (await call('/v1/zones/list')).json()).toEqual({ literal: true });
  });

  it('passes JSON bodies in and out, with the status a handler asks for', async () => {
    const created = await call('/v1/zones', { method: 'POST', body: JSON.stringify({ name: 'a.' }), headers: { 'content-type': 'application/json' } });
    expect(created.status).toBe(201);
    expect(await created.json()).toEqual({ created: { name: 'a.' } });
    const deleted = await call('/v1/zones/a.', { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    expect(await deleted.text()).toBe('');
  });

  it('turns ControlError into its status and a JSON error; other exceptions into a logged 500 that leaks nothing', async () => {
    const conflict = await call('/v1/conflict', { method: 'POST' });
    expect(conflict.status).toBe(409);
    expect(await conflict.json()).toEqual({ error: { code: 'exists', message: 'zone already exists', details: { zone: 'a.' } } });
    const crash = await call('/v1/crash');
    expect(crash.status).toBe(500);
    const text = await crash.text();
    expect(text).not.toContain('secret');
    expect(JSON.parse(text).error.code).toBe('internal');
    expect(lines.find((l) => l['event'] === 'control.handler-failed')).toMatchObject({ level: 'error', url: '/v1/crash' });
  });

  it('answers 405 with the allowed methods, 404 for unknown paths, 400 for bad JSON, 413 over the size limit', async () => {
    const wrongMethod = await call('/v1/zones', { method: 'PUT' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
    expect((await bodyOf(wrongMethod)).error.details).toEqual({ allowed: ['POST'] });
    expect((await call('/v1/zones/a./keys')).status).toBe(404);
    const badJson = await call('/v1/zones', { method: 'POST', body: '{nope' });
    expect(badJson.status).toBe(400);
    expect((await bodyOf(badJson)).error.code).toBe('bad-json');
    const big = await call('/v1/zones', { method: 'POST', body: JSON.stringify({ pad: 'x'.repeat(2000) }) });
    expect(big.status).toBe(413);
    expect((await bodyOf(big)).error.code).toBe('body-too-large');
  });

  it('checks the token before routing', async () => {
    expect((await call('/v1/zones/list', {}, null)).status).toBe(401);
    expect((await call('/v1/no-such-route', {}, 'wrong')).status).toBe(401);
    expect((await call('/v1/zones/list', {}, `${token}x`)).status).toBe(401);
  });

  it('logs every request at debug level as control.request', () => {
    expect(lines.filter((l) => l['event'] === 'control.request').length).toBeGreaterThan(5);
    expect(lines.find((l) => l['event'] === 'control.request' && l['status'] === 201)).toMatchObject({ level: 'debug', method: 'POST', url: '/v1/zones' });
  });

  it('is reachable through ControlClient, whose errors say what went wrong', async () => {
    const client = new ControlClient(api.address, token);
    expect(await client.get('/v1/zones/x.')).toEqual({ zone: 'x.', verbose: null });
    expect(await client.request('POST', '/v1/zones', { name: 'b.' })).toEqual({ created: { name: 'b.' } });
    await expect(client.request('POST', '/v1/conflict')).rejects.toMatchObject({ kind: 'http', status: 409, code: 'exists', message: 'zone already exists' });
    await expect(new ControlClient(api.address, 'wrong').get('/v1/zones/x.')).rejects.toMatchObject({ kind: 'unauthorized', status: 401 });
    const stopped = new ControlClient(parseSocketAddress(`${HOST}:1`), token);
    await expect(stopped.get('/v1/status')).rejects.toBeInstanceOf(ControlClientError);
    await expect(stopped.get('/v1/status')).rejects.toMatchObject({ kind: 'not-running' });
  });

  it('rejects registering the same route twice, and malformed patterns', () => {
    expect(() => api.registerRoute(route('GET', '/v1/zones/:name'), () => 1)).toThrow(/already registered as \/v1\/zones\/:zone/);
    expect(() => api.registerRoute(route('GET', 'v1/x'), () => 1)).toThrow(/must start with/);
    expect(() => new ControlRouter().registerRoute('GET', '/v1/:bad-name', () => 1)).toThrow(/bad parameter/);
  });
});

describe('ControlApi start-up', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keymaster-control-start-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a non-loopback address before touching the state dir', async () => {
    for (const address of ['0.0.0.0:5380', '192.0.2.1:5380', '[::]:5380']) {
      const api = new ControlApi({ address: parseSocketAddress(address), stateDir: join(dir, 'never'), logger: memoryLogger().logger });
      await expect(api.start()).rejects.toThrow(/listens only on loopback/);
    }
    await expect(stat(join(dir, 'never'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('reuses an existing token and tightens its permissions, logging a warning', async () => {
    const stateDir = join(dir, 'existing');
    await mkdir(stateDir);
    await writeFile(join(stateDir, 'control.token'), 'abc123\n');
    await chmod(join(stateDir, 'control.token'), 0o644);
    const { logger, lines } = memoryLogger('info');
    const api = new ControlApi({ address: parseSocketAddress(`${HOST}:0`), stateDir, logger });
    await api.start();
    try {
      expect((await stat(join(stateDir, 'control.token'))).mode & 0o777).toBe(0o600);
      expect(lines.map((l) => l['event'])).toEqual(['control.token-permissions-fixed']);
      expect(lines[0]).toMatchObject({ level: 'warn' });
      expect(await new ControlClient(api.address, 'abc123').request('GET', '/v1/none').catch((e: ControlClientError) => e.status)).toBe(404);
    } finally {
      await api.stop();
    }
  });

  it('reports a port in use', async () => {
    const first = new ControlApi({ address: parseSocketAddress(`${HOST}:0`), stateDir: join(dir, 'a'), logger: memoryLogger().logger });
    await first.start();
    try {
      const second = new ControlApi({ address: first.address, stateDir: join(dir, 'b'), logger: memoryLogger().logger });
      await expect(second.start()).rejects.toThrow(`control API cannot listen on ${HOST}:${first.address.port}: EADDRINUSE`);
    } finally {
      await first.stop();
    }
  });
});

describe('writeFileAtomic', () => {
  it('replaces a file whole, with the mode asked for, leaving no temp file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keymaster-atomic-'));
    try {
      const path = join(dir, 'anchors.json');
      await writeFileAtomic(path, 'old', 0o644);
      await writeFileAtomic(path, new TextEncoder().encode('new'), 0o600);
      expect(await readFile(path, 'utf8')).toBe('new');
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      expect(await readdir(dir)).toEqual(['anchors.json']);
      await expect(writeFileAtomic(join(dir, 'missing-dir', 'x'), 'x')).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('logger events', () => {
  it('logEvent writes a stable event name that fields cannot overwrite', () => {
    const { logger, lines } = memoryLogger('info');
    logEvent(logger, 'server.started', { event: 'spoofed', port: 53 }, { msg: 'up' });
    logEvent(logger, 'quiet.detail', {}, { level: 'debug' });
    expect(lines).toEqual([{ level: 'info', time: expect.any(String), pid: process.pid, event: 'server.started', port: 53, msg: 'up' }]);
  });

  it('logDnssecEvent adds the Microsoft event id and the catalogued level', () => {
    const { logger, lines } = memoryLogger('info');
    logDnssecEvent(logger, 'zone.signed', { zone: 'home.arpa.' });
    logDnssecEvent(logger, 'key.zsk-rollover-stage', { zone: 'home.arpa.', stage: 'prepublish' });
    logDnssecEvent(logger, 'validation.failed', { name: 'www.example.', reason: 'signature expired' });
    logDnssecEvent(logger, 'trust-anchor.state-changed', { zone: '.', from: 'AddPend', to: 'Valid' }, { level: 'warn', eventId: 9999 });
    expect(lines.map((l) => [l['event'], l['eventId'], l['level']])).toEqual([
      ['zone.signed', 7646, 'info'],
      ['key.zsk-rollover-stage', 785, 'info'],
      ['validation.failed', undefined, 'warn'],
      ['trust-anchor.state-changed', 9999, 'warn'],
    ]);
    expect(lines[0]).toMatchObject({ zone: 'home.arpa.' });
  });
});

describe('table formatting', () => {
  it('aligns columns under a dashed rule, right-aligning where asked', () => {
    const rows = [
      { zone: 'example.', state: 'Valid', tag: '20326' },
      { zone: 'home.arpa.', state: 'AddPend', tag: '7' },
    ];
    const text = formatTable(
      [
        { header: 'Zone', value: (r: (typeof rows)[number]) => r.zone },
        { header: 'State', value: (r) => r.state },
        { header: 'KeyTag', value: (r) => r.tag, align: 'right' },
      ],
      rows,
    );
    expect(text).toBe(['Zone        State    KeyTag', '----        -----    ------', 'example.    Valid     20326', 'home.arpa.  AddPend       7'].join('\n'));
    expect(formatFields([['Version', '0.1.0'], ['State dir', '/var']])).toBe('Version   : 0.1.0\nState dir : /var');
  });
});
