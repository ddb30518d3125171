import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { TsigError, type TsigKey, extractTsig, signTsig, signTsigResponse, tsigAlgorithmName, verifyTsig } from '../../src/authority/tsig.js';
import { decodeMessage } from '../../src/wire/message-decoder.js';
import { encodeMessage } from '../../src/wire/message-encoder.js';
import { Rcode, newMessage } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { encodeRdata } from '../../src/wire/rdata-codec.js';
import { RRType } from '../../src/wire/rr-type.js';
import { fromBase64, toHex } from '../../src/wire/text-encoding.js';
import { haveTool } from '../support/external-servers.js';

/**
 * TSIG (RFC 8945) against published vectors: the BIND 10 / Kea TSIG tests, whose MACs were
 * produced by BIND 9's `dig -y` (isc-projects/kea src/lib/dns/tests/tsig_unittest.cc), and
 * live against BIND 9's own `dig -y` on loopback (127.10.80.9).
 */

const keyName = Name.parse('www.example.com.');
const md5Key: TsigKey = { name: keyName, algorithm: tsigAlgorithmName('hmac-md5'), secret: fromBase64('SFuWd/q99SzF8Yzd1QbB9g==') };
const sha1Key: TsigKey = { name: keyName, algorithm: tsigAlgorithmName('hmac-sha1'), secret: fromBase64('MA+QDhXbyqUak+qnMFyTyEirzng=') };

function query(id: number, type: number, rd: boolean): Uint8Array {
  return encodeMessage(newMessage({ id, rd, question: [{ name: Name.parse('www.example.com.'), type, class: 1 }] }));
}

const hex = (b: Uint8Array) => toHex(b).toLowerCase();
const macOf = (wire: Uint8Array) => hex(extractTsig(wire)!.tsig.mac);

