/**
 * A private DNSSEC-signed DNS tree on loopback, signed by independent implementations (BIND's
 * `dnssec-signzone`; `ldns-signzone` where BIND refuses; byte-level edits of their output for
 * faults), served by NSD, with one zone per DNSSEC case or fault and the answer an RFC-correct
 * validating resolver must give for each (`SIGNED_CASES`). Keymaster's validator is judged
 * against this table; `test/integration/signed-hierarchy-unbound.test.ts` proves Unbound (the
 * oracle) gives the same answers.
 *
 * Servers (N is the last octet of PREFIX.N, port 53; PREFIX is 127.10.20 unless told otherwise):
 *
 *   N  server   zones
 *   1  root     .            signed, NSEC, ECDSA P-256; a.root-servers.sec. is its NS
 *   2  tld      sec.         signed, NSEC; delegates to every case zone (with DS, or without)
 *   3  cases    every X.sec. case zone (siblings, so one NSD can hold them all)
 *   4  grand    child.optout.sec. (unsigned, below the NSEC3 opt-out zone)
 *
 * Every zone is signed with a KSK and a ZSK (RSA 1024 for algorithm 8, to keep keygen fast),
 * signatures valid from now-1h to now+30d unless the case says otherwise. The trust anchor is
 * the root's DS (`rootDsset`, `rootDs`) or its KSK (`rootKeyset`).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { keyTag } from '../../src/crypto/key-tag.js';
import { exchangeTcp, exchangeUdp, randomQueryId } from '../../src/resolver/dns-transport.js';
import { defaultEdns, extendedErrors } from '../../src/wire/edns.js';
import { encodeMessage } from '../../src/wire/message-encoder.js';
import { type Message, newMessage, rcodeToString } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { parseType, typeToString } from '../../src/wire/rr-type.js';
import { type RunningServer, removeDir, runUnbound, startNsd, tempDir } from './external-servers.js';

// -------------------------------------------------------------------------------------------
// The contract: cases and what a validating resolver must answer
// -------------------------------------------------------------------------------------------

export type CaseRcode = 'NOERROR' | 'NXDOMAIN' | 'SERVFAIL';

export interface SignedCase {
  /** e.g. 'alg13-positive', 'nsec3-optout-insecure', 'bogus-expired'. */
  readonly id: string;
  /** Presentation format. */
  readonly qname: string;
  readonly qtype: string;
  readonly expect: {
    readonly rcode: CaseRcode;
    readonly ad: boolean;
    /**
     * EDE info codes (RFC 8914) when SERVFAIL, or when insecure because of a limit: the first is
     * the exact code Keymaster must give (an answer without it fails); the others are what
     * another validator (Unbound) may give instead.
     */
    readonly ede?: readonly number[];
    /** Type of an answer record that must be present. */
    readonly answerType?: string;
  };
  /**
   * The answer with CD=1 (RFC 4035 §3.2.2: the data, unvalidated, never AD). Absent: the same
   * rcode and answer type as `expect` (for SERVFAIL cases it is always given).
   */
  readonly cd?: { readonly rcode: Exclude<CaseRcode, 'SERVFAIL'>; readonly answerType?: string };
  /** One line: what the case proves. */
  readonly why: string;
  /** Unbound 1.17 answers otherwise (explained in `why`); `expect` keeps the RFC answer. */
  readonly unboundDiffers?: boolean;
}

/** RFC 8914 info codes used in the table (same numbers as src/wire/edns.ts EdeCode). */
const EDE = { UNSUPPORTED_DNSKEY_ALGORITHM: 1, UNSUPPORTED_DS_DIGEST: 2, BOGUS: 6, EXPIRED: 7, NOT_YET_VALID: 8, DNSKEY_MISSING: 9, RRSIGS_MISSING: 10, NSEC_MISSING: 12, NSEC3_ITERATIONS: 27 } as const;

export const SIGNED_TLD = 'sec.';

/** The algorithms of the per-algorithm zones: DNSSEC number → dnssec-keygen mnemonic. */
const ALGORITHM_ZONES: readonly { readonly number: number; readonly mnemonic: string; readonly bits?: number }[] = [
  { number: 8, mnemonic: 'RSASHA256', bits: 1024 },
  { number: 13, mnemonic: 'ECDSAP256SHA256' },
  { number: 14, mnemonic: 'ECDSAP384SHA384' },
  { number: 15, mnemonic: 'ED25519' },
  { number: 16, mnemonic: 'ED448' },
];

