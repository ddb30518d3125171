import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KeymasterServer, type RunningServer, haveTool, removeDir, startKeymaster, startUnbound, tempDir } from '../support/external-servers.js';
import { LAB_ROLLOVER_TIMERS, type ValidationWatch, sleep, watchValidation } from '../support/live-rollover.js';
import { type LabTsigKey, type PeerServer, axfrText, followZone, startNamedSecondary, startNsdTsigSecondary } from '../support/secondary-servers.js';

/**
 * Issue 14 (Show): a safe unsign followed by secondaries, on loopback 127.10.200.0/24. Keymaster
 * hosts the signed parent `example.` and is the primary of the signed child `unsign.example.`,
 * whose NS are a BIND and an NSD secondary (TSIG transfers, NOTIFY). Two validating Unbounds, the
 * parent's keys as trust anchor, each reach the child through one secondary only (stub zone), and
 * ask every 300 ms through the whole `zone unsign`. The DS leaves the parent first; the
 * secondaries take every change by NOTIFY and IXFR; each signed copy passes dnssec-verify and
 * ldns-verify-zone; at the end they serve no DNSSEC record; no Unbound ever answers SERVFAIL.
 */

const PRIMARY = '127.10.200.1';
const BIND = '127.10.200.2';
const NSD = '127.10.200.3';
const UNBOUND_BIND = '127.10.200.4';
const UNBOUND_NSD = '127.10.200.5';
const ZONE = 'unsign.example.';
const XFR_KEY: LabTsigKey = { name: 'unsign-xfr', algorithm: 'hmac-sha256', secret: 'dW5zaWduLXNlY29uZGFyaWVzLWtleW1hc3Rlci10c2lnLWtleQ==' };

const PARENT = `$TTL 2\n@ SOA ns hostmaster 1 60 30 600 2\n@ NS ns\nns A ${PRIMARY}\nunsign NS ns1.unsign\nunsign NS ns2.unsign\nns1.unsign A ${BIND}\nns2.unsign A ${NSD}\n`;
// Refresh an hour: within the test the secondaries move only when told (NOTIFY).
const CHILD = `$TTL 2\n@ SOA primary hostmaster 1 3600 900 604800 2\n@ NS ns1\n@ NS ns2\nprimary A ${PRIMARY}\nns1 A ${BIND}\nns2 A ${NSD}\nwww A 192.0.2.80\n@ MX 10 www\n`;
const SIGNING = '{ dnskeyTtl: 2s, dsTtl: 3s, signatureInception: 1h, dnskeySignatureValidity: 2h, dsSignatureValidity: 2h, signatureValidity: 2h }';
const DNSSEC_TYPES = /\sIN\s+(RRSIG|DNSKEY|NSEC|NSEC3|NSEC3PARAM|CDS|CDNSKEY)\s/;

const tools = ['named', 'nsd', 'unbound', 'dig', 'dnssec-verify', 'ldns-verify-zone', 'ip'].every(haveTool);

function dig(server: string, args: string[]): string {
  try {
    return execFileSync('dig', [`@${server}`, '+tries=1', '+time=3', '+norec', ...args], { encoding: 'utf8' });
  } catch (error) {
    return String((error as { stdout?: unknown }).stdout ?? '');
  }
}

