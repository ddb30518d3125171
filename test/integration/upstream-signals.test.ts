import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ZoneSigningKey } from '../../src/authority/zone-signer.js';
import { signZoneWithNsec } from '../../src/authority/zone-signer.js';
import { generateKeyPair } from '../../src/crypto/key-generation.js';
import { keyTag } from '../../src/crypto/key-tag.js';
import { EdnsOptionCode, defaultEdns, findOption } from '../../src/wire/edns.js';
import { keysetToText } from '../../src/wire/key-files.js';
import { type Message, Rcode } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { encodeRdata } from '../../src/wire/rdata-codec.js';
import { rdataToText } from '../../src/wire/rdata-text.js';
import { RRType } from '../../src/wire/rr-type.js';
import { parseZoneText } from '../../src/wire/zone-file.js';
import { ask } from '../support/dns-hierarchy.js';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { type KeymasterServer, type RunningServer, haveTool, removeDir, runNamed, startKeymaster, tempDir } from '../support/external-servers.js';
import { type ScriptedServer, type Script, makeZone, records, replyTo, startScriptedServer, zoneScript } from '../support/scripted-server.js';

// Loopback addresses of this file: 127.10.161.0/24.
const ROOT = '127.10.161.2';
const KEYMASTER = { host: '127.10.161.3', port: 53 };
const OTHER = '127.10.161.4';
const FORGER = '127.10.161.5';
const STRICT = '127.10.161.6';
/** BIND's named, authoritative for bind.lab., requiring a server cookie (require-server-cookie yes). */
const NAMED = '127.10.161.7';

/** The fixed server cookie the scripted servers hand out. */
const SERVER_COOKIE = Uint8Array.from([1, 0, 0, 0, 0x5c, 0xf7, 0x9f, 0x11, 1, 2, 3, 4, 5, 6, 7, 8]);

function newKey(zone: Name, role: 'ksk' | 'zsk'): ZoneSigningKey {
  const pair = generateKeyPair(13);
  const dnskeyRdata = encodeRdata(RRType.DNSKEY, { flags: role === 'ksk' ? 257 : 256, protocol: 3, algorithm: 13, publicKey: pair.publicKeyField });
  return { zone, algorithm: 13, keyTag: keyTag(dnskeyRdata), privateKey: pair.privateKey, dnskeyRdata, role };
}

