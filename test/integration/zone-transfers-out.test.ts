import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KeymasterServer, haveTool, removeDir, startKeymaster, tempDir } from '../support/external-servers.js';
import { LAB_ROLLOVER_TIMERS, sleep, zoneKeys } from '../support/live-rollover.js';
import { type LabTsigKey, type PeerServer, followZone, startNamedSecondary, startNsdTsigSecondary } from '../support/secondary-servers.js';

/**
 * Keymaster as the primary of a signed zone, followed by a BIND (named) and an NSD secondary on
 * loopback 127.10.170.0/24, with TSIG on every transfer and NOTIFY: through `zone sign`, 100
 * dynamic updates (nsupdate) and a ZSK rollover, each secondary catches up by NOTIFY and
 * IXFR alone (their logs say IXFR for the updates), and the zone each one serves passes
 * dnssec-verify and ldns-verify-zone at every step. A transfer without the key, or with a
 * wrong one, is refused.
 */

const PRIMARY = '127.10.170.1';
const BIND = '127.10.170.2';
const NSD = '127.10.170.3';
const CLIENT = '127.10.170.4';
const ZONE = 'xfr.test.';
const XFR_KEY: LabTsigKey = { name: 'xfr-key', algorithm: 'hmac-sha256', secret: 'eGZyLWtleS1mb3Ita2V5bWFzdGVyLXRyYW5zZmVyLXRlc3Rz' };
const UPDATE_SECRET = 'dXBkYXRlLWtleS1mb3Ita2V5bWFzdGVyLXRyYW5zZmVycw==';

// Short TTLs and lab rollover timers: a ZSK rollover takes seconds.
const ZONE_TEXT = `$TTL 2
@       IN SOA ns hostmaster 1 3600 900 604800 2
@       IN NS  ns
@       IN NS  ns2
ns      IN A   ${PRIMARY}
ns2     IN A   ${BIND}
www     IN A   192.0.2.80
`;

const tools = ['named', 'nsd', 'nsupdate', 'dig', 'dnssec-verify', 'ldns-verify-zone', 'ip'].every(haveTool);

function nsupdate(script: string): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn('nsupdate', ['-y', `hmac-sha256:update-key:${UPDATE_SECRET}`, '-t', '10', '-v']);
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('exit', (code) => done({ code, output }));
    child.stdin.end(`server ${PRIMARY} 53\nlocal ${CLIENT}\nzone ${ZONE}\n${script}`);
  });
}