function signedCases(): SignedCase[] {
  const cases: SignedCase[] = [];
  const secure = (id: string, qname: string, qtype: string, rcode: 'NOERROR' | 'NXDOMAIN', why: string, answerType?: string): SignedCase => ({
    id,
    qname,
    qtype,
    expect: { rcode, ad: true, ...(answerType ? { answerType } : {}) },
    why,
  });
  for (const alg of ALGORITHM_ZONES) {
    const z = `alg${alg.number}.sec.`;
    cases.push(
      secure(`alg${alg.number}-positive`, `www.${z}`, 'A', 'NOERROR', `${alg.mnemonic} (${alg.number}) signatures verify: secure A`, 'A'),
      secure(`alg${alg.number}-nxdomain`, `nx.${z}`, 'A', 'NXDOMAIN', `${alg.mnemonic} NSEC proof of non-existence (name and wildcard) verifies`),
      secure(`alg${alg.number}-nodata`, `www.${z}`, 'MX', 'NOERROR', `${alg.mnemonic} NSEC proof that www has no MX verifies`),
    );
  }
  for (const [prefix, zone, what] of [
    ['nsec', 'nsec.sec.', 'NSEC'],
    ['nsec3', 'nsec3.sec.', 'NSEC3 (0 iterations, no salt)'],
    ['nsec3salt', 'nsec3salt.sec.', 'NSEC3 (salt, 5 iterations)'],
  ] as const) {
    cases.push(
      secure(`${prefix}-positive`, `www.${zone}`, 'A', 'NOERROR', `${what}: plain secure answer`, 'A'),
      secure(`${prefix}-nxdomain`, `nx.${zone}`, 'A', 'NXDOMAIN', `${what}: NXDOMAIN proof (RFC 4035 §5.4 / RFC 5155 §8.4: closest encloser, next closer, wildcard)`),
      secure(`${prefix}-nodata`, `www.${zone}`, 'MX', 'NOERROR', `${what}: NODATA proof (type bitmap without MX)`),
      secure(`${prefix}-ent-nodata`, `ent.${zone}`, 'A', 'NOERROR', `${what}: NODATA at an empty non-terminal (ent has only a.ent below it)`),
      secure(`${prefix}-wildcard`, `x.wild.${zone}`, 'A', 'NOERROR', `${what}: wildcard expansion (RRSIG labels < owner labels) with the proof that x.wild does not exist`, 'A'),
      secure(`${prefix}-wildcard-nodata`, `x.wild.${zone}`, 'MX', 'NOERROR', `${what}: wildcard NODATA (no x.wild, *.wild has no MX)`),
    );
  }
  cases.push(
    secure('nsec3-optout-positive', 'www.optout.sec.', 'A', 'NOERROR', 'NSEC3 opt-out zone: its own data is secure', 'A'),
    {
      id: 'nsec3-optout-insecure',
      qname: 'www.child.optout.sec.',
      qtype: 'A',
      expect: { rcode: 'NOERROR', ad: false, answerType: 'A' },
      why: 'unsigned delegation covered by an opt-out NSEC3 (no NSEC3 of its own): no DS proven, child insecure (RFC 5155 §8.6)',
    },
    {
      id: 'insecure-delegation',
      qname: 'www.insecure.sec.',
      qtype: 'A',
      expect: { rcode: 'NOERROR', ad: false, answerType: 'A' },
      why: 'delegation from the NSEC-signed sec. without DS (NSEC at insecure.sec. has NS, no DS): insecure',
    },
    secure('cname-secure-to-secure', 'tosecure.links.sec.', 'A', 'NOERROR', 'CNAME in a secure zone to a name in another secure zone: every link secure, AD', 'A'),
    {
      id: 'cname-secure-to-insecure',
      qname: 'toinsecure.links.sec.',
      qtype: 'A',
      expect: { rcode: 'NOERROR', ad: false, answerType: 'A' },
      why: 'secure CNAME to a name in an insecure zone: the answer is only as secure as its weakest link, no AD',
    },
    secure('dname-secure', 'www.old.links.sec.', 'A', 'NOERROR', 'signed DNAME old.links.sec. → alg13.sec.: the unsigned synthesized CNAME is accepted from the DNAME, AD', 'A'),
    {
      id: 'bogus-bad-signature',
      qname: 'www.badsig.sec.',
      qtype: 'A',
      expect: { rcode: 'SERVFAIL', ad: false, ede: [EDE.BOGUS] },
      cd: { rcode: 'NOERROR', answerType: 'A' },
      why: 'one byte of the RRSIG over www.badsig.sec. A flipped: the only signature does not verify, bogus',
    },
    {
      id: 'bogus-expired',
      qname: 'www.expired.sec.',
      qtype: 'A',
      expect: { rcode: 'SERVFAIL', ad: false, ede: [EDE.EXPIRED, EDE.BOGUS] },
      cd: { rcode: 'NOERROR', answerType: 'A' },
      why: 'every signature of the zone expired 2 days ago (beyond any clock skew allowance): bogus, EDE 7',
    },
    {
      id: 'bogus-not-yet-valid',
      qname: 'www.notyet.sec.',
      qtype: 'A',
      expect: { rcode: 'SERVFAIL', ad: false, ede: [EDE.NOT_YET_VALID, EDE.BOGUS] },
      cd: { rcode: 'NOERROR', answerType: 'A' },
      why: 'every signature of the zone has its inception 2 days ahead: bogus, EDE 8',
    },
    {
      id: 'bogus-ds-mismatch',
      qname: 'www.dsmismatch.sec.',
      qtype: 'A',
      expect: { rcode: 'SERVFAIL', ad: false, ede: [EDE.DNSKEY_MISSING, EDE.BOGUS] },
      cd: { rcode: 'NOERROR', answerType: 'A' },
      why: 'the DS in sec. is the digest of a key the zone does not publish: no DNSKEY matches, bogus (EDE 9)',
    },
    {
      id: 'bogus-rrsig-missing',
      qname: 'www.nosig.sec.',
      qtype: 'A',
      expect: { rcode: 'SERVFAIL', ad: false, ede: [EDE.RRSIGS_MISSING, EDE.BOGUS] },
      cd: { rcode: 'NOERROR', answerType: 'A' },
      why: 'the RRSIG of www.nosig.sec. A deleted from a signed zone: data that must be signed is not, bogus (EDE 10)',
    },
    {
      id: 'bogus-nsec-hole',
      qname: 'n.hole.sec.',
      qtype: 'A',
      expect: { rcode: 'SERVFAIL', ad: false, ede: [EDE.NSEC_MISSING, EDE.BOGUS] },
      cd: { rcode: 'NXDOMAIN' },
      why: 'the NSEC m.hole.sec. → z.hole.sec. (and its RRSIG) deleted: NXDOMAIN for n.hole.sec. cannot be proven, bogus (EDE 12)',
    },
    secure('nsec-hole-positive', 'm.hole.sec.', 'A', 'NOERROR', 'the same zone still answers existing names securely: only the denial is broken', 'A'),
    {
      id: 'bogus-sha1-ds-ignored',
      qname: 'www.sha1downgrade.sec.',
      qtype: 'A',
      expect: { rcode: 'SERVFAIL', ad: false, ede: [EDE.DNSKEY_MISSING, EDE.BOGUS] },
      cd: { rcode: 'NOERROR', answerType: 'A' },
      why: 'DS set = SHA-1 DS of the real KSK + SHA-256 DS of an unpublished key: SHA-1 is ignored when SHA-256 is present (RFC 4509 §3), so no key matches, bogus',
    },
    {
      id: 'bogus-revoked-ksk',
      qname: 'www.revoked.sec.',
      qtype: 'A',
      expect: { rcode: 'SERVFAIL', ad: false, ede: [EDE.DNSKEY_MISSING, EDE.BOGUS] },
      cd: { rcode: 'NOERROR', answerType: 'A' },
      why:
        'the only KSK (the one the DS names) has the REVOKE bit: it must not be used for anything but validating its own revocation (RFC 5011 §2.1), bogus. ' +
        'Unbound 1.17 applies the REVOKE bit to its own trust anchors only and answers this securely (AD)',
      unboundDiffers: true,
    },
    {
      id: 'insecure-unknown-ds-algorithm',
      qname: 'www.unknownalg.sec.',
      qtype: 'A',
      expect: { rcode: 'NOERROR', ad: false, answerType: 'A', ede: [EDE.UNSUPPORTED_DNSKEY_ALGORITHM] },
      why: 'the only DS names algorithm 100 (unassigned): no supported algorithm, the zone is insecure, not bogus (RFC 4035 §5.2, RFC 6840 §5.2)',
    },
    {
      id: 'insecure-unknown-ds-digest',
      qname: 'www.unknowndigest.sec.',
      qtype: 'A',
      expect: { rcode: 'NOERROR', ad: false, answerType: 'A', ede: [EDE.UNSUPPORTED_DS_DIGEST] },
      why: 'the only DS has digest type 200 (unassigned): no usable DS, insecure (RFC 4035 §5.2, RFC 6840 §5.2)',
    },
    secure('nsec3-iterations-positive', 'www.iter200.sec.', 'A', 'NOERROR', 'NSEC3 with 200 iterations (ldns-signzone): a positive answer needs no NSEC3, still secure', 'A'),
    {
      id: 'nsec3-iterations-insecure',
      qname: 'nx.iter200.sec.',
      qtype: 'A',
      expect: { rcode: 'NXDOMAIN', ad: false, ede: [EDE.NSEC3_ITERATIONS] },
      why: 'NXDOMAIN proven only by NSEC3 with 200 iterations (over the 150 Unbound and BIND accept, RFC 9276 §3.2): insecure, no AD, EDE 27 where given',
    },
    {
      id: 'keytrap-servfail',
      qname: KEYTRAP_QNAME,
      qtype: 'A',
      expect: { rcode: 'SERVFAIL', ad: false, ede: [EDE.BOGUS, EDE.DNSKEY_MISSING, EDE.RRSIGS_MISSING] },
      cd: { rcode: 'NOERROR', answerType: 'A' },
      why: `KeyTrap (CVE-2023-50387): ${KEYTRAP_KEYS} DNSKEYs and ${KEYTRAP_SIGNATURES} bad RRSIGs over www A all share one key tag; bounded work, then bogus`,
    },
  );
  return cases;
}