describe('TSIG MACs (RFC 8945 §4.3) against BIND-made vectors', () => {
  it('signs a query with HMAC-MD5 and HMAC-SHA1 exactly as dig -y did', () => {
    const md5 = signTsig(query(0x2d65, RRType.A, true), md5Key, { now: 0x4da8877a });
    expect(macOf(md5)).toBe('227026ad297beee721ce6c6fff1e9ef3');
    const sha1 = signTsig(query(0x0967, RRType.A, true), sha1Key, { now: 0x4dae7d5f });
    expect(macOf(sha1)).toBe('415340c7daf824ed684ee586f7b5a67a2febc0d3');
    const t = extractTsig(sha1)!;
    expect(t.tsig).toMatchObject({ timeSigned: 0x4dae7d5f, fudge: 300, originalId: 0x0967, error: 0 });
    expect(t.tsig.algorithm.toString()).toBe('hmac-sha1.');
    // Key and algorithm names are canonicalised: upper case signs the same.
    const upper: TsigKey = { ...md5Key, name: Name.parse('WWW.EXAMPLE.COM.'), algorithm: Name.parse('HMAC-md5.SIG-alg.REG.int.') };
    expect(macOf(signTsig(query(0x2d65, RRType.A, true), upper, { now: 0x4da8877a }))).toBe('227026ad297beee721ce6c6fff1e9ef3');
  });

  it('verifies the query and signs the response over the request MAC', () => {
    const request = extractTsig(signTsig(query(0x2d65, RRType.A, true), md5Key, { now: 0x4da8877a }))!;
    const v = verifyTsig(request, (n) => (n.equals(keyName) ? md5Key : undefined), 0x4da8877a);
    expect(v.ok).toBe(true);
    const response = encodeMessage(
      newMessage({
        id: 0x2d65,
        qr: true,
        aa: true,
        rd: true,
        question: [{ name: keyName, type: RRType.A, class: 1 }],
        answer: [{ name: keyName, type: RRType.A, class: 1, ttl: 86400, rdata: encodeRdata(RRType.A, { address: '192.0.2.1' }) }],
      }),
    );
    expect(macOf(signTsigResponse(response, v, 0x4da8877a))).toBe('8fcda66a7cd1a3b9948eb1869d384a9f');
  });

  it('answers a stale request BADTIME, signed, with its own time in Other Data', () => {
    const request = extractTsig(signTsig(query(0x7fc4, RRType.SOA, false), md5Key, { now: 0x4da8b9d6 }))!;
    const v = verifyTsig(request, () => md5Key, 0x4da8be86);
    expect(v).toMatchObject({ ok: false, error: TsigError.BADTIME });
    const response = encodeMessage(newMessage({ id: 0x7fc4, qr: true, rcode: Rcode.NOTAUTH, question: [{ name: keyName, type: RRType.SOA, class: 1 }] }));
    const signed = extractTsig(signTsigResponse(response, v, 0x4da8be86))!;
    expect(hex(signed.tsig.mac)).toBe('d4b043f6f44495ec8a01260e39159d76');
    expect(signed.tsig).toMatchObject({ error: 18, timeSigned: 0x4da8b9d6 });
    expect(hex(signed.tsig.otherData)).toBe('00004da8be86');
  });

  it('holds the fudge boundaries: 300 s either way is in time, 301 is not', () => {
    const request = extractTsig(signTsig(query(1, RRType.SOA, false), md5Key, { now: 0x4da8b9d6 }))!;
    for (const [delta, ok] of [[300, true], [-300, true], [301, false], [-301, false]] as const)
      expect(verifyTsig(request, () => md5Key, 0x4da8b9d6 + delta).ok).toBe(ok);
  });

  it('BADKEY for an unknown key or a key of another algorithm, BADSIG for a wrong secret or a changed byte; those answers carry no MAC', () => {
    const wire = signTsig(query(5, RRType.A, true), sha1Key, { now: 1000 });
    const request = extractTsig(wire)!;
    expect(verifyTsig(request, () => undefined, 1000)).toMatchObject({ ok: false, error: TsigError.BADKEY });
    expect(verifyTsig(request, () => md5Key, 1000)).toMatchObject({ ok: false, error: TsigError.BADKEY });
    expect(verifyTsig(request, () => ({ ...sha1Key, secret: new Uint8Array(20) }), 1000)).toMatchObject({ ok: false, error: TsigError.BADSIG });
    const tampered = Uint8Array.from(wire);
    tampered[13] ^= 0x20; // a letter of the question name
    const bad = verifyTsig(extractTsig(tampered)!, () => sha1Key, 1000);
    expect(bad).toMatchObject({ ok: false, error: TsigError.BADSIG });
    const answer = extractTsig(signTsigResponse(encodeMessage(newMessage({ id: 5, qr: true, rcode: Rcode.NOTAUTH })), bad, 1000))!;
    expect(answer.tsig).toMatchObject({ error: TsigError.BADSIG, originalId: 5 });
    expect(answer.tsig.mac.length).toBe(0);
    expect(answer.keyName.equals(keyName)).toBe(true);
  });

  it('accepts a MAC truncated to at least max(10, half the hash), refuses shorter (FORMERR) and longer', () => {
    const full = signTsig(query(9, RRType.A, true), sha1Key, { now: 50, macLength: 10 });
    expect(verifyTsig(extractTsig(full)!, () => sha1Key, 50).ok).toBe(true);
    const short = signTsig(query(9, RRType.A, true), sha1Key, { now: 50, macLength: 9 });
    expect(verifyTsig(extractTsig(short)!, () => sha1Key, 50)).toMatchObject({ ok: false, error: Rcode.FORMERR });
  });

  it('finds the TSIG only as the last additional record, and puts the Original ID back', () => {
    const wire = signTsig(query(0x1234, RRType.A, true), sha1Key, { now: 7 });
    const forwarded = Uint8Array.from(wire);
    forwarded[0] = 0xab; // a forwarder changed the ID: the MAC covers the original one
    forwarded[1] = 0xcd;
    expect(verifyTsig(extractTsig(forwarded)!, () => sha1Key, 7).ok).toBe(true);
    expect(extractTsig(query(1, RRType.A, true))).toBeUndefined();
    const twice = signTsig(wire, sha1Key, { now: 7 });
    expect(() => extractTsig(twice)).toThrow(/more than one TSIG/);
  });
});