function addLoopbackAlias(address: string): boolean {
  try {
    execFileSync('ip', ['addr', 'add', `${address}/32`, 'dev', 'lo'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const cookieOf = (m: Message) => findOption(m.edns, EdnsOptionCode.COOKIE)?.data;
const hex = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('hex') : undefined);

/** `script`, its reply carrying the client's cookie and SERVER_COOKIE back (a server that does cookies). */
function withCookies(script: Script): Script {
  return (query, transport) => {
    const reply = script(query, transport);
    const client = cookieOf(query)?.subarray(0, 8);
    if (!reply || !client || !reply.edns) return reply;
    return { ...reply, edns: defaultEdns({ ...reply.edns, options: [{ code: EdnsOptionCode.COOKIE, data: Uint8Array.from([...client, ...SERVER_COOKIE]) }] }) };
  };
}

describe('what Keymaster sends upstream', () => {
  let root: ScriptedServer;
  let other: ScriptedServer;
  let forger: ScriptedServer;
  let strict: ScriptedServer;
  let km: KeymasterServer;
  let dir: string;
  let ksk: ZoneSigningKey;
  let named: RunningServer | undefined;
  let aliased = false;

  beforeAll(async () => {
    dir = tempDir('upstream-signals');
    ksk = newKey(Name.root, 'ksk');
    const zsk = newKey(Name.root, 'zsk');
    const now = Math.floor(Date.now() / 1000);
    const rootText = `. 300 IN SOA a.root-servers.net. hostmaster.root. 1 60 60 600 30\n. 300 IN NS a.root-servers.net.\na.root-servers.net. 300 IN A ${ROOT}\nwww.example. 300 IN A 192.0.2.1\n`;
    const signed = signZoneWithNsec(parseZoneText(rootText, { origin: Name.root }).records, { zone: Name.root, keys: [ksk, zsk], window: { inception: now - 3600, expiration: now + 86_400 }, dnskeyTtl: 300 });
    root = await startScriptedServer(ROOT, withCookies(zoneScript([makeZone('.', signed)])));
    const ptr = (answer: string): Script => (query) => replyTo(query, { ra: true, answer: records(`${query.question[0]!.name} 60 IN A ${answer}`) });
    other = await startScriptedServer(OTHER, withCookies(ptr('192.0.2.44')));
    // Over UDP a forgery that echoes someone else's client cookie; over TCP the truth.
    forger = await startScriptedServer(FORGER, (query, transport) => {
      const truth = withCookies(ptr('192.0.2.55'))(query, transport)!;
      if (transport === 'tcp') return truth;
      return { ...replyTo(query, { ra: true, answer: records(`${query.question[0]!.name} 60 IN A 6.6.6.6`) }), edns: defaultEdns({ options: [{ code: EdnsOptionCode.COOKIE, data: Uint8Array.from([9, 9, 9, 9, 9, 9, 9, 9, ...SERVER_COOKIE]) }] }) };
    });
    // Answers only a query that carries its server cookie; BADCOOKIE (and the cookie) otherwise.
    strict = await startScriptedServer(STRICT, (query, transport) => {
      const cookie = cookieOf(query);
      if (cookie && cookie.length === 24 && hex(cookie.subarray(8)) === hex(SERVER_COOKIE)) return withCookies(ptr('192.0.2.66'))(query, transport);
      return withCookies((q) => replyTo(q, { rcode: Rcode.BADCOOKIE }))(query, transport);
    });
    // named listens only on addresses an interface has (unlike NSD and Unbound on 127/8): give lo this one for the test.
    if (haveTool('named') && haveTool('ip') && (aliased = addLoopbackAlias(NAMED))) {
      const namedDir = tempDir('named-cookies');
      writeFileSync(join(namedDir, 'bind.lab.zone'), '$TTL 60\n@ SOA ns.bind.lab. admin.bind.lab. 1 60 60 600 60\n@ NS ns.bind.lab.\nns A 127.10.161.7\nwww A 192.0.2.77\n');
      writeFileSync(
        join(namedDir, 'named.conf'),
        `options {\n  directory "${namedDir}";\n  pid-file "${namedDir}/named.pid";\n  listen-on port 53 { ${NAMED}; };\n  listen-on-v6 { none; };\n` +
          `  recursion no;\n  answer-cookie yes;\n  require-server-cookie yes;\n  dnssec-validation no;\n};\n` +
          `controls { };\nzone "bind.lab" { type primary; file "${namedDir}/bind.lab.zone"; };\n`,
      );
      named = await runNamed(join(namedDir, 'named.conf'), namedDir, NAMED, 53, 'bind.lab.');
    }
    const keyset = join(dir, 'keyset-.');
    writeFileSync(keyset, keysetToText([{ name: Name.root, type: RRType.DNSKEY, class: 1, ttl: 300, rdata: ksk.dnskeyRdata }]));
    const hints = join(dir, 'root.hints');
    writeFileSync(hints, `. 3600000 NS a.root-servers.net.\na.root-servers.net. 3600000 A ${ROOT}\n`);
    km = await startKeymaster({
      address: KEYMASTER.host,
      control: `${KEYMASTER.host}:5380`,
      rootHints: hints,
      validation: true,
      rootAnchors: 'none',
      importAnchors: [keyset],
      allow: ['127.0.0.1/32'],
      extraYaml: `policy:\n  - { namespace: .other.lab, noValidation: true, forwarders: ["${OTHER}"] }\n  - { namespace: .forged.lab, noValidation: true, forwarders: ["${FORGER}"] }\n  - { namespace: .strict.lab, noValidation: true, forwarders: ["${STRICT}"] }\n  - { namespace: .bind.lab, noValidation: true, forwarders: ["${NAMED}"] }\n`,
    });
  }, 60_000);

  afterAll(async () => {
    await km?.stop();
    for (const s of [strict, forger, other, root]) await s?.stop();
    await named?.stop();
    if (aliased) execFileSync('ip', ['addr', 'del', `${NAMED}/32`, 'dev', 'lo']);
    if (dir) removeDir(dir);
  });

  it('RFC 8145: a trust-point refresh sends the _ta- key-tag query (type NULL) to the root servers', async () => {
    const refresh = await km.cli(['trust-point', 'refresh', '.']);
    expect(refresh.code, `${refresh.stdout}${refresh.stderr}\n${km.log().slice(-3000)}`).toBe(0);
    const name = `_ta-${ksk.keyTag.toString(16).padStart(4, '0')}.`;
    let seen: ScriptedServer['queries'] = [];
    for (let i = 0; i < 50 && seen.length === 0; i++) {
      seen = root.queries.filter((q) => q.message.question[0]?.name.toString() === name);
      if (seen.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(seen.map((q) => q.message.question[0]!.type)).toContain(RRType.NULL);
    expect(seen[0]!.message.cd).toBe(true);
  });

  it('every query upstream carries a client cookie, one per server, and the server cookie once learned', async () => {
    const www = (await ask(KEYMASTER, 'www.example.', 'A')).response;
    expect(www.answer.map((r) => rdataToText(r.type, r.rdata))).toEqual(['192.0.2.1']);
    const rootCookies = root.queries.map((q) => hex(cookieOf(q.message)));
    expect(rootCookies.every((c) => c !== undefined)).toBe(true);
    const clientCookie = rootCookies[0]!.slice(0, 16);
    expect(rootCookies.every((c) => c!.startsWith(clientCookie))).toBe(true);
    expect(rootCookies.slice(1).some((c) => c === clientCookie + hex(SERVER_COOKIE))).toBe(true);

    const viaOther = (await ask(KEYMASTER, 'x.other.lab.', 'A')).response;
    expect(viaOther.answer.map((r) => rdataToText(r.type, r.rdata))).toEqual(['192.0.2.44']);
    const otherClient = hex(cookieOf(other.queries[0]!.message))!.slice(0, 16);
    expect(otherClient).toMatch(/^[0-9a-f]{16}$/);
    expect(otherClient).not.toBe(clientCookie);
  });

  it('a reply echoing another client cookie is dropped as spoofed and the question asked again over TCP', async () => {
    const r = (await ask(KEYMASTER, 'x.forged.lab.', 'A')).response;
    expect(r.answer.map((x) => rdataToText(x.type, x.rdata))).toEqual(['192.0.2.55']);
    expect(forger.queries.map((q) => q.transport)).toEqual(['udp', 'tcp']);
  });

  it('BIND with require-server-cookie: its BADCOOKIE is answered with its cookie, and the answer comes', async () => {
    if (!named) return;
    // named refuses a cookie-aware client without its server cookie (the oracle: kdig with a client cookie only).
    if (haveTool('kdig')) {
      const { stdout } = await promisify(execFile)('kdig', [`@${NAMED}`, '+cookie', '+nobadcookie', 'www.bind.lab.', 'A']);
      expect(stdout).toMatch(/status: BADCOOKIE/);
    }
    const r = (await ask(KEYMASTER, 'www.bind.lab.', 'A')).response;
    expect(r.answer.map((x) => rdataToText(x.type, x.rdata))).toEqual(['192.0.2.77']);
    const status = JSON.parse((await km.cli(['status', '--json'])).stdout) as { resolver: { goodCitizen: { upstreamCookies: { learned: number; badcookie: number } } } };
    expect(status.resolver.goodCitizen.upstreamCookies.badcookie).toBeGreaterThanOrEqual(1);
    expect(status.resolver.goodCitizen.upstreamCookies.learned).toBeGreaterThanOrEqual(1);
  });

  it('BADCOOKIE from an upstream server: asked once more with its new cookie', async () => {
    const r = (await ask(KEYMASTER, 'x.strict.lab.', 'A')).response;
    expect(r.answer.map((x) => rdataToText(x.type, x.rdata))).toEqual(['192.0.2.66']);
    const sent = strict.queries.map((q) => hex(cookieOf(q.message))!.length);
    expect(sent).toEqual([16, 48]);
  });
});