/** The KeyTrap zone's question (case 'keytrap-servfail'): DNSKEYs and RRSIGs all with one key tag. */
export const KEYTRAP_QNAME = 'www.keytrap.sec.';
const KEYTRAP_KEYS = 32;
const KEYTRAP_SIGNATURES = 32;

/** The case table; the same in every tree (no address in it depends on the prefix). */
export const SIGNED_CASES: readonly SignedCase[] = signedCases();

// -------------------------------------------------------------------------------------------
// The running tree
// -------------------------------------------------------------------------------------------

export interface SignedHierarchy {
  readonly prefix: string;
  /** named.root-style file pointing at the test root server. */
  readonly rootHintsFile: string;
  /** Path of a dsset-. file (the root's DS): the trust anchor. */
  readonly rootDsset: string;
  /** Path of a keyset-. file (the root's KSK DNSKEY). */
  readonly rootKeyset: string;
  /** DS RDATA presentation lines of the root (`KEYTAG 13 2 HEX`). */
  readonly rootDs: readonly string[];
  readonly cases: readonly SignedCase[];
  /** Where the zone files (unsigned and signed), keys and dsset- files are. */
  readonly zonesDir: string;
  /** Unbound validating from the root hints and root DS, EDE on (see `startValidatingUnbound`), plus `extra` server: lines. */
  startUnbound(address: string, port?: number, extra?: readonly string[]): Promise<RunningServer>;
  /** Stops every NSD and removes the temp dir; safe to call twice. */
  stop(): Promise<void>;
}

