/**
 * The web console in Debian's Chromium (playwright-core): log in with the token; a trust anchor
 * added from a dsset- file and a key of the zone entering AddPend with its countdown; a policy
 * rule added and removed; a live ZSK rollover on a lab-timer zone advancing on the key timeline
 * (the Roll button pressed in the page); `explain` of a bogus name with the failing link marked;
 * and the refusals: no page data without the token, no change from another origin (a page on the
 * same host, another port: same site, so only the Origin and CSRF checks stop it). Screenshots
 * of the main views go to test-artifacts/console/.
 */
import { createServer, request, type Server } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KeymasterServer, haveTool, removeDir, startKeymaster, tempDir } from '../support/external-servers.js';
import { LAB_ROLLOVER_TIMERS, sleep, zoneKeys } from '../support/live-rollover.js';
import { CHROMIUM, launchChromium, screenshot } from '../support/console-browser.js';

const AUTH = '127.10.196.1';
const CONSOLE = '127.10.196.2';
const ORIGIN = `http://${CONSOLE}:5380`;
const SIGNING = (rfc5011: boolean) => `{ rfc5011: ${rfc5011}, dnskeyTtl: 2s, dsTtl: 2s, signatureInception: 1h, dnskeySignatureValidity: 2h, dsSignatureValidity: 2h, signatureValidity: 2h }`;
const zoneText = (ns: string) => `$TTL 2\n@ SOA ns hostmaster 1 60 30 600 2\n@ NS ns\nns A ${ns}\nwww A 192.0.2.80\n`;

