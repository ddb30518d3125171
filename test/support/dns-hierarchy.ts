/**
 * A private DNS tree on loopback for resolver tests: a root, TLDs and second-level zones, each
 * served by real NSD processes, so a recursive resolver that starts from `rootHintsFile` meets
 * real referrals, glue, glueless delegations, a dead and a lame server, CNAME/DNAME chains
 * across zones, wildcards, negative answers and an answer that needs TCP.
 *
 * One NSD process per "server": an NSD answers authoritatively for every zone it loads,
 * whatever address was asked, so servers that host different zones must be different
 * processes. Every server listens on PREFIX.N:53 (PREFIX is 127.10.1 unless told otherwise).
 *
 * Layout (N is the last octet of the address; PREFIX.250 is dead: nothing listens there):
 *
 *   N   server            zones               notes
 *   1   root-a            .                   a.root-servers.test.
 *   2   root-b            .                   b.root-servers.test. (same zone, second process)
 *   3   test              test.               in-bailiwick glue for a.test., dead.test., d1.test.;
 *                                             holds ns1.labnic.test. (the NS of lab.)
 *   4   example           example.            b.example. (glueless), lame.example., upward.example.,
 *                                             cache.example.; also ns1.upward.example.: not
 *                                             authoritative there, it answers with the referral again
 *   5   lab               lab.                delegated from . to ns1.labnic.test. without glue
 *   6   a.test            a.test.             A/AAAA/MX/TXT, wildcard, DNAME, big TXT, NS names of b.example.
 *   7   b.example         b.example.          NS ns1/ns2.hosting.a.test. (glueless)
 *   8   c.lab             c.lab.              end of the CNAME chain www.a.test → x.b.example → y.c.lab
 *   9   dead.test         dead.test.          the live NS of two; ns1.dead.test. is PREFIX.250
 *   10  lame              (none)              ns1.lame.example.: answers REFUSED to everything
 *   11  lame.example      lame.example.       ns2.lame.example. and ns2.upward.example.: the working NS
 *                         upward.example.     of those two zones
 *   12  d1.test           d1.test.            deep chain: d1.test → d2 → d3 → d4.d3.d2.d1.test.
 *   13  d2.d1.test        d2.d1.test.
 *   14  d3.d2.d1.test     d3.d2.d1.test.
 *   15  d4.d3.d2.d1.test  d4.d3.d2.d1.test.
 *   16  cache.example     cache.example.      data changed by `updateZone` in cache tests
 *   17  bulk.example      bulk.example.       only with `bulkNames`: n0 … nN-1.bulk.example. A
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ServerAddress, exchangeTcp, exchangeUdp, randomQueryId } from '../../src/resolver/dns-transport.js';
import { defaultEdns } from '../../src/wire/edns.js';
import { encodeMessage } from '../../src/wire/message-encoder.js';
import { type Message, type ResourceRecord, newMessage, rcodeToString } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { rdataToText } from '../../src/wire/rdata-text.js';
import { parseRecordLine } from '../../src/wire/record-text.js';
import { RRType, parseType, typeToString } from '../../src/wire/rr-type.js';
import { type RunningServer, removeDir, tempDir, waitForDns } from './external-servers.js';

export interface HierarchyOptions {
  /** First three octets of every server address; must be inside 127.10.0.0/16. Default `127.10.1`. */
  readonly prefix?: string;
  /** Adds bulk.example. with this many names `n0.bulk.example.` … (for cold-cache benchmarks). */
  readonly bulkNames?: number;
}