export interface SignedHierarchyOptions {
  /** First three octets of the server addresses, inside 127.10.0.0/16. Default 127.10.20. */
  readonly prefix?: string;
}

type Denial = { readonly kind: 'nsec' } | { readonly kind: 'nsec3'; readonly salt: string; readonly iterations: number; readonly optOut?: boolean };

interface ZoneSpec {
  readonly name: string;
  /** Last octet of the server that hosts the zone. */
  readonly host: number;
  /** Records besides SOA, NS and the NS address (the zone's NS is `ns.ZONE`). */
  readonly records: readonly string[];
  /** Absent: the zone stays unsigned (and its parent has no DS for it). */
  readonly signing?: SigningSpec;
  /** Replaces the default SOA/NS/NS-address header (the root's NS is a.root-servers.sec.). */
  readonly header?: string;
}

interface SigningSpec {
  readonly algorithm: string;
  readonly bits?: number;
  readonly denial: Denial;
  /** Which implementation signs (default bind). */
  readonly signer?: 'bind' | 'ldns';
  /** Validity window in seconds relative to now (default -3600 … +30 days). */
  readonly window?: { readonly from: number; readonly until: number };
  /** Byte-level edit of the signed zone (one record per line). */
  readonly edit?: (lines: string[], zone: BuiltZone) => string[];
  /** Replaces the DS RRset the parent publishes (lines `OWNER IN DS …`). */
  readonly parentDs?: (ds: string[], zone: BuiltZone) => Promise<string[]>;
  /** Sets the REVOKE bit (RFC 5011) of the KSK before signing (`dnssec-revoke`); the DS is of the revoked key. */
  readonly revokeKsk?: boolean;
  /** DNSKEY records (presentation, no private key) put in the zone before it is signed. */
  readonly extraKeys?: (zone: BuiltZone) => string[];
}

interface BuiltZone {
  readonly name: string;
  readonly dir: string;
  /** Base names (`Kzone.+alg+tag`) of the generated keys. */
  ksk: string;
  zsk: string;
  kskTag: number;
  zskTag: number;
  signedFile: string;
  /** `OWNER IN DS …` lines the parent must publish (empty when unsigned). */
  ds: string[];
}

const DAY = 86_400;
const DEFAULT_WINDOW = { from: -3600, until: 30 * DAY };

function tld(name: string): string {
  return `${name}.${SIGNED_TLD}`;
}

