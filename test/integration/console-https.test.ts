/**
 * The console off loopback: with a certificate and `consoleListen`, the console (and the API
 * under it) is served over HTTPS, the session cookie is `Secure`, and it answers only to the
 * names and addresses in the certificate; /metrics stays on loopback.
 */
import { request } from 'node:https';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KeymasterServer, haveTool, removeDir, startKeymaster, tempDir } from '../support/external-servers.js';
import { CHROMIUM, CHROMIUM_ARGS, screenshot } from '../support/console-browser.js';
import { makeCertificate } from '../support/tls-certificate.js';
import { readFileSync } from 'node:fs';

const HOST = '127.10.197.1';

function get(path: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: HOST, port: 8443, path, headers: { host }, rejectUnauthorized: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe.skipIf(!haveTool(CHROMIUM) || !haveTool('openssl'))('the console over HTTPS on its own address', () => {
  let dir: string;
  let server: KeymasterServer;
  let browser: Browser;

  beforeAll(async () => {
    dir = tempDir('console-https');
    const cert = makeCertificate(dir, HOST, 'console.test', '', ['console.test']);
    server = await startKeymaster({
      address: HOST, control: `${HOST}:5380`, rootHints: 'builtin', forwarders: ['127.10.197.254'],
      extraYaml: `consoleListen: ["${HOST}:8443"]\ntls: { cert: ${JSON.stringify(cert.cert)}, key: ${JSON.stringify(cert.key)} }\n`,
    });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, `--host-resolver-rules=MAP console.test ${HOST}`] });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (dir) removeDir(dir);
  });

  it('logs in over HTTPS by the certificate\'s name with a Secure cookie', async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    await page.goto('https://console.test:8443/console/');
    await page.fill('#token', readFileSync(join(server.stateDir, 'control.token'), 'utf8').trim());
    await page.click('#login-form button');
    await page.waitForSelector('text=Server status');
    expect(await page.textContent('#view')).toContain(`${HOST}:8443`);
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: 'keymaster_session', secure: true, httpOnly: true, sameSite: 'Strict' });
    await screenshot(page, 'status-https');
    await context.close();
  });

  it('answers only to the names in the certificate, and keeps /metrics on loopback', async () => {
    expect(await get('/console/', 'console.test:8443')).toBe(200);
    expect(await get('/console/', `${HOST}:8443`)).toBe(200);
    expect(await get('/console/', 'other.test:8443')).toBe(403);
    expect(await get('/v1/status', 'console.test:8443')).toBe(401);
    expect(await get('/metrics', `${HOST}:8443`)).toBe(403);
  });
});