/** One UDP exchange with `dig -y`: our socket plays the server and answers with `answer`. */
async function digExchange(args: string[], answer: (request: Uint8Array) => Uint8Array): Promise<{ stdout: string; request: Uint8Array | undefined }> {
  const address = '127.10.80.9';
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, address, () => resolve());
  });
  const port = socket.address().port;
  let request: Uint8Array | undefined;
  socket.on('message', (msg, rinfo) => {
    request ??= new Uint8Array(msg);
    socket.send(answer(new Uint8Array(msg)), rinfo.port, rinfo.address);
  });
  const child = spawn('dig', [`@${address}`, '-p', String(port), '+tries=1', '+time=3', '+norec', ...args]);
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stdout += d.toString()));
  await new Promise((r) => child.once('exit', r));
  socket.close();
  return { stdout, request };
}

describe.skipIf(!haveTool('dig'))('TSIG against BIND 9 dig -y', () => {
  const secret = 'c2VjcmV0LWtleS1mb3ItdGVzdGluZy10c2lnLTEyMzQ1Njc4';
  for (const alg of ['hmac-sha256', 'hmac-sha512', 'hmac-sha1'] as const) {
    it(`${alg}: dig's signed query verifies, and dig verifies our signed answer`, async () => {
      const key: TsigKey = { name: Name.parse('update-key.'), algorithm: tsigAlgorithmName(alg), secret: fromBase64(secret) };
      let verified: boolean | undefined;
      const { stdout } = await digExchange(['-y', `${alg}:update-key:${secret}`, 'www.example.com', 'A'], (wire) => {
        const signed = extractTsig(wire)!;
        const v = verifyTsig(signed, (n) => (n.equals(key.name) ? key : undefined), Math.floor(Date.now() / 1000));
        verified = v.ok;
        const q = decodeMessage(signed.unsigned);
        const response = encodeMessage(
          newMessage({
            id: q.id,
            qr: true,
            aa: true,
            question: q.question,
            answer: [{ name: q.question[0]!.name, type: RRType.A, class: 1, ttl: 300, rdata: encodeRdata(RRType.A, { address: '192.0.2.77' }) }],
          }),
        );
        return signTsigResponse(response, v, Math.floor(Date.now() / 1000));
      });
      expect(verified).toBe(true);
      expect(stdout).toMatch(/status: NOERROR/);
      expect(stdout).toMatch(/192\.0\.2\.77/);
      expect(stdout).not.toMatch(/tsig verify failure|Couldn't verify|expected a TSIG/i);
      expect(stdout).toMatch(new RegExp(`update-key\\.\\s+0\\s+ANY\\s+TSIG\\s+${alg}\\.`, 'i'));
    });
  }

  it('a query signed with the wrong secret is BADSIG, and dig reports it', async () => {
    const key: TsigKey = { name: Name.parse('update-key.'), algorithm: tsigAlgorithmName('hmac-sha256'), secret: fromBase64('b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldA==') };
    let error: number | undefined;
    const { stdout } = await digExchange(['-y', `hmac-sha256:update-key:${secret}`, 'www.example.com', 'A'], (wire) => {
      const signed = extractTsig(wire)!;
      const v = verifyTsig(signed, () => key, Math.floor(Date.now() / 1000));
      error = v.ok ? 0 : v.error;
      const q = decodeMessage(signed.unsigned);
      return signTsigResponse(encodeMessage(newMessage({ id: q.id, qr: true, rcode: Rcode.NOTAUTH, question: q.question })), v, Math.floor(Date.now() / 1000));
    });
    expect(error).toBe(TsigError.BADSIG);
    expect(stdout).toMatch(/NOTAUTH/);
    expect(stdout).toMatch(/BADSIG/);
  });
});