function caseZones(p: string): ZoneSpec[] {
  const ecdsa = (denial: Denial = { kind: 'nsec' }, extra: Partial<SigningSpec> = {}): SigningSpec => ({ algorithm: 'ECDSAP256SHA256', denial, ...extra });
  const basic = ['www A 192.0.2.1', 'www TXT "signed by BIND"'];
  const denialShapes = [...basic, 'a.ent A 192.0.2.2', '*.wild A 192.0.2.3', '*.wild TXT "wildcard"'];
  const zones: ZoneSpec[] = ALGORITHM_ZONES.map((alg) => ({
    name: tld(`alg${alg.number}`),
    host: 3,
    records: basic,
    signing: { algorithm: alg.mnemonic, ...(alg.bits ? { bits: alg.bits } : {}), denial: { kind: 'nsec' } },
  }));
  zones.push(
    { name: tld('nsec'), host: 3, records: denialShapes, signing: ecdsa() },
    { name: tld('nsec3'), host: 3, records: denialShapes, signing: ecdsa({ kind: 'nsec3', salt: '-', iterations: 0 }) },
    { name: tld('nsec3salt'), host: 3, records: denialShapes, signing: ecdsa({ kind: 'nsec3', salt: 'c0ffee42', iterations: 5 }) },
    {
      name: tld('optout'),
      host: 3,
      records: [...basic, 'child NS ns.child', `ns.child A ${p}.4`],
      signing: ecdsa({ kind: 'nsec3', salt: '-', iterations: 0, optOut: true }),
    },
    { name: tld('insecure'), host: 3, records: basic },
    {
      name: tld('links'),
      host: 3,
      records: ['tosecure CNAME www.alg13.sec.', 'toinsecure CNAME www.insecure.sec.', 'old DNAME alg13.sec.'],
      signing: ecdsa(),
    },
    { name: tld('badsig'), host: 3, records: basic, signing: ecdsa({ kind: 'nsec' }, { edit: (lines, z) => flipSignature(lines, `www.${z.name}`, 'A') }) },
    { name: tld('expired'), host: 3, records: basic, signing: ecdsa({ kind: 'nsec' }, { window: { from: -32 * DAY, until: -2 * DAY } }) },
    { name: tld('notyet'), host: 3, records: basic, signing: ecdsa({ kind: 'nsec' }, { window: { from: 2 * DAY, until: 32 * DAY } }) },
    { name: tld('dsmismatch'), host: 3, records: basic, signing: ecdsa({ kind: 'nsec' }, { parentDs: (_ds, z) => dsOfUnpublishedKey(z) }) },
    {
      name: tld('nosig'),
      host: 3,
      records: basic,
      signing: ecdsa({ kind: 'nsec' }, { edit: (lines, z) => lines.filter((l) => !isRecord(l, `www.${z.name}`, 'RRSIG', 'A')) }),
    },
    {
      name: tld('hole'),
      host: 3,
      records: ['a A 192.0.2.1', 'm A 192.0.2.13', 'z A 192.0.2.26'],
      signing: ecdsa({ kind: 'nsec' }, {
        edit: (lines, z) => lines.filter((l) => !isRecord(l, `m.${z.name}`, 'NSEC') && !isRecord(l, `m.${z.name}`, 'RRSIG', 'NSEC')),
      }),
    },
    {
      name: tld('sha1downgrade'),
      host: 3,
      records: basic,
      signing: ecdsa({ kind: 'nsec' }, {
        parentDs: async (_ds, z) => [
          ...dsLines(await run('dnssec-dsfromkey', ['-1', join(z.dir, `${z.ksk}.key`)], z.dir)),
          ...(await dsOfUnpublishedKey(z)),
        ],
      }),
    },
    { name: tld('revoked'), host: 3, records: basic, signing: ecdsa({ kind: 'nsec' }, { revokeKsk: true }) },
    { name: tld('unknownalg'), host: 3, records: basic, signing: ecdsa({ kind: 'nsec' }, { parentDs: async (ds) => ds.map((l) => rewriteDs(l, { algorithm: 100 })) }) },
    { name: tld('unknowndigest'), host: 3, records: basic, signing: ecdsa({ kind: 'nsec' }, { parentDs: async (ds) => ds.map((l) => rewriteDs(l, { digestType: 200 })) }) },
    { name: tld('iter200'), host: 3, records: basic, signing: ecdsa({ kind: 'nsec3', salt: 'abcd', iterations: 200 }, { signer: 'ldns' }) },
    {
      name: tld('keytrap'),
      host: 3,
      records: basic,
      signing: {
        algorithm: 'RSASHA256',
        bits: 1024,
        denial: { kind: 'nsec' },
        extraKeys: (z) => collidingRsaKeys(z.name, keytrapTag(z), KEYTRAP_KEYS),
        edit: (lines, z) => keytrapSignatures(lines, `www.${z.name}`, keytrapTag(z), KEYTRAP_SIGNATURES),
      },
    },
    // Below the case zones, on their own server: the unsigned child of the opt-out zone.
    { name: 'child.optout.sec.', host: 4, records: basic },
  );
  return zones;
}

/** The shared key tag of the KeyTrap keys: one no real key of the zone has. */
function keytrapTag(z: BuiltZone): number {
  let tag = (z.zskTag + 1) & 0xffff;
  while (tag === z.kskTag || tag === z.zskTag) tag = (tag + 1) & 0xffff;
  return tag;
}

// -------------------------------------------------------------------------------------------
// Building
// -------------------------------------------------------------------------------------------

function run(command: string, args: readonly string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} (in ${cwd}) failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** YYYYMMDDHHMMSS in UTC, the absolute time format of dnssec-signzone and ldns-signzone. */
function signerTime(date: Date): string {
  return date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

function zoneHeader(name: string, nsAddress: string): string {
  return (
    `$ORIGIN ${name}\n$TTL 300\n` +
    `@ SOA ns.${name} hostmaster.${name} 1 3600 600 86400 300\n` +
    `@ NS ns.${name}\n` +
    `ns.${name} A ${nsAddress}\n`
  );
}

function fileName(zone: string): string {
  return zone === '.' ? 'root' : zone.slice(0, -1);
}

/** The record fields of a line of signed zone output (`-O full`, ldns): owner TTL class type rdata…; undefined for comments. */
function fields(line: string): string[] | undefined {
  const t = line.trim();
  if (!t || t.startsWith(';') || t.startsWith('$')) return undefined;
  return t.split(/\s+/);
}

function isRecord(line: string, owner: string, type: string, covered?: string): boolean {
  const f = fields(line);
  if (!f || f.length < 5) return false;
  if (f[0]!.toLowerCase() !== owner.toLowerCase() || f[3] !== type) return false;
  return covered === undefined || f[4] === covered;
}

/** Flips one bit in the middle of the signature of every RRSIG over OWNER TYPE. */
function flipSignature(lines: string[], owner: string, covered: string): string[] {
  let flipped = 0;
  const out = lines.map((line) => {
    if (!isRecord(line, owner, 'RRSIG', covered)) return line;
    const f = fields(line)!;
    // owner ttl class RRSIG covered alg labels ottl exp inc tag signer signature…
    const sig = Buffer.from(f.slice(12).join(''), 'base64');
    sig[sig.length >> 1] ^= 0x01;
    flipped++;
    return [...f.slice(0, 12), sig.toString('base64')].join(' ');
  });
  if (flipped === 0) throw new Error(`no RRSIG ${covered} at ${owner} to corrupt`);
  return out;
}

/** A DS line with its algorithm or digest type replaced (the digest bytes kept). */
function rewriteDs(line: string, change: { algorithm?: number; digestType?: number }): string {
  const f = fields(line)!;
  const i = f.indexOf('DS');
  if (i < 0 || f.length < i + 5) throw new Error(`not a DS line: ${line}`);
  const [tag, alg, digestType, ...digest] = f.slice(i + 1);
  return `${f.slice(0, i).join(' ')} DS ${tag} ${change.algorithm ?? alg} ${change.digestType ?? digestType} ${digest.join('')}`;
}

/** The DS of a fresh key of the same algorithm that the zone never publishes. */
async function dsOfUnpublishedKey(z: BuiltZone): Promise<string[]> {
  const dir = join(z.dir, 'unpublished');
  mkdirSync(dir, { recursive: true });
  const key = (await run('dnssec-keygen', ['-q', '-K', dir, '-a', 'ECDSAP256SHA256', '-f', 'KSK', z.name], dir)).trim();
  return dsLines(await run('dnssec-dsfromkey', ['-2', join(dir, `${key}.key`)], dir));
}

function dsLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith(';'))
    .map((l) => rewriteDs(l, {}));
}

