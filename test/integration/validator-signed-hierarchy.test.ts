/**
 * Keymaster's validator against the BIND-signed tree (test/support/signed-hierarchy.ts): every
 * case of SIGNED_CASES must get the rcode, AD bit, answer type and EDE the table says, and the
 * same rcode and AD as Unbound validating the same tree in the same run. With CD=1 the data comes
 * back unvalidated and without AD. `keymaster explain` names the fault of each bogus case.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extendedErrors } from '../../src/wire/edns.js';
import { type Message, rcodeToString } from '../../src/wire/message.js';
import { typeToString } from '../../src/wire/rr-type.js';
import { type KeymasterServer, type RunningServer, haveTool, runKeymasterCli, startKeymaster } from '../support/external-servers.js';
import { KEYTRAP_QNAME, SIGNED_CASES, type SignedCase, type SignedHierarchy, askDnssec, startSignedHierarchy, summariseAnswer } from '../support/signed-hierarchy.js';

const PREFIX = '127.10.22';
const KEYMASTER = '127.10.23.1';
const UNBOUND = '127.10.23.2';
const CONTROL = '127.10.23.1:5380';

const tools = ['unbound', 'nsd', 'dnssec-signzone', 'dnssec-keygen', 'dnssec-dsfromkey', 'ldns-signzone'].every(haveTool);

describe.skipIf(!tools)('validator: the BIND-signed tree, case by case, against Unbound', () => {
  let tree: SignedHierarchy;
  let keymaster: KeymasterServer;
  let unbound: RunningServer;
  const km = () => ({ host: KEYMASTER, port: 53 });
  const ub = () => ({ host: UNBOUND, port: 53 });

  beforeAll(async () => {
    tree = await startSignedHierarchy({ prefix: PREFIX });
    // Settled, not all: a server that started is kept (and stopped after) even when the other failed.
    const [k, u] = await Promise.allSettled([
      startKeymaster({ address: KEYMASTER, control: CONTROL, rootHints: tree.rootHintsFile, validation: true, rootAnchors: 'none', importAnchors: [tree.rootDsset] }),
      tree.startUnbound(UNBOUND, 53),
    ]);
    if (k.status === 'fulfilled') keymaster = k.value;
    if (u.status === 'fulfilled') unbound = u.value;
    for (const r of [k, u]) if (r.status === 'rejected') throw r.reason;
  });

  afterAll(async () => {
    await keymaster?.stop();
    await unbound?.stop();
    await tree?.stop();
  });

  it('answers the root NS from the root, signed, not from the unsigned root hints (RFC 2181 §5.4.1)', async () => {
    // startKeymaster's readiness probe asked ". NS" already, right after start.
    const r = await askDnssec(km(), '.', 'NS');
    expect(summariseAnswer(r)).toMatch(/^NOERROR ad=true answer=\[\. NS.*\. RRSIG\]/);
  });

  describe('without CD: rcode, AD, answer type and EDE as the table says, and as Unbound answers', () => {
    it.each(SIGNED_CASES.map((c) => [c.id, c] as const))('%s', async (_id, c: SignedCase) => {
      const r = await askDnssec(km(), c.qname, c.qtype);
      const seen = summariseAnswer(r);
      if (process.env.SIGNED_HIERARCHY_LOG) console.log(`${c.id.padEnd(32)} ${seen}`);
      expect(rcodeToString(r.rcode), `${c.why}\n${seen}`).toBe(c.expect.rcode);
      expect(r.ad, `${c.why}\n${seen}`).toBe(c.expect.ad);
      if (c.expect.answerType) expect(r.answer.some((rr) => typeToString(rr.type) === c.expect.answerType), seen).toBe(true);
      const codes = extendedErrors(r.edns).map((e) => e.infoCode);
      if (c.expect.ede) {
        // The exact code, first; an answer without an EDE fails.
        expect(codes[0], `EDE: ${seen}`).toBe(c.expect.ede[0]);
        // EXTRA-TEXT names the zone and the fault.
        expect(extendedErrors(r.edns)[0]!.extraText, seen).toMatch(/\S+\.:/);
      } else {
        expect(codes, seen).toEqual([]);
      }
      if (!c.unboundDiffers) {
        const u = await askDnssec(ub(), c.qname, c.qtype);
        expect(`${rcodeToString(r.rcode)} ad=${r.ad}`, `Unbound: ${summariseAnswer(u)}\nKeymaster: ${seen}`).toBe(`${rcodeToString(u.rcode)} ad=${u.ad}`);
      }
    });
  });

  describe('with CD=1: the data, unvalidated, never AD', () => {
    it.each(SIGNED_CASES.map((c) => [c.id, c] as const))('%s', async (_id, c: SignedCase) => {
      const want = c.cd ?? { rcode: c.expect.rcode, ...(c.expect.answerType ? { answerType: c.expect.answerType } : {}) };
      const r = await askDnssec(km(), c.qname, c.qtype, { cd: true });
      const seen = summariseAnswer(r);
      expect(rcodeToString(r.rcode), seen).toBe(want.rcode);
      expect(r.ad, seen).toBe(false);
      if (want.answerType) expect(r.answer.some((rr) => typeToString(rr.type) === want.answerType), seen).toBe(true);
    });
  });

  it('keymaster explain walks the chain: anchor, each DS and DNSKEY, the RRset, with signatures and their windows', async () => {
    const r = await keymaster.cli(['explain', 'www.alg13.sec.', 'A', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const e = JSON.parse(r.stdout) as { security: string; rcode: string; trace: { zone: string; kind: string; subject: string; state: string; signatures?: { keyTag: number; inception: string; expiration: string; result: string }[] }[] };
    expect(e.rcode).toBe('NOERROR');
    expect(e.security).toBe('secure');
    const kinds = e.trace.map((t) => `${t.kind} ${t.subject}`);
    expect(kinds).toEqual(['anchor .', 'dnskey ./DNSKEY', 'ds sec./DS', 'dnskey sec./DNSKEY', 'ds alg13.sec./DS', 'dnskey alg13.sec./DNSKEY', 'rrset www.alg13.sec./A']);
    for (const step of e.trace) expect(step.state).toBe('secure');
    const rrset = e.trace.at(-1)!;
    expect(rrset.signatures!.some((s) => s.result === 'valid' && s.inception < s.expiration)).toBe(true);
    const text = await keymaster.cli(['explain', 'www.alg13.sec.']);
    expect(text.stdout).toMatch(/^Name\s+: www\.alg13\.sec\. A$/m);
    expect(text.stdout).toMatch(/^Result\s+: NOERROR, secure$/m);
    expect(text.stdout).toMatch(/rrsig\s+key \d+ alg 13\s+valid/);
  });

  it('keymaster explain answers "why SERVFAIL?" for each bogus zone, naming the zone and the fault', async () => {
    const faults: Record<string, RegExp> = {
      'bogus-expired': /expired/,
      'bogus-not-yet-valid': /not valid before/,
      'bogus-bad-signature': /does not verify/,
      'bogus-ds-mismatch': /no DNSKEY matches the DS/,
      'bogus-rrsig-missing': /no RRSIG/,
    };
    for (const [id, fault] of Object.entries(faults)) {
      const c = SIGNED_CASES.find((x) => x.id === id)!;
      const r = await keymaster.cli(['explain', c.qname, c.qtype, '--json']);
      const e = JSON.parse(r.stdout) as { rcode: string; security: string; reason: string; ede: { code: number }[]; trace: { state: string; detail: string }[] };
      expect(e.rcode, id).toBe('SERVFAIL');
      expect(e.security, id).toBe('bogus');
      expect(e.reason, id).toMatch(fault);
      expect(e.ede[0]?.code, id).toBe(c.expect.ede![0]);
      expect(e.trace.some((t) => t.state === 'bogus' && fault.test(t.detail)), id).toBe(true);
    }
  });

  it('KeyTrap: SERVFAIL within the per-query signature budget, while another client keeps getting secure answers', async () => {
    const status = async () => JSON.parse((await keymaster.cli(['status', '--json'])).stdout).resolver.validation as { bogus: number; signatureChecks: number };
    await askDnssec(km(), 'www.alg13.sec.', 'A'); // the other client's name is cached and validated
    const rounds = 5;
    const before = await status();
    let benign = 0;
    let stop = false;
    const other = (async () => {
      while (!stop) {
        const r = await askDnssec(km(), 'www.alg13.sec.', 'A');
        expect(rcodeToString(r.rcode)).toBe('NOERROR');
        expect(r.ad).toBe(true);
        benign++;
      }
    })();
    for (let i = 0; i < rounds; i++) {
      await keymaster.cli(['cache', 'flush', 'keytrap.sec.']);
      // Twenty identical attack queries at once share one validation.
      const answers = await Promise.all(Array.from({ length: 20 }, () => askDnssec(km(), KEYTRAP_QNAME, 'A')));
      for (const r of answers) {
        expect(rcodeToString(r.rcode)).toBe('SERVFAIL');
        expect(extendedErrors(r.edns).map((e) => e.infoCode)[0]).toBe(6);
      }
    }
    stop = true;
    await other;
    const after = await status();
    expect(benign).toBeGreaterThan(0);
    // One validation per round (flush clears key state too: the chain is walked again), each within 64 checks.
    expect(after.bogus - before.bogus).toBeLessThanOrEqual(rounds);
    expect(after.signatureChecks - before.signatureChecks).toBeLessThanOrEqual(rounds * 64);
  });

  it('RFC 8509 root key sentinel: is-ta / not-ta answered from the root trust anchor', async () => {
    const rootTag = Number(tree.rootDs[0]!.split(' ')[0]);
    const other = rootTag === 11111 ? 22222 : 11111;
    const pad = (n: number) => String(n).padStart(5, '0');
    const ask = async (label: string) => rcodeToString((await askDnssec(km(), `${label}.wild.nsec.sec.`, 'A')).rcode);
    expect(await ask(`root-key-sentinel-is-ta-${pad(rootTag)}`)).toBe('NOERROR');
    expect(await ask(`root-key-sentinel-not-ta-${pad(rootTag)}`)).toBe('SERVFAIL');
    expect(await ask(`root-key-sentinel-is-ta-${pad(other)}`)).toBe('SERVFAIL');
    expect(await ask(`root-key-sentinel-not-ta-${pad(other)}`)).toBe('NOERROR');
    // Insecure answers are never refused (RFC 8509 §3.2: only validated responses).
    expect(rcodeToString((await askDnssec(km(), `root-key-sentinel-is-ta-${pad(other)}.insecure.sec.`, 'A')).rcode)).not.toBe('SERVFAIL');
  });

  it('caches verdicts: asking every case again costs no more upstream queries', async () => {
    for (const c of SIGNED_CASES) await askDnssec(km(), c.qname, c.qtype);
    const before = JSON.parse((await keymaster.cli(['status', '--json'])).stdout).resolver.upstream.queries as number;
    for (const c of SIGNED_CASES) if (c.expect.rcode !== 'SERVFAIL') await askDnssec(km(), c.qname, c.qtype);
    const after = JSON.parse((await keymaster.cli(['status', '--json'])).stdout).resolver.upstream.queries as number;
    expect(after - before).toBe(0);
  });

  describe('policy table end to end with keymaster query', () => {
    interface QueryJson { status: string; flags: { ad: boolean }; edns?: { ede: { code: number; text: string }[] }; answer: { type: string }[] }
    const query = async (name: string, ...flags: string[]) => {
      const r = await runKeymasterCli(['query', name, 'A', '--server', `${KEYMASTER}:53`, '--dnssec', '--json', ...flags]);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as QueryJson;
    };

    it('a namespace that requires validation: its insecure answers become SERVFAIL with EDE 28, the rest is untouched', async () => {
      expect((await query('www.insecure.sec.')).status).toBe('NOERROR');
      const add = await keymaster.cli(['policy', 'add', '.insecure.sec', '--require-validation']);
      expect(add.code, add.stderr).toBe(0);
      const r = await query('www.insecure.sec.');
      expect(r.status).toBe('SERVFAIL');
      expect(r.edns!.ede[0]!.code).toBe(28);
      expect(r.edns!.ede[0]!.text).toMatch(/policy \.insecure\.sec requires validation/);
      const secureOne = await query('www.alg13.sec.');
      expect(secureOne.status).toBe('NOERROR');
      expect(secureOne.flags.ad).toBe(true);
      expect((await keymaster.cli(['policy', 'remove', '.insecure.sec'])).code).toBe(0);
      expect((await query('www.insecure.sec.')).status).toBe('NOERROR');
    });

    it('a negative trust anchor on a bogus zone gives the data without AD until it expires', async () => {
      expect((await query('www.expired.sec.')).status).toBe('SERVFAIL');
      const until = Date.now() + 4000;
      const add = await keymaster.cli(['policy', 'add', '.expired.sec', '--no-validation', '--until', new Date(until).toISOString()]);
      expect(add.code, add.stderr).toBe(0);
      const r = await query('www.expired.sec.');
      expect(r.status).toBe('NOERROR');
      expect(r.flags.ad).toBe(false);
      expect(r.answer.some((a) => a.type === 'A')).toBe(true);
      await new Promise((done) => setTimeout(done, Math.max(0, until - Date.now()) + 1500));
      expect((await query('www.expired.sec.')).status).toBe('SERVFAIL');
    });

    it('log-only: a bogus answer goes out without AD and the failure is logged with its reason', async () => {
      expect((await keymaster.cli(['policy', 'add', '.notyet.sec', '--log-only'])).code).toBe(0);
      const r = await query('www.notyet.sec.');
      expect(r.status).toBe('NOERROR');
      expect(r.flags.ad).toBe(false);
      const line = keymaster.log().split('\n').find((l) => l.includes('"validation.failed"') && l.includes('www.notyet.sec.') && l.includes('logOnly'));
      expect(line).toBeDefined();
      expect(JSON.parse(line!).reason).toMatch(/not valid before/);
      expect((await keymaster.cli(['policy', 'remove', '.notyet.sec'])).code).toBe(0);
    });
  });
});
