/**
 * Issue 14 on loopback 127.10.180.0/24 (server, Unbound) and 127.10.181–182.0/24 (flood sources,
 * a bystander): a live safe unsign watched by a validating Unbound every 300 ms, which must not
 * see one SERVFAIL, and response rate limiting under a spoofed-source flood, counted.
 */
import { createSocket } from 'node:dgram';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMessage } from '../../src/wire/message-decoder.js';
import { encodeMessage } from '../../src/wire/message-encoder.js';
import { newMessage } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { RRType } from '../../src/wire/rr-type.js';
import { type KeymasterServer, type RunningServer, haveTool, removeDir, startKeymaster, startUnbound, tempDir } from '../support/external-servers.js';
import { LAB_ROLLOVER_TIMERS, type ValidationWatch, sleep, watchValidation } from '../support/live-rollover.js';

const AUTH = '127.10.180.1';
const UNBOUND = '127.10.180.2';
const FLOOD_NET = '127.10.181';
const BYSTANDER = '127.10.182.1';
const RATE = 20;

const PARENT = `$TTL 2\n@ SOA ns hostmaster 1 60 30 600 2\n@ NS ns\nns A ${AUTH}\nchild NS ns.child\nns.child A ${AUTH}\n`;
const CHILD = `$TTL 2\n@ SOA ns hostmaster 1 60 30 600 2\n@ NS ns\nns A ${AUTH}\nwww A 192.0.2.80\nmail A 192.0.2.25\n@ MX 10 mail\n@ TXT "v=spf1 -all"\n`;
const SIGNING = '{ dnskeyTtl: 2s, dsTtl: 3s, signatureInception: 1h, dnskeySignatureValidity: 2h, dsSignatureValidity: 2h, signatureValidity: 2h }';

function dig(args: string[]): string {
  try {
    return execFileSync('dig', [`@${AUTH}`, '+tries=1', '+time=3', ...args], { encoding: 'utf8' });
  } catch (error) {
    return String((error as { stdout?: unknown }).stdout ?? '');
  }
}