/** One NSD process of the tree. */
export interface HierarchyServer {
  readonly id: string;
  readonly address: string;
  /** Zones it loads (empty for the lame server, which answers REFUSED to everything). */
  readonly zones: readonly string[];
  readonly running: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** One test question and what a correct recursive resolver answers. */
export interface ExpectedAnswer {
  /** Short name for test titles: "A", "CNAME chain across zones", … */
  readonly label: string;
  readonly name: string;
  /** Mnemonic: "A", "TXT", … */
  readonly type: string;
  readonly rcode: 'NOERROR' | 'NXDOMAIN';
  /** The answer section as a sorted set of `answerKey` strings (owner lowercased, type, RDATA text; no TTL). */
  readonly answer: readonly string[];
  /** For NXDOMAIN and NODATA: the zone whose SOA must be in the authority section. */
  readonly soaZone?: string;
  /** The answer is bigger than 1232 bytes: over UDP it comes back truncated, in full only over TCP. */
  readonly needsTcp?: boolean;
  /** Unbound is not a reliable oracle for this one, and why: only the expectation here counts. */
  readonly unboundMayDiffer?: string;
}

export interface Hierarchy {
  readonly prefix: string;
  /** Temp dir with zone files, NSD configs and the root hints. */
  readonly dir: string;
  /** named.root-style hints for the private root (a.root-servers.test., b.root-servers.test.). */
  readonly rootHintsFile: string;
  /** The address of the NS where nothing listens (ns1.dead.test.). */
  readonly deadAddress: string;
  readonly expected: readonly ExpectedAnswer[];
  readonly servers: ReadonlyMap<string, HierarchyServer>;
  /** `n0.bulk.example.` … when `bulkNames` was given, else empty. */
  readonly bulkNames: readonly string[];
  server(id: string): HierarchyServer;
  /**
   * Replaces the records of a zone (all but its SOA, NS and the addresses of in-zone NS names,
   * which are kept, with the next serial) and restarts the NSD that serves it; resolves once
   * it answers again.
   * Used by cache tests: a resolver that answers the old data after this answered from cache.
   */
  updateZone(zone: string, records: readonly string[]): Promise<void>;
  /** Unbound as a non-validating recursive resolver from this private root (see `startUnboundOnHierarchy`). */
  startUnbound(address: string, options?: UnboundHierarchyOptions): Promise<UnboundProcess>;
  /** Stops every NSD and removes the temp dir; safe to call twice. */
  stop(): Promise<void>;
}

// -------------------------------------------------------------------------------------------
// Zone data
// -------------------------------------------------------------------------------------------

interface ZoneSpec {
  readonly name: string;
  /** NS names of the zone (the first is the SOA MNAME); in-zone ones have their A among `records`. */
  readonly ns: readonly string[];
  readonly records: readonly string[];
  readonly ttl?: number;
}

interface ServerSpec {
  readonly id: string;
  readonly host: number;
  readonly zones: readonly string[];
}

const BIG_TXT_COUNT = 16;
const BIG_TXT_LENGTH = 200;

/** The TXT strings of big.a.test.: 16 × 200 characters, about 3.4 KB on the wire. */
function bigTxtStrings(): string[] {
  const out: string[] = [];
  for (let i = 0; i < BIG_TXT_COUNT; i++) {
    const head = `big-${String(i).padStart(2, '0')}-`;
    out.push(head + 'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(6).slice(0, BIG_TXT_LENGTH - head.length));
  }
  return out;
}

function zoneSpecs(p: string, bulkNames: number): ZoneSpec[] {
  const a = (n: number) => `${p}.${n}`;
  const zones: ZoneSpec[] = [
    {
      name: '.',
      ns: ['a.root-servers.test.', 'b.root-servers.test.'],
      ttl: 86400,
      records: [
        `a.root-servers.test. A ${a(1)}`,
        `b.root-servers.test. A ${a(2)}`,
        // test.: in-bailiwick glue
        'test. NS ns1.nic.test.',
        `ns1.nic.test. A ${a(3)}`,
        // example.: in-bailiwick glue
        'example. NS ns1.nic.example.',
        `ns1.nic.example. A ${a(4)}`,
        // lab.: out of bailiwick and glueless, its NS name lives in test.
        'lab. NS ns1.labnic.test.',
      ],
    },
    {
      name: 'test.',
      ns: ['ns1.nic.test.'],
      records: [
        `ns1.nic.test. A ${a(3)}`,
        `a.root-servers.test. A ${a(1)}`,
        `b.root-servers.test. A ${a(2)}`,
        `ns1.labnic.test. A ${a(5)}`,
        'a.test. NS ns1.a.test.',
        `ns1.a.test. A ${a(6)}`,
        'dead.test. NS ns1.dead.test.',
        'dead.test. NS ns2.dead.test.',
        `ns1.dead.test. A ${a(250)}`,
        `ns2.dead.test. A ${a(9)}`,
        'd1.test. NS ns.d1.test.',
        `ns.d1.test. A ${a(12)}`,
      ],
    },
    {
      name: 'example.',
      ns: ['ns1.nic.example.'],
      records: [
        `ns1.nic.example. A ${a(4)}`,
        // glueless: the NS names are in a.test.
        'b.example. NS ns1.hosting.a.test.',
        'b.example. NS ns2.hosting.a.test.',
        // one lame NS (an NSD that does not host the zone: REFUSED) and one good one
        'lame.example. NS ns1.lame.example.',
        'lame.example. NS ns2.lame.example.',
        `ns1.lame.example. A ${a(10)}`,
        `ns2.lame.example. A ${a(11)}`,
        // one lame NS that is this very server: not authoritative, it answers with the same
        // referral again (an upward/sideways referral); and one good one
        'upward.example. NS ns1.upward.example.',
        'upward.example. NS ns2.upward.example.',
        `ns1.upward.example. A ${a(4)}`,
        `ns2.upward.example. A ${a(11)}`,
        'cache.example. NS ns.cache.example.',
        `ns.cache.example. A ${a(16)}`,
        ...(bulkNames > 0 ? ['bulk.example. NS ns.bulk.example.', `ns.bulk.example. A ${a(17)}`] : []),
      ],
    },
    {
      name: 'lab.',
      ns: ['ns1.labnic.test.'],
      records: ['c.lab. NS ns.c.lab.', `ns.c.lab. A ${a(8)}`],
    },
    {
      name: 'a.test.',
      ns: ['ns1.a.test.'],
      records: [
        `ns1.a.test. A ${a(6)}`,
        'a.test. MX 10 mail.a.test.',
        'mail.a.test. A 192.0.2.25',
        'host.a.test. A 192.0.2.1',
        'host.a.test. AAAA 2001:db8::1',
        'txt.a.test. TXT "hello world" "second string"',
        'www.a.test. CNAME x.b.example.',
        'dangling.a.test. CNAME nothere.b.example.',
        '*.wild.a.test. A 192.0.2.42',
        '*.wild.a.test. TXT "wildcard"',
        'old.a.test. DNAME new.a.test.',
        'host.new.a.test. A 192.0.2.77',
        `ns1.hosting.a.test. A ${a(7)}`,
        `ns2.hosting.a.test. A ${a(7)}`,
        ...bigTxtStrings().map((s) => `big.a.test. TXT "${s}"`),
      ],
    },
    {
      name: 'b.example.',
      ns: ['ns1.hosting.a.test.', 'ns2.hosting.a.test.'],
      records: ['x.b.example. CNAME y.c.lab.', 'host.b.example. A 192.0.2.2'],
    },
    {
      name: 'c.lab.',
      ns: ['ns.c.lab.'],
      records: [`ns.c.lab. A ${a(8)}`, 'y.c.lab. A 192.0.2.3'],
    },
    {
      name: 'dead.test.',
      ns: ['ns1.dead.test.', 'ns2.dead.test.'],
      records: [`ns1.dead.test. A ${a(250)}`, `ns2.dead.test. A ${a(9)}`, 'host.dead.test. A 192.0.2.9'],
    },
    {
      name: 'lame.example.',
      ns: ['ns1.lame.example.', 'ns2.lame.example.'],
      records: [`ns1.lame.example. A ${a(10)}`, `ns2.lame.example. A ${a(11)}`, 'host.lame.example. A 192.0.2.11', 'mail.lame.example. MX 10 host.lame.example.'],
    },
    {
      name: 'upward.example.',
      ns: ['ns1.upward.example.', 'ns2.upward.example.'],
      records: [`ns1.upward.example. A ${a(4)}`, `ns2.upward.example. A ${a(11)}`, 'host.upward.example. A 192.0.2.12'],
    },
    {
      name: 'd1.test.',
      ns: ['ns.d1.test.'],
      records: [`ns.d1.test. A ${a(12)}`, 'd2.d1.test. NS ns.d2.d1.test.', `ns.d2.d1.test. A ${a(13)}`],
    },
    {
      name: 'd2.d1.test.',
      ns: ['ns.d2.d1.test.'],
      records: [`ns.d2.d1.test. A ${a(13)}`, 'd3.d2.d1.test. NS ns.d3.d2.d1.test.', `ns.d3.d2.d1.test. A ${a(14)}`],
    },
    {
      name: 'd3.d2.d1.test.',
      ns: ['ns.d3.d2.d1.test.'],
      records: [`ns.d3.d2.d1.test. A ${a(14)}`, 'd4.d3.d2.d1.test. NS ns.d4.d3.d2.d1.test.', `ns.d4.d3.d2.d1.test. A ${a(15)}`],
    },
    {
      name: 'd4.d3.d2.d1.test.',
      ns: ['ns.d4.d3.d2.d1.test.'],
      records: [`ns.d4.d3.d2.d1.test. A ${a(15)}`, 'host.d4.d3.d2.d1.test. A 192.0.2.15'],
    },
    {
      name: 'cache.example.',
      ns: ['ns.cache.example.'],
      records: [`ns.cache.example. A ${a(16)}`, ...CACHE_ZONE_RECORDS_V1],
      ttl: 3600,
    },
  ];
  if (bulkNames > 0) {
    const records = [`ns.bulk.example. A ${a(17)}`];
    for (let i = 0; i < bulkNames; i++) records.push(`n${i}.bulk.example. A 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    zones.push({ name: 'bulk.example.', ns: ['ns.bulk.example.'], records });
  }
  return zones;
}

/** The first contents of cache.example. (besides SOA, NS and the NS address). */
export const CACHE_ZONE_RECORDS_V1: readonly string[] = ['v.cache.example. A 192.0.2.101', 'w.cache.example. A 192.0.2.102'];

function serverSpecs(bulkNames: number): ServerSpec[] {
  return [
    { id: 'root-a', host: 1, zones: ['.'] },
    { id: 'root-b', host: 2, zones: ['.'] },
    { id: 'test', host: 3, zones: ['test.'] },
    { id: 'example', host: 4, zones: ['example.'] },
    { id: 'lab', host: 5, zones: ['lab.'] },
    { id: 'a.test', host: 6, zones: ['a.test.'] },
    { id: 'b.example', host: 7, zones: ['b.example.'] },
    { id: 'c.lab', host: 8, zones: ['c.lab.'] },
    { id: 'dead.test', host: 9, zones: ['dead.test.'] },
    { id: 'lame', host: 10, zones: [] },
    { id: 'lame.example', host: 11, zones: ['lame.example.', 'upward.example.'] },
    { id: 'd1.test', host: 12, zones: ['d1.test.'] },
    { id: 'd2.d1.test', host: 13, zones: ['d2.d1.test.'] },
    { id: 'd3.d2.d1.test', host: 14, zones: ['d3.d2.d1.test.'] },
    { id: 'd4.d3.d2.d1.test', host: 15, zones: ['d4.d3.d2.d1.test.'] },
    { id: 'cache.example', host: 16, zones: ['cache.example.'] },
    ...(bulkNames > 0 ? [{ id: 'bulk.example', host: 17, zones: ['bulk.example.'] }] : []),
  ];
}

function zoneText(zone: ZoneSpec, serial: number, records: readonly string[] = zone.records): string {
  const ttl = zone.ttl ?? 3600;
  const mname = zone.ns[0]!;
  const rname = `hostmaster.${zone.name === '.' ? '' : zone.name}`;
  return (
    `$TTL ${ttl}\n` +
    `${zone.name} IN SOA ${mname} ${rname} ${serial} 3600 900 604800 300\n` +
    zone.ns.map((ns) => `${zone.name} IN NS ${ns}\n`).join('') +
    records.map((r) => `${r}\n`).join('')
  );
}

function rootHintsText(p: string): string {
  return (
    ';  Root hints of the private test root (named.root format)\n' +
    '.                        3600000      NS    A.ROOT-SERVERS.TEST.\n' +
    `A.ROOT-SERVERS.TEST.      3600000      A     ${p}.1\n` +
    '.                        3600000      NS    B.ROOT-SERVERS.TEST.\n' +
    `B.ROOT-SERVERS.TEST.      3600000      A     ${p}.2\n` +
    '; End of file\n'
  );
}

// -------------------------------------------------------------------------------------------
// Expected answers
// -------------------------------------------------------------------------------------------

const NAME_RDATA_TYPES = new Set<number>([RRType.CNAME, RRType.DNAME, RRType.NS, RRType.PTR, RRType.MX, RRType.SOA, RRType.SRV]);

/** `owner TYPE RDATA` with the owner lowercased (and the RDATA too when it holds only names and numbers); no TTL. */
export function answerKey(rr: ResourceRecord): string {
  const rdata = rdataToText(rr.type, rr.rdata);
  return `${rr.name.lowercase().toString()} ${typeToString(rr.type)} ${NAME_RDATA_TYPES.has(rr.type) ? rdata.toLowerCase() : rdata}`;
}

/** The answer section of a response as a sorted list of `answerKey`s. */
export function answerSet(response: Message): string[] {
  return response.answer.map(answerKey).sort();
}

/** `answerKey` of a zone-file style line `owner [TTL] [CLASS] TYPE RDATA`. */
export function recordKey(line: string): string {
  return answerKey(parseRecordLine(line));
}

/** Owners (lowercased) of the SOA records in the authority section. */
export function authoritySoaOwners(response: Message): string[] {
  return response.authority.filter((rr) => rr.type === RRType.SOA).map((rr) => rr.name.lowercase().toString());
}

function expectedAnswers(): ExpectedAnswer[] {
  const keys = (lines: string[]) => lines.map(recordKey).sort();
  return [
    { label: 'A', name: 'host.a.test.', type: 'A', rcode: 'NOERROR', answer: keys(['host.a.test. A 192.0.2.1']) },
    { label: 'AAAA', name: 'host.a.test.', type: 'AAAA', rcode: 'NOERROR', answer: keys(['host.a.test. AAAA 2001:db8::1']) },
    { label: 'MX', name: 'a.test.', type: 'MX', rcode: 'NOERROR', answer: keys(['a.test. MX 10 mail.a.test.']) },
    { label: 'TXT', name: 'txt.a.test.', type: 'TXT', rcode: 'NOERROR', answer: keys(['txt.a.test. TXT "hello world" "second string"']) },
    {
      label: 'CNAME chain across three zones',
      name: 'www.a.test.',
      type: 'A',
      rcode: 'NOERROR',
      answer: keys(['www.a.test. CNAME x.b.example.', 'x.b.example. CNAME y.c.lab.', 'y.c.lab. A 192.0.2.3']),
    },
    { label: 'CNAME asked for itself', name: 'www.a.test.', type: 'CNAME', rcode: 'NOERROR', answer: keys(['www.a.test. CNAME x.b.example.']) },
    {
      label: 'CNAME to a name that does not exist',
      name: 'dangling.a.test.',
      type: 'A',
      rcode: 'NXDOMAIN',
      answer: keys(['dangling.a.test. CNAME nothere.b.example.']),
      soaZone: 'b.example.',
    },
    {
      label: 'DNAME',
      name: 'host.old.a.test.',
      type: 'A',
      rcode: 'NOERROR',
      answer: keys(['old.a.test. DNAME new.a.test.', 'host.old.a.test. CNAME host.new.a.test.', 'host.new.a.test. A 192.0.2.77']),
    },
    { label: 'NXDOMAIN', name: 'nope.a.test.', type: 'A', rcode: 'NXDOMAIN', answer: [], soaZone: 'a.test.' },
    { label: 'NXDOMAIN for a TLD', name: 'www.nosuchtld.', type: 'A', rcode: 'NXDOMAIN', answer: [], soaZone: '.' },
    { label: 'NODATA', name: 'host.a.test.', type: 'MX', rcode: 'NOERROR', answer: [], soaZone: 'a.test.' },
    { label: 'NODATA at an empty non-terminal', name: 'hosting.a.test.', type: 'A', rcode: 'NOERROR', answer: [], soaZone: 'a.test.' },
    { label: 'wildcard A', name: 'anything.wild.a.test.', type: 'A', rcode: 'NOERROR', answer: keys(['anything.wild.a.test. A 192.0.2.42']) },
    { label: 'wildcard TXT', name: 'deeper.label.wild.a.test.', type: 'TXT', rcode: 'NOERROR', answer: keys(['deeper.label.wild.a.test. TXT "wildcard"']) },
    { label: 'wildcard NODATA', name: 'other.wild.a.test.', type: 'MX', rcode: 'NOERROR', answer: [], soaZone: 'a.test.' },
    { label: 'glueless delegation (b.example. NS in a.test.)', name: 'host.b.example.', type: 'A', rcode: 'NOERROR', answer: keys(['host.b.example. A 192.0.2.2']) },
    { label: 'glueless TLD (lab. NS in test.)', name: 'y.c.lab.', type: 'A', rcode: 'NOERROR', answer: keys(['y.c.lab. A 192.0.2.3']) },
    { label: 'zone with a dead server', name: 'host.dead.test.', type: 'A', rcode: 'NOERROR', answer: keys(['host.dead.test. A 192.0.2.9']) },
    { label: 'zone with a lame (REFUSED) server', name: 'host.lame.example.', type: 'A', rcode: 'NOERROR', answer: keys(['host.lame.example. A 192.0.2.11']) },
    { label: 'zone with a lame (REFUSED) server, MX', name: 'mail.lame.example.', type: 'MX', rcode: 'NOERROR', answer: keys(['mail.lame.example. MX 10 host.lame.example.']) },
    { label: 'zone with a lame (REFUSED) server, NODATA', name: 'host.lame.example.', type: 'TXT', rcode: 'NOERROR', answer: [], soaZone: 'lame.example.' },
    {
      label: 'zone with a lame (not authoritative, referral again) server',
      name: 'host.upward.example.',
      type: 'A',
      rcode: 'NOERROR',
      answer: keys(['host.upward.example. A 192.0.2.12']),
      unboundMayDiffer:
        'Unbound 1.17 scrubs the repeated referral from ns1.upward.example. as a "promiscuous" NS RRset and, when it asks that server first, answers NOERROR with no data and no SOA',
    },
    {
      label: 'deep delegation (four levels below test.)',
      name: 'host.d4.d3.d2.d1.test.',
      type: 'A',
      rcode: 'NOERROR',
      answer: keys(['host.d4.d3.d2.d1.test. A 192.0.2.15']),
    },
    {
      label: 'big answer (TXT > 1232 bytes) over TCP after TC',
      name: 'big.a.test.',
      type: 'TXT',
      rcode: 'NOERROR',
      answer: keys(bigTxtStrings().map((s) => `big.a.test. TXT "${s}"`)),
      needsTcp: true,
    },
  ];
}

/**
 * The questions every tree answers the same way (no address in them depends on the prefix),
 * so tests can name their cases before the tree is started. Also `hierarchy.expected`.
 */
export const EXPECTED_ANSWERS: readonly ExpectedAnswer[] = expectedAnswers();

// -------------------------------------------------------------------------------------------
// Asking a resolver
// -------------------------------------------------------------------------------------------

export interface AskOptions {
  /** EDNS UDP size to advertise; `false` sends no OPT record. Default 1232. */
  readonly udpSize?: number | false;
  readonly tcp?: boolean;
  /** Retry over TCP when the UDP answer has TC (like a stub resolver). Default true. */
  readonly tcpFallback?: boolean;
  readonly timeoutMs?: number;
  readonly rd?: boolean;
}

export interface AskResult {
  readonly response: Message;
  readonly transport: 'udp' | 'tcp';
  /** The UDP answer came back with TC set (and was then retried over TCP if allowed). */
  readonly truncatedOverUdp: boolean;
  readonly udpResponse?: Message;
}

/** Builds an RD query with EDNS (1232 unless told otherwise). */
export function buildQuery(name: string, type: string | number, options: { udpSize?: number | false; rd?: boolean; id?: number } = {}): Message {
  const udpSize = options.udpSize ?? 1232;
  return newMessage({
    id: options.id ?? randomQueryId(),
    rd: options.rd ?? true,
    question: [{ name: Name.parse(name), type: typeof type === 'number' ? type : parseType(type), class: 1 }],
    ...(udpSize === false ? {} : { edns: defaultEdns({ udpSize }) }),
  });
}

/** One question to a resolver, over UDP with TCP fallback on TC (or straight over TCP). */
export async function ask(server: ServerAddress, name: string, type: string | number, options: AskOptions = {}): Promise<AskResult> {
  const timeout = options.timeoutMs ?? 10_000;
  const query = buildQuery(name, type, { udpSize: options.udpSize ?? 1232, rd: options.rd ?? true });
  const wire = encodeMessage(query);
  if (options.tcp) {
    const ex = await exchangeTcp(server, query, wire, timeout);
    return { response: ex.response, transport: 'tcp', truncatedOverUdp: false };
  }
  const udp = await exchangeUdp(server, query, wire, timeout);
  if (udp.response.tc && options.tcpFallback !== false) {
    const tcp = await exchangeTcp(server, query, wire, timeout);
    return { response: tcp.response, transport: 'tcp', truncatedOverUdp: true, udpResponse: udp.response };
  }
  return { response: udp.response, transport: 'udp', truncatedOverUdp: udp.response.tc };
}

/** A one-line summary of a response for assertion messages. */
export function describeResponse(response: Message): string {
  const flags = (['qr', 'aa', 'tc', 'rd', 'ra', 'ad', 'cd'] as const).filter((f) => response[f]).join(' ');
  return `${rcodeToString(response.rcode)} [${flags}] answer=${JSON.stringify(answerSet(response))} authority-soa=${JSON.stringify(authoritySoaOwners(response))}`;
}

// -------------------------------------------------------------------------------------------
// Processes
// -------------------------------------------------------------------------------------------

type LoggedChild = ChildProcess & { log?: () => string };

function spawnLogged(command: string, args: string[], cwd: string): LoggedChild {
  const child: LoggedChild = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const append = (d: Buffer) => {
    log += d.toString();
    if (log.length > 65_536) log = log.slice(-32_768);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  child.log = () => log;
  return child;
}

function killAndWait(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

class NsdServer implements HierarchyServer {
  private child: LoggedChild | undefined;

  constructor(
    readonly id: string,
    readonly address: string,
    readonly zones: readonly string[],
    private readonly zoneFile: (zone: string) => string,
    private readonly dir: string,
  ) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const conf = join(this.dir, 'nsd.conf');
    const zoneBlocks = this.zones.map((z) => `zone:\n  name: "${z}"\n  zonefile: "${this.zoneFile(z)}"\n`).join('');
    writeFileSync(
      conf,
      `server:\n  ip-address: ${this.address}@53\n  port: 53\n  username: ""\n  chroot: ""\n  zonesdir: "${this.dir}"\n` +
        `  database: ""\n  zonelistfile: "${this.dir}/zone.list"\n  xfrdfile: "${this.dir}/xfrd.state"\n` +
        `  pidfile: "${this.dir}/nsd.pid"\n  logfile: "${this.dir}/nsd.log"\n  server-count: 1\n  verbosity: 1\n  rrl-ratelimit: 0\n` +
        `  xfrdir: "${this.dir}"\n  hide-version: yes\n  refuse-any: no\n  minimal-responses: no\n` +
        `remote-control:\n  control-enable: no\n${zoneBlocks}`,
    );
    execFileSync('nsd-checkconf', [conf]);
    this.child = spawnLogged('nsd', ['-d', '-c', conf], this.dir);
    // Any answer will do: the lame server answers REFUSED to everything.
    await waitForDns(this.address, 53, this.zones[0] ?? '.', this.child);
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child) await killAndWait(child);
  }
}

export interface UnboundProcess extends RunningServer {
  /** PID of the unbound process (for ps -o rss). */
  pid(): number | undefined;
}

export interface UnboundHierarchyOptions {
  readonly port?: number;
  /** Extra `server:` lines, e.g. `['msg-cache-size: 128m']`. */
  readonly extraConfig?: readonly string[];
  /** Networks allowed to query (default 127.0.0.0/8). */
  readonly allow?: readonly string[];
}

/**
 * Unbound as a plain (non-validating: `module-config: "iterator"`) recursive resolver on
 * address:port that starts from the private root in `rootHintsFile`. One thread.
 */
export async function startUnboundOnHierarchy(address: string, rootHintsFile: string, options: UnboundHierarchyOptions = {}): Promise<UnboundProcess> {
  const port = options.port ?? 53;
  const dir = tempDir('unbound-hierarchy');
  const conf = join(dir, 'unbound.conf');
  const allow = (options.allow ?? ['127.0.0.0/8']).map((a) => `  access-control: ${a} allow\n`).join('');
  const write = (optional: string) =>
    writeFileSync(
      conf,
      `server:\n  interface: ${address}@${port}\n  port: ${port}\n  username: ""\n  chroot: ""\n  directory: "${dir}"\n` +
        `  pidfile: "${dir}/unbound.pid"\n  do-daemonize: no\n  use-syslog: no\n  logfile: ""\n  verbosity: 1\n` +
        allow +
        `  do-not-query-localhost: no\n  module-config: "iterator"\n  root-hints: "${rootHintsFile}"\n` +
        `  num-threads: 1\n  do-ip6: no\n` +
        // test. is one of Unbound's built-in local zones (RFC 6761 §6.2); here it is a real TLD.
        `  local-zone: "test." nodefault\n` +
        optional +
        (options.extraConfig ?? []).map((l) => `  ${l}\n`).join('') +
        `remote-control:\n  control-enable: no\n`,
    );
  // Unbound 1.17.1 in Debian 12 (and upstream from 1.21) drops the reply to a query whose
  // recursion takes over discard-timeout (1.9 s): with the dead NS of dead.test. that happens
  // now and then. Off here, where it exists; and no per-client cap on waiting replies (dnsperf).
  write('  discard-timeout: 0\n  wait-limit: 0\n');
  try {
    execFileSync('unbound-checkconf', [conf], { stdio: 'ignore' });
  } catch {
    write('');
    execFileSync('unbound-checkconf', [conf]);
  }
  const child = spawnLogged('unbound', ['-d', '-c', conf], dir);
  try {
    await waitForDns(address, port, '.', child, 20_000);
  } catch (error) {
    removeDir(dir);
    throw error;
  }
  return {
    address,
    port,
    pid: () => child.pid,
    stop: async () => {
      await killAndWait(child);
      removeDir(dir);
    },
  };
}

/** Builds the tree in a temp dir and starts every NSD; rejects (and cleans up) if one fails. */
export async function startHierarchy(options: HierarchyOptions = {}): Promise<Hierarchy> {
  const prefix = options.prefix ?? '127.10.1';
  if (!/^127\.10\.\d{1,3}$/.test(prefix)) throw new Error(`prefix ${prefix} is not inside 127.10.0.0/16`);
  const bulk = options.bulkNames ?? 0;
  const dir = tempDir('hierarchy');
  const specs = new Map(zoneSpecs(prefix, bulk).map((z) => [z.name, z]));
  const serials = new Map<string, number>();
  const zoneFile = (zone: string) => join(dir, zone === '.' ? 'root.zone' : `${zone}zone`);
  const writeZone = (zone: ZoneSpec, records?: readonly string[]) => {
    const serial = (serials.get(zone.name) ?? 0) + 1;
    serials.set(zone.name, serial);
    writeFileSync(zoneFile(zone.name), zoneText(zone, serial, records));
  };
  for (const zone of specs.values()) writeZone(zone);
  const rootHintsFile = join(dir, 'named.root');
  writeFileSync(rootHintsFile, rootHintsText(prefix));

  const servers = new Map<string, NsdServer>();
  for (const spec of serverSpecs(bulk)) {
    const serverDir = join(dir, `nsd-${spec.id}`);
    mkdirSync(serverDir, { recursive: true });
    servers.set(spec.id, new NsdServer(spec.id, `${prefix}.${spec.host}`, spec.zones, zoneFile, serverDir));
  }

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all([...servers.values()].map((s) => s.stop()));
    removeDir(dir);
  };
  const results = await Promise.allSettled([...servers.values()].map((s) => s.start()));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }

  const bulkNames: string[] = [];
  for (let i = 0; i < bulk; i++) bulkNames.push(`n${i}.bulk.example.`);

  const hierarchy: Hierarchy = {
    prefix,
    dir,
    rootHintsFile,
    deadAddress: `${prefix}.250`,
    expected: EXPECTED_ANSWERS,
    servers,
    bulkNames,
    server(id) {
      const s = servers.get(id);
      if (!s) throw new Error(`no server "${id}" in the hierarchy (have ${[...servers.keys()].join(', ')})`);
      return s;
    },
    async updateZone(zone, records) {
      const spec = specs.get(zone);
      if (!spec) throw new Error(`no zone "${zone}" in the hierarchy`);
      const nsAddresses = spec.records.filter((r) => spec.ns.some((ns) => r.startsWith(`${ns} A `)));
      writeZone(spec, [...nsAddresses, ...records]);
      for (const server of servers.values()) {
        if (!server.zones.includes(zone)) continue;
        await server.stop();
        await server.start();
      }
    },
    startUnbound(address, unboundOptions) {
      return startUnboundOnHierarchy(address, rootHintsFile, unboundOptions);
    },
    stop,
  };
  return hierarchy;
}

/** A human-readable table of the servers, for logs and reports. */
export function describeHierarchy(h: Hierarchy): string {
  const rows = [...h.servers.values()].map((s) => `${s.address.padEnd(14)} ${s.id.padEnd(18)} ${s.zones.join(' ') || '(no zones: REFUSED)'}`);
  return [...rows, `${h.deadAddress.padEnd(14)} ${'dead'.padEnd(18)} (nothing listens)`].join('\n');
}
