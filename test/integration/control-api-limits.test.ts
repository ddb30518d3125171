/**
 * The control API under a local flood: thousands of idle connections that never send a request
 * (past the cap they are closed at accept, the rest when the headers deadline passes), requests
 * without the token answered and closed; and a stateDir that cannot work refused at start with
 * the reason, instead of the recursive mkdir that spun at 100 % CPU under /proc.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KeymasterServer, removeDir, startKeymaster, tempDir } from '../support/external-servers.js';

const HOST = '127.10.193.1';
const CONTROL_PORT = 5380;
const FLOOD = 3000;

function serve(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done) => {
    const child = execFile('node', [resolve('dist/cli/main.js'), 'serve', '--listen', '127.10.193.2:5300', '--control', '127.10.193.2:5380', '--root-anchors', 'none', ...args], { timeout: 30_000 }, (error, _stdout, stderr) =>
      done({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stderr }),
    );
    child.stdin?.end();
  });
}

describe('the control API holds up', () => {
  let server: KeymasterServer;

  beforeAll(async () => {
    server = await startKeymaster({ address: HOST, control: `${HOST}:${CONTROL_PORT}`, rootHints: 'builtin', forwarders: ['127.10.193.254'] });
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
  });

  it(`closes ${FLOOD} idle unauthenticated connections: past the cap at once, the rest at the headers deadline`, async () => {
    const started = Date.now();
    const closedAt: number[] = [];
    const sockets: Socket[] = [];
    await Promise.all(
      Array.from({ length: FLOOD }, () =>
        new Promise<void>((opened) => {
          const s = connect({ host: HOST, port: CONTROL_PORT });
          sockets.push(s);
          s.on('error', () => {});
          s.on('close', () => closedAt.push(Date.now() - started));
          s.on('connect', () => opened());
          s.on('close', () => opened());
        }),
      ),
    );
    // Every socket is closed by the server (we never end one); the deadline only bounds a failure.
    const deadline = Date.now() + 30_000;
    while (closedAt.length < FLOOD && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(closedAt.length).toBe(FLOOD);
    const sorted = [...closedAt].sort((a, b) => a - b);
    const last = sorted[sorted.length - 1]!;
    // Reported for the record (was ~30 s before the limits): the cap's share closed first.
    console.log(`control flood: ${FLOOD} idle connections, median closed after ${sorted[FLOOD >> 1]} ms, last after ${last} ms`);
    expect(server.log()).toContain('"control.connection-refused"');
    expect(server.alive()).toBe(true);
    const status = await server.cli(['status', '--json']);
    expect(status.code, status.stderr).toBe(0);
  }, 60_000);

  it('answers a request without the token with 401 and closes the connection', async () => {
    const reply = await new Promise<{ text: string; closed: boolean }>((done) => {
      const s = connect({ host: HOST, port: CONTROL_PORT }, () => s.write(`GET /v1/status HTTP/1.1\r\nHost: ${HOST}\r\nConnection: keep-alive\r\n\r\n`));
      let text = '';
      s.on('data', (d) => (text += d.toString()));
      s.on('close', () => done({ text, closed: true }));
      s.on('error', () => {});
    });
    expect(reply.text).toMatch(/^HTTP\/1\.1 401 /);
    expect(reply.text.toLowerCase()).toContain('connection: close');
    expect(reply.closed).toBe(true);
  });
});

describe('a stateDir that cannot work is refused at start', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir('statedir');
    writeFileSync(join(dir, 'a-file'), 'x');
  });
  afterAll(() => removeDir(dir));

  it.each([
    ['/proc/keymaster/state', /\/proc is on the kernel's proc filesystem/],
    ['/sys/kernel/keymaster', /sysfs filesystem/],
    ['FILE/state', /a-file is not a directory/],
  ])('%s', async (stateDir, why) => {
    const r = await serve(['--state-dir', stateDir.replace('FILE', join(dir, 'a-file'))]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(why);
  }, 40_000);
});