describe.skipIf(!haveTool('unbound') || !haveTool('dig'))('authoritative safety on loopback', () => {
  let dir: string;
  let auth: KeymasterServer;
  let unbound: RunningServer;
  let watch: ValidationWatch;

  beforeAll(async () => {
    dir = tempDir('authority-safety');
    writeFileSync(join(dir, 'parent.zone'), PARENT);
    writeFileSync(join(dir, 'child.zone'), CHILD);
    auth = await startKeymaster({
      address: AUTH,
      control: `${AUTH}:5380`,
      rootHints: 'builtin',
      forwarders: ['127.10.180.254'],
      dnssecYaml: LAB_ROLLOVER_TIMERS,
      extraYaml:
        `zones:\n` +
        `  - { name: example., file: ${JSON.stringify(join(dir, 'parent.zone'))}, signing: ${SIGNING} }\n` +
        `  - { name: child.example., file: ${JSON.stringify(join(dir, 'child.zone'))}, signing: ${SIGNING} }\n` +
        `authority:\n  rateLimit: { responsesPerSecond: ${RATE}, slip: 2 }\n`,
    });
    unbound = await startUnbound(UNBOUND, 53, { stubs: { 'example.': `${AUTH}@53` }, trustAnchors: [readFileSync(join(auth.stateDir, 'keyset-example.'), 'utf8')] });
    watch = watchValidation([['unbound', UNBOUND]], ['www.child.example.']);
  }, 90_000);

  afterAll(async () => {
    await watch?.stop();
    await unbound?.stop();
    await auth?.stop();
    if (dir) removeDir(dir);
  });

  it('a live unsign: the DS leaves the parent first, the records later, and Unbound never sees SERVFAIL', async () => {
    await sleep(1500);
    expect(watch.outcomes.filter((o) => o.ok).length).toBeGreaterThan(0); // validated (AD) before
    const r = await auth.cli(['zone', 'unsign', 'child.example.']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Unsigning zone child\.example\./);
    // At once: no DS in the parent, while the child still serves its DNSKEYs.
    expect(dig(['child.example.', 'DS', '+dnssec', '+norec'])).toMatch(/ANSWER: 0/);
    expect(dig(['child.example.', 'DNSKEY', '+norec'])).toMatch(/IN\s+DNSKEY\s+257/);
    expect(auth.log()).toMatch(/"event":"zone\.unsign-started".*"eventId":776/);
    const deadline = Date.now() + 40_000;
    while (!(await auth.cli(['zone', 'show', 'child.example.', '--json'])).stdout.includes('"signed": false')) {
      if (Date.now() > deadline) throw new Error(`unsign did not finish\n${auth.log().slice(-3000)}`);
      await sleep(300);
    }
    expect(dig(['child.example.', 'DNSKEY', '+norec'])).toMatch(/ANSWER: 0/);
    await sleep(4000); // Unbound's cached answers expire (TTL 2) and it asks again: insecure now
    await watch.stop();
    const servfails = watch.outcomes.filter((o) => !/NOERROR/.test(o.what));
    expect(servfails).toEqual([]);
    const last = watch.outcomes.at(-1)!;
    expect(last.what).toMatch(/NOERROR ad=false/);
    expect(auth.log()).toMatch(/"event":"zone\.unsigned".*"eventId":7647/);
  }, 70_000);

  it('ANY over UDP is one RRset (RFC 8482); over TCP, everything', () => {
    const udp = dig(['child.example.', 'ANY', '+norec', '+notcp', '+bufsize=1232']);
    const tcp = dig(['child.example.', 'ANY', '+norec', '+tcp']);
    const types = (text: string) => new Set([...text.matchAll(/^child\.example\.\s+\d+\s+IN\s+(\S+)/gm)].map((m) => m[1]));
    expect(types(udp).size).toBe(1);
    expect(types(tcp).size).toBeGreaterThanOrEqual(4);
    const size = (text: string) => Number(/MSG SIZE\s+rcvd: (\d+)/.exec(text)![1]);
    console.log(`ANY child.example.: ${size(udp)} bytes over UDP, ${size(tcp)} over TCP`);
  });

  it('response rate limiting: a spoofed-source flood from one /24 gets its rate (and every 2nd of the rest truncated); another /24 is answered', async () => {
    const query = (id: number) => encodeMessage(newMessage({ id, question: [{ name: Name.parse('www.child.example.'), type: RRType.A, class: 1 }] }));
    const tally = { sent: 0, answered: 0, truncated: 0, bystanderAnswered: 0 };
    const sockets = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        new Promise<ReturnType<typeof createSocket>>((resolve) => {
          const s = createSocket('udp4');
          s.on('message', (m) => {
            const msg = decodeMessage(new Uint8Array(m));
            if (msg.tc) tally.truncated++;
            else tally.answered++;
          });
          s.bind({ address: `${FLOOD_NET}.${i + 1}`, port: 0 }, () => resolve(s));
        }),
      ),
    );
    const bystander = createSocket('udp4');
    bystander.on('message', (m) => {
      if (!decodeMessage(new Uint8Array(m)).tc) tally.bystanderAnswered++;
    });
    await new Promise<void>((resolve) => bystander.bind({ address: BYSTANDER, port: 0 }, () => resolve()));
    const started = Date.now();
    for (let round = 0; round < 100; round++) {
      for (const s of sockets) {
        s.send(query(round), 53, AUTH);
        tally.sent++;
      }
      if (round % 10 === 0) bystander.send(query(60000 + round), 53, AUTH);
      await sleep(1);
    }
    const floodSeconds = (Date.now() - started) / 1000;
    await sleep(1500);
    for (const s of [...sockets, bystander]) s.close();
    const allowed = Math.ceil(RATE * (floodSeconds + 1.5) + RATE);
    const ratio = (tally.answered + tally.truncated) / tally.sent;
    console.log(`RRL flood: ${tally.sent} queries in ${floodSeconds.toFixed(2)} s from ${FLOOD_NET}.0/24: ${tally.answered} answered, ${tally.truncated} truncated (ratio ${ratio.toFixed(3)}); bystander ${tally.bystanderAnswered}/10`);
    writeFileSync(join(dir, 'rrl.txt'), JSON.stringify({ ...tally, floodSeconds }));
    expect(tally.sent).toBe(2000);
    expect(tally.answered).toBeLessThanOrEqual(allowed);
    expect(tally.answered).toBeGreaterThan(0);
    expect(tally.truncated).toBeGreaterThan(0);
    expect(tally.truncated).toBeLessThanOrEqual(Math.ceil((tally.sent - tally.answered) / 2));
    expect(tally.bystanderAnswered).toBe(10);
  }, 30_000);
});