/**
 * DNSKEY RRs (RSA/SHA-256, ZSK flags) whose key tag is `tag`: a random 1024-bit "modulus" whose
 * last two octets are chosen so the RFC 4034 Appendix B checksum lands on the tag. They are not
 * keys of anyone (BIND accepts any modulus bytes), which is all a KeyTrap zone needs.
 */
function collidingRsaKeys(zone: string, tag: number, count: number): string[] {
  const out: string[] = [];
  for (let n = 0; n < count; n++) {
    const key = Buffer.concat([Buffer.from([3, 1, 0, 1]), randomBytes(128)]);
    key[4] |= 0x80; // a 1024-bit modulus has its top bit set
    const rdata = Buffer.concat([Buffer.from([1, 0, 3, 8]), key]);
    let found = false;
    for (let w = 0; w < 0x10000 && !found; w++) {
      rdata[rdata.length - 2] = w >> 8;
      rdata[rdata.length - 1] = w & 0xff;
      found = keyTag(rdata) === tag;
    }
    if (!found) throw new Error(`no modulus tweak gives key tag ${tag}`);
    out.push(`${zone} 300 IN DNSKEY 256 3 8 ${rdata.subarray(4).toString('base64')}`);
  }
  return out;
}

/** Replaces the RRSIGs over OWNER A by `count` random signatures that all claim key tag `tag`. */
function keytrapSignatures(lines: string[], owner: string, tag: number, count: number): string[] {
  const real = lines.find((l) => isRecord(l, owner, 'RRSIG', 'A'));
  if (!real) throw new Error(`no RRSIG A at ${owner}`);
  const f = fields(real)!;
  const forged: string[] = [];
  for (let i = 0; i < count; i++) forged.push([...f.slice(0, 10), String(tag), f[11]!, randomBytes(128).toString('base64')].join(' '));
  return [...lines.filter((l) => !isRecord(l, owner, 'RRSIG', 'A')), ...forged];
}