describe.skipIf(!tools)('a safe unsign followed by a BIND and an NSD secondary, watched by validating Unbounds', () => {
  const dir = tempDir('unsign-secondaries');
  let km: KeymasterServer;
  let named: PeerServer;
  let nsd: PeerServer;
  const unbounds: RunningServer[] = [];
  let watch: ValidationWatch | undefined;
  const logs = { keymaster: () => km?.log(), named: () => named?.log(), nsd: () => nsd?.log() };
  const { describeAll, primarySerial, allAt: bothAt, verifyAll } = followZone({ dir, zone: ZONE, primary: PRIMARY, key: XFR_KEY, secondaries: { named: BIND, nsd: NSD }, logs });

  beforeAll(async () => {
    writeFileSync(join(dir, 'parent.zone'), PARENT);
    writeFileSync(join(dir, 'child.zone'), CHILD);
    km = await startKeymaster({
      address: PRIMARY,
      control: `${PRIMARY}:5380`,
      rootHints: 'builtin',
      dnssecYaml: LAB_ROLLOVER_TIMERS,
      extraYaml:
        `tsigKeys:\n  - { name: ${XFR_KEY.name}, algorithm: hmac-sha256, secret: ${XFR_KEY.secret} }\n` +
        `zones:\n` +
        `  - { name: example., file: ${JSON.stringify(join(dir, 'parent.zone'))}, signing: ${SIGNING} }\n` +
        `  - name: ${ZONE}\n    file: ${JSON.stringify(join(dir, 'child.zone'))}\n    signing: ${SIGNING}\n` +
        `    allowTransfer: [{ key: ${XFR_KEY.name} }]\n    notify: ["${BIND}", "${NSD}"]\n    tsig: ${XFR_KEY.name}\n`,
    });
    const primary = { host: PRIMARY, port: 53 };
    named = await startNamedSecondary(BIND, 53, [ZONE], primary, XFR_KEY);
    nsd = await startNsdTsigSecondary(NSD, 53, [ZONE], primary, XFR_KEY);
    await bothAt(await primarySerial());
    const anchors = [readFileSync(join(km.stateDir, 'keyset-example.'), 'utf8')];
    // The parent from the primary (where the DS is removed); the child only from one secondary each.
    unbounds.push(await startUnbound(UNBOUND_BIND, 53, { stubs: { 'example.': `${PRIMARY}@53`, [ZONE]: `${BIND}@53` }, trustAnchors: anchors }));
    unbounds.push(await startUnbound(UNBOUND_NSD, 53, { stubs: { 'example.': `${PRIMARY}@53`, [ZONE]: `${NSD}@53` }, trustAnchors: anchors }));
    watch = watchValidation([['unbound→named', UNBOUND_BIND], ['unbound→nsd', UNBOUND_NSD]], [`www.${ZONE}`]);
  }, 90_000);

  afterAll(async () => {
    if (process.env['KEEP_LOGS']) writeFileSync('/tmp/unsign-secondaries.log', describeAll(10_000_000));
    await watch?.stop();
    await Promise.all([...unbounds.map((u) => u.stop()), km?.stop(), named?.stop(), nsd?.stop()]);
    removeDir(dir);
  });

  it('before: every copy of the signed child verifies, and both Unbounds validate it through the secondaries', async () => {
    verifyAll('signed');
    expect(dig(PRIMARY, [ZONE, 'DS', '+dnssec'])).toMatch(/IN\s+DS\s/);
    for (let i = 0; i < 50 && !['unbound→named', 'unbound→nsd'].every((via) => watch!.outcomes.some((o) => o.via === via && o.ok)); i++) await sleep(200);
    for (const via of ['unbound→named', 'unbound→nsd']) expect(watch!.outcomes.filter((o) => o.via === via && o.ok).length, `${via}: ${JSON.stringify(watch!.outcomes.slice(-4))}`).toBeGreaterThan(0);
  }, 30_000);

  it('zone unsign: the DS goes first, the secondaries follow by NOTIFY and IXFR to an unsigned zone, and no Unbound sees SERVFAIL', async () => {
    const transfers = () => km.log().match(/"event":"zone.transferred"[^\n]*/g) ?? [];
    const seen = transfers().length;
    const before = await primarySerial();
    const r = await km.cli(['zone', 'unsign', ZONE]);
    expect(r.code, r.stderr).toBe(0);
    // At once: the parent has no DS, while the child (primary and both secondaries) is still signed.
    expect(dig(PRIMARY, [ZONE, 'DS', '+dnssec'])).toMatch(/ANSWER: 0/);
    for (const server of [PRIMARY, BIND, NSD]) expect(dig(server, [ZONE, 'DNSKEY']), server).toMatch(/IN\s+DNSKEY\s+257/);

    // Each serial the primary serves on the way reaches both secondaries; each signed one verifies everywhere.
    let last = -1;
    let signedSteps = 0;
    const deadline = Date.now() + 40_000;
    for (;;) {
      const done = (await km.cli(['zone', 'show', ZONE, '--json'])).stdout.includes('"signed": false');
      const serial = await primarySerial();
      if (serial !== last) {
        await bothAt(serial);
        if (DNSSEC_TYPES.test(axfrText({ host: PRIMARY, port: 53 }, ZONE, XFR_KEY))) verifyAll(`unsigning-${++signedSteps}`);
        last = serial;
      }
      if (done) break;
      if (Date.now() > deadline) throw new Error(`unsign did not finish\n${describeAll()}`);
      await sleep(300);
    }
    const final = await primarySerial();
    await bothAt(final);
    for (const [label, server, key] of [['primary', PRIMARY, XFR_KEY], ['named', BIND, undefined], ['nsd', NSD, undefined]] as const) {
      const copy = axfrText({ host: server, port: 53 }, ZONE, key);
      writeFileSync(join(dir, `unsigned-${label}.axfr`), copy);
      expect(copy, label).toMatch(/IN\s+A\s+192\.0\.2\.80/);
      expect(copy.split('\n').filter((l) => DNSSEC_TYPES.test(l)), label).toEqual([]);
      expect(dig(server, [ZONE, 'DNSKEY', '+dnssec']), label).toMatch(/ANSWER: 0/);
    }

    // By IXFR alone: every transfer since the unsign began was asked and answered incrementally
    // (NSD's own AXFR recovery after a failed reload excepted, as in zone-transfers-out), signed with the key.
    const during = transfers().slice(seen).filter((l) => l.includes(`"zone":"${ZONE}"`) && (l.includes(`"client":"${BIND}"`) || l.includes(`"client":"${NSD}"`)));
    for (const line of during) expect(line).toMatch(/"key":"unsign-xfr\."/);
    const asked = (client: string, type: string) => during.filter((l) => l.includes(`"client":"${client}"`) && l.includes(`"type":"${type}"`));
    expect(asked(BIND, 'IXFR').length).toBeGreaterThan(0);
    expect(asked(NSD, 'IXFR').length).toBeGreaterThan(0);
    expect(asked(BIND, 'AXFR')).toEqual([]);
    expect(asked(NSD, 'AXFR').length).toBeLessThanOrEqual((nsd.log().match(/update failed, restarting transfer/g) ?? []).length);
    expect(during.filter((l) => l.includes('"type":"IXFR"') && !l.includes('"sent":"IXFR"'))).toEqual([]);
    // BIND's own log (xfer-in at debug 3), from the copy it had before the unsign: incremental answers only.
    const bindXfers = named.log().slice(named.log().indexOf(`transferred serial ${before}:`));
    expect(bindXfers).toMatch(/got incremental response/);
    expect(bindXfers).not.toMatch(/got nonincremental response/);

    // Both Unbounds' cached answers expire (TTL 2) and they ask the secondaries again: insecure now.
    await sleep(4000);
    await watch!.stop();
    const servfails = watch!.outcomes.filter((o) => !/NOERROR/.test(o.what));
    expect(servfails, JSON.stringify(servfails.slice(0, 5))).toEqual([]);
    for (const via of ['unbound→named', 'unbound→nsd']) {
      const mine = watch!.outcomes.filter((o) => o.via === via);
      expect(mine.length).toBeGreaterThan(20);
      expect(mine.at(-1)!.what, via).toMatch(/NOERROR ad=false/);
    }
    console.log(`unsign followed: ${signedSteps} signed serial(s) on the way, final serial ${final}; ${watch!.outcomes.length} validated queries, ${during.length} transfers (${during.map((l) => /"client":"([^"]+)".*"type":"(\w+)"/.exec(l)?.slice(1).join(' ')).join(', ')})`);
  }, 80_000);
});