describe.skipIf(!tools)('Keymaster as a primary: BIND and NSD secondaries follow by NOTIFY and IXFR with TSIG', () => {
  let km: KeymasterServer;
  let named: PeerServer;
  let nsd: PeerServer;
  const dir = tempDir('xfr-out');
  const logs = { keymaster: () => km?.log(), named: () => named?.log(), nsd: () => nsd?.log() };
  const { describeAll, primarySerial, allAt: bothAt, verifyAll } = followZone({ dir, zone: ZONE, primary: PRIMARY, key: XFR_KEY, secondaries: { named: BIND, nsd: NSD }, logs });

  beforeAll(async () => {
    const file = join(dir, 'xfr.test.zone');
    writeFileSync(file, ZONE_TEXT);
    km = await startKeymaster({
      address: PRIMARY,
      control: '127.10.170.1:5380',
      rootHints: 'builtin',
      dnssecYaml: LAB_ROLLOVER_TIMERS,
      extraYaml:
        `tsigKeys:\n  - { name: ${XFR_KEY.name}, algorithm: hmac-sha256, secret: ${XFR_KEY.secret} }\n` +
        `zones:\n  - name: ${ZONE}\n    file: ${JSON.stringify(file)}\n` +
        // The transfer ACL by key only.
        `    allowTransfer: [{ key: ${XFR_KEY.name} }]\n` +
        `    notify: ["${BIND}", "${NSD}"]\n    tsig: ${XFR_KEY.name}\n` +
        `    update:\n      keys: [{ name: update-key, secret: ${UPDATE_SECRET} }]\n`,
    });
    const target = { host: PRIMARY, port: 53 };
    // One after the other, each kept as soon as it runs, so afterAll stops whatever started.
    named = await startNamedSecondary(BIND, 53, [ZONE], target, XFR_KEY);
    nsd = await startNsdTsigSecondary(NSD, 53, [ZONE], target, XFR_KEY);
    await bothAt(1);
  }, 90_000);

  afterAll(async () => {
    if (process.env['KEEP_LOGS']) writeFileSync('/tmp/xfr-out.log', describeAll(10_000_000));
    await Promise.all([km?.stop(), named?.stop(), nsd?.stop()]);
    removeDir(dir);
  });

  it('zone sign moves the serial on and both secondaries take the signed zone, which verifies', async () => {
    const r = await km.cli(['zone', 'sign', ZONE, '--dnskey-ttl', '2s', '--ds-ttl', '2s']);
    expect(r.code, r.stderr).toBe(0);
    const serial = await primarySerial();
    expect(serial).toBe(2);
    await bothAt(serial);
    verifyAll('signed');
    expect(km.log()).toMatch(/"event":"zone.notify-acknowledged".*"target":"127.10.170.2#53"/);
    expect(km.log()).toMatch(/"event":"zone.notify-acknowledged".*"target":"127.10.170.3#53"/);
  }, 60_000);

  it('100 updates reach both secondaries by IXFR, never AXFR, and every copy verifies', async () => {
    const before = await primarySerial();
    const transfers = () => km.log().match(/"event":"zone.transferred"[^\n]*/g) ?? [];
    const seen = transfers().length;
    for (let batch = 0; batch < 4; batch++) {
      const script = Array.from({ length: 25 }, (_, i) => `update add h${batch * 25 + i}.${ZONE} 2 A 192.0.2.${batch * 25 + i + 1}\nsend\n`).join('');
      const r = await nsupdate(script);
      expect(r.code, r.output).toBe(0);
      await bothAt(before + (batch + 1) * 25);
    }
    const after = await primarySerial();
    expect(after).toBe(before + 100);
    await bothAt(after);
    verifyAll('updated');
    // Every IXFR asked for was answered incrementally from the journal, TSIG-signed. BIND asked
    // only IXFR. NSD asks AXFR only after its own reload fell behind a burst of serials ("soa
    // serial N update failed, restarting transfer", its xfrd's recovery), never otherwise.
    const during = transfers().slice(seen);
    for (const line of during) expect(line).toMatch(/"key":"xfr-key\."/);
    const asked = (client: string, type: string) => during.filter((l) => l.includes(`"client":"${client}"`) && l.includes(`"type":"${type}"`));
    expect(during.filter((l) => l.includes('"type":"IXFR"') && !l.includes('"sent":"IXFR"'))).toEqual([]);
    expect(asked(BIND, 'IXFR').length).toBeGreaterThan(0);
    expect(asked(BIND, 'AXFR')).toEqual([]);
    expect(asked(NSD, 'IXFR').length).toBeGreaterThanOrEqual(4); // NOTIFYs are paced (1 s): each batch of 25 is told once or twice
    expect(asked(NSD, 'AXFR').length).toBeLessThanOrEqual((nsd.log().match(/update failed, restarting transfer/g) ?? []).length);
    // BIND's own log (xfer-in at debug 3): incremental answers only, since the sign.
    const bindXfers = named.log().slice(named.log().indexOf('transferred serial 2:'));
    expect(bindXfers).toMatch(/got incremental response/);
    expect(bindXfers).not.toMatch(/got nonincremental response/);
  }, 180_000);

  it('a ZSK rollover reaches both secondaries at every step, and every copy verifies', async () => {
    const zsk = (await zoneKeys(km, ZONE)).find((k) => k.keyType === 'ZoneSigningKey' && k.state === 'Active')!;
    let last = await primarySerial();
    const roll = await km.cli(['zone', 'roll', ZONE, zsk.keyId]);
    expect(roll.code, roll.stderr).toBe(0);
    const deadline = Date.now() + 90_000;
    let steps = 0;
    for (;;) {
      const keys = await zoneKeys(km, ZONE);
      const serial = await primarySerial();
      if (serial !== last) {
        await bothAt(serial);
        verifyAll(`roll-${++steps}`);
        last = serial;
      }
      if (!keys.some((k) => k.keyId === zsk.keyId && k.state !== 'Retired' && k.state !== 'Unpublished') || Date.now() > deadline) break;
      await sleep(500);
    }
    expect(steps).toBeGreaterThan(0);
    expect(Date.now()).toBeLessThan(deadline);
    await bothAt(await primarySerial());
    verifyAll('rolled');
  }, 150_000);

  it('a transfer without the key, or with a wrong one, is refused', async () => {
    const unsigned = spawnSync('dig', ['-b', CLIENT, `@${PRIMARY}`, ZONE, 'AXFR', '+time=5', '+tries=1'], { encoding: 'utf8' });
    expect(unsigned.stdout).toMatch(/Transfer failed|REFUSED/);
    const wrong = spawnSync('dig', ['-b', CLIENT, '-y', `hmac-sha256:${XFR_KEY.name}:d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC13cm9uZyE=`, `@${PRIMARY}`, ZONE, 'AXFR', '+time=5', '+tries=1'], { encoding: 'utf8' });
    expect(wrong.stdout + wrong.stderr).toMatch(/tsig verify failure|NOTAUTH|BADSIG|Transfer failed/i);
    expect(wrong.stdout).not.toMatch(/IN\s+DNSKEY/);
    const good = spawnSync('dig', ['-b', CLIENT, '-y', `hmac-sha256:${XFR_KEY.name}:${XFR_KEY.secret}`, `@${PRIMARY}`, ZONE, 'AXFR', '+time=5', '+tries=1'], { encoding: 'utf8' });
    expect(good.stdout).toMatch(/IN\s+DNSKEY/);
    expect(good.stdout + good.stderr).not.toMatch(/tsig verify failure|Transfer failed/i);
    // The log line may come a moment after the answer.
    for (let i = 0; i < 50 && !/"event":"zone.transfer-refused"[^\n]*"rcode":"NOTAUTH"/.test(km.log()); i++) await sleep(100);
    expect(km.log()).toMatch(/"event":"zone.transfer-refused"[^\n]*"rcode":"REFUSED"/);
    expect(km.log()).toMatch(/"event":"zone.transfer-refused"[^\n]*"rcode":"NOTAUTH"[^\n]*"reason":"TSIG: the MAC does not verify"/);
  });
});