function raw(method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: CONSOLE, port: 5380, method, path, headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe.skipIf(!haveTool(CHROMIUM))('the web console in Chromium', () => {
  let dir: string;
  let auth: KeymasterServer;
  let server: KeymasterServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let evil: Server;
  let token: string;

  beforeAll(async () => {
    dir = tempDir('console');
    writeFileSync(join(dir, 't5011.zone'), zoneText(AUTH));
    writeFileSync(join(dir, 'bogus.zone'), zoneText(AUTH));
    writeFileSync(join(dir, 'roll.zone'), zoneText(CONSOLE));
    writeFileSync(join(dir, 'plain.zone'), zoneText(CONSOLE));
    auth = await startKeymaster({
      address: AUTH, control: `${AUTH}:5380`, rootHints: 'builtin', forwarders: ['127.10.196.254'], dnssecYaml: LAB_ROLLOVER_TIMERS,
      extraYaml: `zones:\n  - { name: t5011.example., file: ${JSON.stringify(join(dir, 't5011.zone'))}, signing: ${SIGNING(true)} }\n` +
        `  - { name: bogus.example., file: ${JSON.stringify(join(dir, 'bogus.zone'))}, signing: ${SIGNING(false)} }\n`,
    });
    server = await startKeymaster({
      address: CONSOLE, control: `${CONSOLE}:5380`, rootHints: 'builtin', forwarders: [AUTH], validation: true, dnssecYaml: LAB_ROLLOVER_TIMERS,
      trustAnchorsYaml: '  rfc5011: { addHoldDown: 30d, removeHoldDown: 30d, minRefresh: 1h }\n',
      extraYaml: `zones:\n  - { name: roll.test., file: ${JSON.stringify(join(dir, 'roll.zone'))}, signing: ${SIGNING(false)} }\n` +
        `  - { name: plain.test., file: ${JSON.stringify(join(dir, 'plain.zone'))} }\n`,
    });
    token = readFileSync(join(server.stateDir, 'control.token'), 'utf8').trim();
    // A wrong DS for bogus.example.: every answer under it is bogus.
    const bad = await server.cli(['trust-anchor', 'add', 'bogus.example.', '--ds', `12345 13 2 ${'ab'.repeat(32)}`]);
    expect(bad.code, bad.stderr).toBe(0);
    // Another origin on the same host (a different port is the same site): it tries to add a rule.
    evil = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><script>
        fetch('${ORIGIN}/v1/policy', { method: 'POST', credentials: 'include', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ namespace: '.evil.example', mode: 'no-validation' }) })
          .then(() => document.title = 'sent', () => document.title = 'blocked');
      </script>`);
    });
    await new Promise<void>((r) => evil.listen(8080, CONSOLE, () => r()));
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => (evil ? evil.close(r) : r(undefined)));
    await server?.stop();
    await auth?.stop();
    if (dir) removeDir(dir);
  });

  it('refuses without the token: the login page, and 401 from every route', async () => {
    await page.goto(`${ORIGIN}/console/`);
    await page.waitForSelector('#login:not([hidden])');
    expect(await page.isHidden('#nav')).toBe(true);
    expect(await page.evaluate(() => fetch('/v1/status').then((r) => r.status))).toBe(401);
    await page.fill('#token', 'not-the-token');
    await page.click('#login-form button');
    await page.waitForSelector('#login-error:text("wrong token")');
    await screenshot(page, 'login');
  });

  it('logs in with the token and shows the server status; the cookie is HttpOnly and SameSite=Strict', async () => {
    await page.fill('#token', token);
    await page.click('#login-form button');
    await page.waitForSelector('#nav:not([hidden])');
    await page.waitForSelector('text=Server status');
    expect(await page.textContent('#view')).toContain(server.stateDir);
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: 'keymaster_session', httpOnly: true, sameSite: 'Strict', secure: false });
    expect(await page.evaluate('document.cookie')).toBe(''); // not readable by scripts
    await screenshot(page, 'status');
  });

  it('adds a trust anchor from a dsset file and shows the zone\'s other KSK in AddPend with its countdown', async () => {
    // The dsset with only the active KSK's DS: the standby KSK is then new to the trust point.
    const active = (await zoneKeys(auth, 't5011.example.')).find((k) => k.role === 'ksk' && k.state === 'Active')!;
    const dsset = readFileSync(join(auth.stateDir, 'dsset-t5011.example.'), 'utf8').split('\n').filter((l) => l.includes(` ${active.keyTag} `)).join('\n');
    const file = join(dir, 'dsset-t5011.example.');
    writeFileSync(file, `${dsset}\n`);
    await page.click('nav a[href="#/trust-points"]');
    await page.waitForSelector('#import-form');
    await page.setInputFiles('#anchor-file', file);
    await page.click('#import-form button');
    await page.waitForSelector('h3[id="tp-t5011.example."]');
    await page.click('h3[id="tp-t5011.example."] ~ button:text("Refresh now")');
    const addPend = page.locator('tr.anchor[data-state="AddPend"]');
    await addPend.first().waitFor();
    const when = await addPend.first().locator('.countdown').textContent();
    expect(when).toMatch(/^in (29d 23h|30d)/);
    expect(await addPend.first().locator('td').nth(5).textContent()).toBe('Valid');
    await screenshot(page, 'trust-points');
  });

  it('adds and removes a policy rule', async () => {
    await page.click('nav a[href="#/policy"]');
    await page.fill('#policy-form input[name="namespace"]', '.corp.example');
    await page.selectOption('#policy-form select[name="mode"]', 'require');
    await page.click('#policy-form button');
    await page.waitForSelector('tr.rule[data-namespace=".corp.example"]');
    expect(JSON.parse((await server.cli(['policy', 'list', '--json'])).stdout).rules.map((r: { namespace: string }) => r.namespace)).toContain('.corp.example');
    await screenshot(page, 'policy');
    await page.click('tr.rule[data-namespace=".corp.example"] button');
    await page.waitForSelector('tr.rule[data-namespace=".corp.example"]', { state: 'detached' });
    expect(JSON.parse((await server.cli(['policy', 'list', '--json'])).stdout).rules.map((r: { namespace: string }) => r.namespace)).not.toContain('.corp.example');
  });

  it('rolls a ZSK from the zone page and the timeline follows the rollover to its end', async () => {
    await page.goto(`${ORIGIN}/console/#/zones/roll.test.`);
    await page.waitForSelector('tr.key');
    const zsk = (await zoneKeys(server, 'roll.test.')).find((k) => k.role === 'zsk' && k.state === 'Active')!;
    const row = page.locator(`tr.key[data-key-tag="${zsk.keyTag}"]`);
    expect(await row.getAttribute('data-status')).toBe('NotRolling');
    await row.locator('button:text("Roll")').click();
    const seen = new Set<string>();
    let shot = false;
    const deadline = Date.now() + 40_000;
    for (;;) {
      await page.waitForSelector(`tr.key[data-key-tag="${zsk.keyTag}"]`);
      const status = (await row.getAttribute('data-status'))!;
      const state = (await row.locator('td').nth(2).textContent())!;
      seen.add(`${state}/${status}`);
      if (status.includes('WaitingFor') && !shot) shot = await screenshot(page, 'zone-rollover').then(() => true);
      if (state === 'Retired') break;
      if (Date.now() > deadline) throw new Error(`the rollover did not finish: ${[...seen].join(', ')}`);
      await sleep(500);
      await page.reload();
    }
    // A waiting step shown on the way, and the end: the old key retired.
    expect([...seen].some((s) => s.includes('WaitingFor'))).toBe(true);
    expect([...seen].at(-1)).toMatch(/^Retired\//);
  }, 60_000);

  it('signs an unsigned zone with the defaults from the wizard', async () => {
    await page.goto(`${ORIGIN}/console/#/zones/plain.test.`);
    await page.click('button:text("Sign with the defaults")');
    await page.waitForSelector('tr.key');
    expect(await page.locator('tr.key').count()).toBeGreaterThanOrEqual(2);
    await screenshot(page, 'zone');
  });

  it('signing the signed zone again shows the server\'s preview and signs only when confirmed', async () => {
    const zskRollover = async () => (JSON.parse((await server.cli(['zone', 'show', 'plain.test.', '--json'])).stdout) as { policy: { zskRollover: number } }).policy.zskRollover;
    await page.goto(`${ORIGIN}/console/#/zones/plain.test.`);
    await page.waitForSelector('tr.key');
    await page.fill('input[name="zskRollover"]', '30');
    const asked: string[] = [];
    page.once('dialog', (d) => void (asked.push(d.message()), d.dismiss()));
    await page.click('button:text("Sign with these")');
    await page.waitForSelector('#toast:has-text("not confirmed")');
    expect(asked[0]).toMatch(/plain\.test\. is signed[\s\S]*zskRollover: 90d → 30d/);
    expect(await zskRollover()).toBe(90 * 86400);

    await page.fill('input[name="zskRollover"]', '30');
    page.once('dialog', (d) => void d.accept());
    await page.click('button:text("Sign with these")');
    await page.waitForSelector('#toast:has-text("plain.test. signed")');
    expect(await zskRollover()).toBe(30 * 86400);
  });

  it('explains a bogus name as a chain of trust with the failing link marked', async () => {
    await page.click('nav a[href="#/explain"]');
    await page.fill('#explain-name', 'www.bogus.example.');
    await page.click('#explain-form button');
    const failing = page.locator('.chain li.failing');
    await failing.waitFor();
    expect(await failing.count()).toBe(1);
    expect(await failing.getAttribute('data-state')).toBe('bogus');
    expect(await failing.textContent()).toContain('failing link');
    expect(await page.textContent('#explain-result')).toContain('SERVFAIL');
    await screenshot(page, 'explain');
  });

  it('refuses a change from another origin, even on the same host with the session cookie', async () => {
    const other = await context.newPage();
    await other.goto(`http://${CONSOLE}:8080/`);
    await other.waitForFunction("document.title === 'sent' || document.title === 'blocked'");
    await other.close();
    expect(server.log()).not.toContain('.evil.example');
    const rules = JSON.parse((await server.cli(['policy', 'list', '--json'])).stdout).rules.map((r: { namespace: string }) => r.namespace);
    expect(rules).not.toContain('.evil.example');
    // The same, request by request: the cookie alone is not enough to change anything.
    const cookie = `keymaster_session=${(await context.cookies())[0]!.value}`;
    const csrf = JSON.parse((await raw('GET', '/console/session', { cookie, host: `${CONSOLE}:5380` })).body).csrf as string;
    const body = JSON.stringify({ namespace: '.evil.example', mode: 'no-validation' });
    const json = { cookie, 'content-type': 'application/json' };
    expect((await raw('POST', '/v1/policy', { ...json, origin: `http://${CONSOLE}:8080`, 'x-csrf-token': csrf }, body)).status).toBe(403);
    expect((await raw('POST', '/v1/policy', { ...json, origin: ORIGIN }, body)).status).toBe(403); // no CSRF token
    expect((await raw('POST', '/v1/policy', { ...json, origin: ORIGIN, 'x-csrf-token': 'x'.repeat(43) }, body)).status).toBe(403);
    expect((await raw('GET', '/v1/status', { cookie, host: 'rebound.example:5380' })).status).toBe(403); // DNS rebinding
    expect((await raw('GET', '/v1/status', { cookie: 'keymaster_session=forged' })).status).toBe(401);
    expect((await raw('POST', '/console/login', { origin: `http://${CONSOLE}:8080`, 'content-type': 'application/json' }, JSON.stringify({ token }))).status).toBe(403);
    // And with everything right, it works: the checks are what refused the others.
    expect((await raw('GET', '/v1/status', { cookie })).status).toBe(200);
  });
});