describe.skipIf(!haveTool('softhsm2-util') || !haveTool('dnssec-verify') || !haveTool('dig'))('keymaster serve with a zone whose keys are in SoftHSM2', () => {
  const HSM_AUTH = '127.10.183.1';
  let dir: string;
  let km: KeymasterServer;

  beforeAll(async () => {
    dir = tempDir('authority-hsm');
    const tokens = join(dir, 'tokens');
    execFileSync('mkdir', ['-p', tokens]);
    writeFileSync(join(dir, 'softhsm2.conf'), `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`);
    // keymaster serve inherits this environment: SoftHSM2 finds its token directory through it.
    process.env['SOFTHSM2_CONF'] = join(dir, 'softhsm2.conf');
    execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'km-serve', '--pin', '97531', '--so-pin', '86420'], { stdio: 'ignore' });
    writeFileSync(join(dir, 'pin'), '97531\n', { mode: 0o600 });
    writeFileSync(join(dir, 'hsm.zone'), `$TTL 300\n@ SOA ns hostmaster 1 3600 900 604800 300\n@ NS ns\nns A ${HSM_AUTH}\nwww A 192.0.2.80\n`);
    km = await startKeymaster({
      address: HSM_AUTH,
      control: `${HSM_AUTH}:5380`,
      rootHints: 'builtin',
      extraYaml:
        `zones:\n  - name: hsm.example.\n    file: ${JSON.stringify(join(dir, 'hsm.zone'))}\n    allowTransfer: ["127.10.183.0/24"]\n    signing: { algorithm: ECDSAP384SHA384 }\n` +
        `    keyStorage: { pkcs11: { module: /usr/lib/softhsm/libsofthsm2.so, token: km-serve, pinFile: ${JSON.stringify(join(dir, 'pin'))} } }\n`,
    });
  }, 90_000);

  afterAll(async () => {
    await km?.stop();
    if (dir) removeDir(dir);
  });

  it('signs with token keys (zone keys says pkcs11:km-serve), no private key on disk, the AXFR passes dnssec-verify', async () => {
    const keys = await km.cli(['zone', 'keys', 'hsm.example.']);
    expect(keys.code, keys.stderr).toBe(0);
    expect(keys.stdout).toMatch(/KeyStorage/);
    expect(keys.stdout.match(/pkcs11:km-serve/g)!.length).toBeGreaterThanOrEqual(2);
    const keyFiles = execFileSync('ls', [join(km.stateDir, 'keys', 'hsm.example')], { encoding: 'utf8' });
    expect(keyFiles).not.toMatch(/\.pem/);
    const axfr = execFileSync('dig', ['-b', HSM_AUTH, `@${HSM_AUTH}`, 'hsm.example.', 'AXFR', '+onesoa', '+noall', '+answer', '+time=10'], { encoding: 'latin1' });
    writeFileSync(join(dir, 'hsm.axfr'), axfr, 'latin1');
    const verify = execFileSync('dnssec-verify', ['-o', 'hsm.example.', join(dir, 'hsm.axfr')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(verify).toMatch(/Zone fully signed:[\s\S]*Algorithm: ECDSAP384SHA384/);
  });
});