async function generateKeys(z: BuiltZone, spec: SigningSpec): Promise<void> {
  const size = spec.bits ? ['-b', String(spec.bits)] : [];
  z.ksk = (await run('dnssec-keygen', ['-q', '-K', z.dir, '-a', spec.algorithm, ...size, '-f', 'KSK', z.name], z.dir)).trim();
  z.zsk = (await run('dnssec-keygen', ['-q', '-K', z.dir, '-a', spec.algorithm, ...size, z.name], z.dir)).trim();
  if (spec.revokeKsk) {
    // Prints the new key's base name: the REVOKE flag changes the key tag.
    const revoked = (await run('dnssec-revoke', ['-r', '-K', z.dir, `${z.ksk}.key`], z.dir)).trim();
    z.ksk = revoked.replace(/^.*\//, '').replace(/\.key$/, '');
  }
  z.kskTag = Number(/\+(\d+)$/.exec(z.ksk)![1]);
  z.zskTag = Number(/\+(\d+)$/.exec(z.zsk)![1]);
}

/** Writes, signs and edits one zone; fills `z.signedFile` and `z.ds`. */
async function buildZone(z: BuiltZone, spec: ZoneSpec, nsAddress: string, now: Date, childDs: readonly string[], extraRecords: readonly string[] = []): Promise<void> {
  mkdirSync(z.dir, { recursive: true });
  const unsignedFile = join(z.dir, `${fileName(z.name)}.zone`);
  const signing = spec.signing;
  if (signing) await generateKeys(z, signing);
  const extraKeys = signing?.extraKeys?.(z) ?? [];
  writeFileSync(unsignedFile, (spec.header ?? zoneHeader(z.name, nsAddress)) + [...spec.records, ...extraRecords, ...childDs, ...extraKeys].join('\n') + '\n');
  if (!signing) {
    z.signedFile = unsignedFile;
    z.ds = [];
    return;
  }
  const window = signing.window ?? DEFAULT_WINDOW;
  const from = signerTime(new Date(now.getTime() + window.from * 1000));
  const until = signerTime(new Date(now.getTime() + window.until * 1000));
  const signedFile = join(z.dir, `${fileName(z.name)}.signed`);
  const keys = [join(z.dir, z.ksk), join(z.dir, z.zsk)];
  if (signing.signer === 'ldns') {
    const d = signing.denial;
    const nsec3 = d.kind === 'nsec3' ? ['-n', '-t', String(d.iterations), ...(d.salt === '-' ? [] : ['-s', d.salt]), ...(d.optOut ? ['-p'] : [])] : [];
    await run('ldns-signzone', [...nsec3, '-i', from, '-e', until, '-o', z.name, '-f', signedFile, unsignedFile, ...keys], z.dir);
  } else {
    const nsec3 = signing.denial.kind === 'nsec3' ? ['-3', signing.denial.salt, '-H', String(signing.denial.iterations), ...(signing.denial.optOut ? ['-A'] : [])] : [];
    // -P: no post-signing verification, which rightly fails for the expired / not-yet-valid zones.
    const verify = signing.window || signing.revokeKsk ? ['-P'] : [];
    await run(
      'dnssec-signzone',
      ['-q', '-S', '-K', z.dir, '-d', z.dir, '-o', z.name, '-O', 'full', '-s', from, '-e', until, ...nsec3, ...verify, '-f', signedFile, unsignedFile],
      z.dir,
    );
  }
  if (signing.edit) {
    const lines = readFileSync(signedFile, 'utf8').split('\n');
    writeFileSync(signedFile, signing.edit(lines, z).join('\n') + '\n');
  }
  z.signedFile = signedFile;
  // dnssec-dsfromkey prints nothing for a revoked key; ldns-key2ds does not mind.
  const ds = signing.revokeKsk
    ? dsLines(await run('ldns-key2ds', ['-n', '-2', join(z.dir, `${z.ksk}.key`)], z.dir))
    : dsLines(await run('dnssec-dsfromkey', ['-2', join(z.dir, `${z.ksk}.key`)], z.dir));
  z.ds = signing.parentDs ? await signing.parentDs(ds, z) : ds;
}

function newBuiltZone(name: string, dir: string): BuiltZone {
  return { name, dir: join(dir, fileName(name)), ksk: '', zsk: '', kskTag: -1, zskTag: -1, signedFile: '', ds: [] };
}

function rootHintsText(p: string): string {
  return (
    '; root hints of the signed test tree\n' +
    '.                        3600000      NS    A.ROOT-SERVERS.SEC.\n' +
    `A.ROOT-SERVERS.SEC.      3600000      A     ${p}.1\n`
  );
}

/** Builds and signs the tree in a temp dir and starts its NSD servers; rejects (and cleans up) on failure. */
export async function startSignedHierarchy(options: SignedHierarchyOptions = {}): Promise<SignedHierarchy> {
  const prefix = options.prefix ?? '127.10.20';
  if (!/^127\.10\.\d{1,3}$/.test(prefix)) throw new Error(`prefix ${prefix} is not inside 127.10.0.0/16`);
  const dir = tempDir('signed-hierarchy');
  const servers: RunningServer[] = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all(servers.map((s) => s.stop()));
    // SIGNED_HIERARCHY_KEEP=1 leaves the zones, keys and signed files for inspection.
    if (process.env.SIGNED_HIERARCHY_KEEP) console.log(`signed hierarchy kept in ${dir}`);
    else removeDir(dir);
  };
  try {
    const now = new Date();
    const specs = caseZones(prefix);
    const built = new Map(specs.map((s) => [s.name, newBuiltZone(s.name, dir)]));
    // Grandchildren first (their DS goes into the case zones), then case zones, then sec., then .
    const grand = specs.filter((s) => s.host === 4);
    await mapLimit(grand, 3, (s) => buildZone(built.get(s.name)!, s, `${prefix}.4`, now, []));
    const childDsOf = (zone: string) => grand.filter((g) => g.name.endsWith(`.${zone}`)).flatMap((g) => built.get(g.name)!.ds);
    const cases = specs.filter((s) => s.host === 3);
    await mapLimit(cases, 3, (s) => buildZone(built.get(s.name)!, s, `${prefix}.3`, now, childDsOf(s.name)));

    const tldSpec: ZoneSpec = {
      name: SIGNED_TLD,
      host: 2,
      records: [`a.root-servers.sec. A ${prefix}.1`, ...cases.flatMap((s) => [`${s.name} NS ns.${s.name}`, `ns.${s.name} A ${prefix}.3`])],
      signing: { algorithm: 'ECDSAP256SHA256', denial: { kind: 'nsec' } },
    };
    const tldZone = newBuiltZone(SIGNED_TLD, dir);
    await buildZone(tldZone, tldSpec, `${prefix}.2`, now, cases.flatMap((s) => built.get(s.name)!.ds));

    const rootSpec: ZoneSpec = {
      name: '.',
      host: 1,
      header: '$ORIGIN .\n$TTL 86400\n. SOA a.root-servers.sec. hostmaster.root-servers.sec. 1 3600 600 86400 300\n. NS a.root-servers.sec.\n',
      records: [`${SIGNED_TLD} NS ns.${SIGNED_TLD}`, `ns.${SIGNED_TLD} A ${prefix}.2`, `a.root-servers.sec. A ${prefix}.1`],
      signing: { algorithm: 'ECDSAP256SHA256', denial: { kind: 'nsec' } },
    };
    const rootZone = newBuiltZone('.', dir);
    await buildZone(rootZone, rootSpec, `${prefix}.1`, now, tldZone.ds);

    const rootDsset = join(dir, 'dsset-.');
    writeFileSync(rootDsset, rootZone.ds.join('\n') + '\n');
    const rootKeyset = join(dir, 'keyset-.');
    writeFileSync(rootKeyset, kskLines(readFileSync(rootZone.signedFile, 'utf8')).join('\n') + '\n');
    const rootHintsFile = join(dir, 'named.root');
    writeFileSync(rootHintsFile, rootHintsText(prefix));

    const zonesOn = (host: number): Record<string, string> =>
      Object.fromEntries(specs.filter((s) => s.host === host).map((s) => [s.name, built.get(s.name)!.signedFile]));
    const started = await Promise.allSettled([
      startNsd(`${prefix}.1`, 53, { '.': rootZone.signedFile }),
      startNsd(`${prefix}.2`, 53, { [SIGNED_TLD]: tldZone.signedFile }),
      startNsd(`${prefix}.3`, 53, zonesOn(3)),
      startNsd(`${prefix}.4`, 53, zonesOn(4)),
    ]);
    for (const r of started) if (r.status === 'fulfilled') servers.push(r.value);
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;

    const rootDs = rootZone.ds.map((l) => {
      const f = fields(l)!;
      return f.slice(f.indexOf('DS') + 1).join(' ');
    });
    return {
      prefix,
      rootHintsFile,
      rootDsset,
      rootKeyset,
      rootDs,
      cases: SIGNED_CASES,
      zonesDir: dir,
      startUnbound: (address, port, extra) => startValidatingUnbound(address, port ?? 53, { rootHintsFile, rootDs: rootZone.ds }, extra),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The KSK DNSKEY lines (flags 257) of a signed zone, as a keyset- file holds them. */
function kskLines(signedText: string): string[] {
  return signedText
    .split('\n')
    .map((l) => l.replace(/;.*$/, '').trim())
    .filter((l) => {
      const f = fields(l);
      return f !== undefined && f[3] === 'DNSKEY' && f[4] === '257';
    });
}

// -------------------------------------------------------------------------------------------
// Unbound, the oracle
// -------------------------------------------------------------------------------------------

/**
 * Unbound validating from the private root: root hints, the root DS as trust anchor, EDE on,
 * one thread, no discard timeout, real time (the zones are signed around now); `extra` lines
 * (e.g. "aggressive-nsec: no") go at the end of its server: clause.
 */
export async function startValidatingUnbound(
  address: string,
  port: number,
  tree: { rootHintsFile: string; rootDs: readonly string[] },
  extra: readonly string[] = [],
): Promise<RunningServer> {
  const dir = tempDir('unbound-signed');
  const anchors = join(dir, 'root-ds.txt');
  writeFileSync(anchors, tree.rootDs.join('\n') + '\n');
  const conf = join(dir, 'unbound.conf');
  writeFileSync(
    conf,
    `server:\n  interface: ${address}@${port}\n  port: ${port}\n  username: ""\n  chroot: ""\n  directory: "${dir}"\n` +
      `  pidfile: "${dir}/unbound.pid"\n  do-daemonize: no\n  use-syslog: no\n  logfile: ""\n  verbosity: 1\n` +
      `  access-control: 127.0.0.0/8 allow\n  do-not-query-localhost: no\n  do-ip6: no\n  num-threads: 1\n` +
      `  module-config: "validator iterator"\n  root-hints: "${tree.rootHintsFile}"\n  trust-anchor-file: "${anchors}"\n` +
      // harden-algo-downgrade: only the strongest DS digest counts (RFC 4509 §3: SHA-1 DS ignored
      // when a SHA-256 one is there); it would also insist on every DS algorithm, which no zone
      // here has more than one of.
      `  val-log-level: 2\n  ede: yes\n  discard-timeout: 0\n  harden-algo-downgrade: yes\n` +
      extra.map((l) => `  ${l}\n`).join('') +
      `remote-control:\n  control-enable: no\n`,
  );
  return runUnbound(conf, dir, address, port);
}

// -------------------------------------------------------------------------------------------
// Asking
// -------------------------------------------------------------------------------------------

/** One RD query with EDNS DO=1 (and CD when asked), over UDP with TCP fallback on TC, or over TCP. */
export async function askDnssec(server: { host: string; port: number }, qname: string, qtype: string, opts: { cd?: boolean; tcp?: boolean; timeoutMs?: number } = {}): Promise<Message> {
  const query = newMessage({
    id: randomQueryId(),
    rd: true,
    cd: opts.cd ?? false,
    question: [{ name: Name.parse(qname), type: parseType(qtype), class: 1 }],
    edns: defaultEdns({ udpSize: 1232, dnssecOk: true }),
  });
  const wire = encodeMessage(query);
  const timeout = opts.timeoutMs ?? 10_000;
  if (opts.tcp) return (await exchangeTcp(server, query, wire, timeout)).response;
  const udp = await exchangeUdp(server, query, wire, timeout);
  if (!udp.response.tc) return udp.response;
  return (await exchangeTcp(server, query, wire, timeout)).response;
}

/** One line for a failed expectation: rcode, AD, the answer's owners and types, the EDEs. */
export function summariseAnswer(r: Message): string {
  const ede = extendedErrors(r.edns).map((e) => `${e.infoCode}${e.extraText ? ` (${e.extraText})` : ''}`);
  return `${rcodeToString(r.rcode)} ad=${r.ad} answer=[${r.answer.map((rr) => `${rr.name} ${typeToString(rr.type)}`).join(', ')}] ede=[${ede.join('; ')}]`;
}

