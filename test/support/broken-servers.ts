/**
 * The scripted-upstream kit: a small private tree of fake authoritative servers on loopback
 * (scripted-server.ts), each answering from its zones through a behaviour — drop, delay, lame,
 * AA referral, upward referral, bad signature, stray types, REFUSED/SERVFAIL, garbage — and one
 * Keymaster and one Unbound started on the same root hints, so that each test asks both the
 * same question of the same broken servers and compares.
 *
 * A behaviour wraps the honest answer of a server's zones; `server.script` can be replaced
 * mid-test. An address in the tree that no server listens on is a dead server.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ZoneData } from '../../src/authority/zone-db.js';
import { type ZoneSigningKey, signZoneWithNsec } from '../../src/authority/zone-signer.js';
import { dsDigest } from '../../src/crypto/ds-digest.js';
import { generateKeyPair } from '../../src/crypto/key-generation.js';
import { keyTag } from '../../src/crypto/key-tag.js';
import { dssetToText } from '../../src/wire/key-files.js';
import type { Message, ResourceRecord } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { encodeRdata } from '../../src/wire/rdata-codec.js';
import { recordToText } from '../../src/wire/record-text.js';
import { RRType } from '../../src/wire/rr-type.js';
import { startUnboundOnHierarchy } from './dns-hierarchy.js';
import { type KeymasterOptions, type KeymasterServer, type RunningServer, removeDir, startKeymaster, tempDir } from './external-servers.js';
import { type Script, type ScriptedServer, type SlowScript, makeZone, records, replyTo, startScriptedServer, zoneScript } from './scripted-server.js';
import { askDnssec, startValidatingUnbound } from './signed-hierarchy.js';

/** What a broken server makes of the honest answer of its zones. */
export type Behaviour = (honest: Script) => SlowScript;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const honestly: Behaviour = (honest) => honest;

export const behave = {
  honest: honestly,
  /** Never answers (a dead server that still routes: the client times out). */
  drop: (() => () => undefined) as Behaviour,
  /** Answers honestly after `ms`. */
  delay: (ms: number): Behaviour => (honest) => async (q, t) => {
    await sleep(ms);
    return honest(q, t);
  },
  rcode: (rcode: number): Behaviour => () => (q) => replyTo(q, { rcode }),
  /** Not authoritative for the zone it was delegated: a non-AA answer with nothing in it. */
  lame: (() => (q) => replyTo(q, {})) as Behaviour,
  /** Not authoritative either: a non-AA referral to the zone it was asked about, as to itself. */
  referralToSelf: (() => (q) => {
    const zone = q.question[0]!.name.parent(q.question[0]!.name.labelCount - 2);
    return replyTo(q, { authority: records(`${zone} 3600 IN NS ns.${zone}`) });
  }) as Behaviour,
  /** A referral to the root, as misconfigured servers of other zones send (AA set, as some do). */
  upwardReferral: (() => (q) => replyTo(q, { aa: true, authority: records('. 3600 IN NS a.root-servers.test.') })) as Behaviour,
  /** Sets AA on every answer, referrals included. */
  aaReferral: ((honest) => (q, t) => {
    const a = honest(q, t);
    return a && { ...a, aa: true };
  }) as Behaviour,
  /** Bytes that are not a DNS message. */
  garbage: (() => () => new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02])) as Behaviour,
  /** Every RRSIG's signature with its last byte flipped. */
  badSignature: ((honest) => (q, t) => {
    const a = honest(q, t);
    if (!a) return a;
    const flip = (rrs: Message['answer']) =>
      rrs.map((r) => {
        if (r.type !== RRType.RRSIG) return r;
        const rdata = new Uint8Array(r.rdata);
        rdata[rdata.length - 1] ^= 0xff;
        return { ...r, rdata };
      });
    return { ...a, answer: flip(a.answer), authority: flip(a.authority) };
  }) as Behaviour,
  /** Every address in the answer replaced by `address`, the signatures left as they were (now bogus). */
  forge: (address: string): Behaviour => (honest) => (q, t) => {
    const a = honest(q, t);
    if (!a) return a;
    const rdata = new Uint8Array(address.split('.').map(Number));
    return { ...a, answer: a.answer.map((r) => (r.type === RRType.A ? { ...r, rdata } : r)) };
  },
  /** Truncated (TC) over UDP; over TCP, accepts the connection and never answers. */
  truncateThenHang: (() => (q, t) => (t === 'udp' ? replyTo(q, { tc: true }) : new Promise<undefined>(() => {}))) as Behaviour,
  /** Records nobody asked for, of unexpected types and classes, in every section. */
  strayTypes: ((honest) => (q, t) => {
    const a = honest(q, t);
    if (!a) return a;
    const qname = q.question[0]!.name.toString();
    const stray = records(`
      ${qname} 300 IN HINFO "stray" "record"
      ${qname} 300 IN TXT "stray"
      ${qname} 300 CH A 192.0.2.66
      stray.invalid. 300 IN MX 10 mail.stray.invalid.`);
    return { ...a, answer: [...a.answer, ...stray.slice(0, 3)], authority: [...a.authority, stray[3]!], additional: [...a.additional, ...stray] };
  }) as Behaviour,
  /** `first` for the queries `when` picks, `otherwise` for the rest. */
  when: (when: (q: Message) => boolean, first: Behaviour, otherwise: Behaviour = honestly): Behaviour => (honest) => {
    const a = first(honest);
    const b = otherwise(honest);
    return (q, t) => (when(q) ? a(q, t) : b(q, t));
  },
};

export interface BrokenServerSpec {
  /** Last octet of the server's address under the tree's prefix. */
  readonly octet: number;
  readonly zones: readonly ZoneData[];
  readonly behaviour?: Behaviour;
}

export interface BrokenTree {
  readonly prefix: string;
  readonly dir: string;
  readonly rootHintsFile: string;
  /** The servers by last octet. */
  readonly servers: ReadonlyMap<number, ScriptedServer>;
  /** Gives the server at `octet` a new behaviour over its zones. */
  behave(octet: number, behaviour: Behaviour): void;
  stop(): Promise<void>;
}

/** Starts every server of the tree; the root's servers are `rootOctets` (named a/b.root-servers.test.). */
export async function startBrokenTree(prefix: string, specs: readonly BrokenServerSpec[], rootOctets: readonly number[] = [1]): Promise<BrokenTree> {
  const dir = tempDir('broken-tree');
  const rootHintsFile = join(dir, 'named.root');
  const letters = 'abcdefghijklm';
  writeFileSync(
    rootHintsFile,
    rootOctets.map((o, i) => `.\t3600000\tNS\t${letters[i]}.root-servers.test.\n${letters[i]}.root-servers.test.\t3600000\tA\t${prefix}.${o}\n`).join(''),
  );
  const servers = new Map<number, ScriptedServer>();
  const honest = new Map<number, Script>();
  try {
    for (const spec of specs) {
      const script = zoneScript(spec.zones);
      honest.set(spec.octet, script);
      servers.set(spec.octet, await startScriptedServer(`${prefix}.${spec.octet}`, (spec.behaviour ?? behave.honest)(script)));
    }
  } catch (e) {
    await Promise.all([...servers.values()].map((s) => s.stop()));
    removeDir(dir);
    throw e;
  }
  return {
    prefix,
    dir,
    rootHintsFile,
    servers,
    behave(octet, behaviour) {
      servers.get(octet)!.script = behaviour(honest.get(octet)!);
    },
    async stop() {
      await Promise.all([...servers.values()].map((s) => s.stop()));
      removeDir(dir);
    },
  };
}

/**
 * The root zone of the kit's usual tree: a.root-servers.test. at PREFIX.1, test. at PREFIX.2 (ns.test.)
 * and helper. at PREFIX.3 (ns.helper.), the zone that holds addresses of glueless name servers.
 */
export function rootZoneText(prefix: string): string {
  return `
    . 86400 IN SOA a.root-servers.test. h.test. 1 1800 900 604800 86400
    . 518400 IN NS a.root-servers.test.
    a.root-servers.test. 518400 IN A ${prefix}.1
    test. 172800 IN NS ns.test.
    ns.test. 172800 IN A ${prefix}.2
    helper. 172800 IN NS ns.helper.
    ns.helper. 172800 IN A ${prefix}.3`;
}

// ---------------------------------------------------------------------------------------------
// Signed zones for the tree: one ECDSA P-256 key per zone (the KSK signs everything), NSEC.
// ---------------------------------------------------------------------------------------------

export function zoneKey(zone: string): ZoneSigningKey {
  const { privateKey, publicKeyField } = generateKeyPair(13);
  const dnskeyRdata = encodeRdata(RRType.DNSKEY, { flags: 257, protocol: 3, algorithm: 13, publicKey: publicKeyField });
  return { zone: Name.parse(zone), algorithm: 13, keyTag: keyTag(dnskeyRdata), privateKey, dnskeyRdata, role: 'ksk' };
}

export function dsOf(key: ZoneSigningKey): ResourceRecord {
  const rdata = encodeRdata(RRType.DS, { keyTag: key.keyTag, algorithm: 13, digestType: 2, digest: dsDigest(2, key.zone.wire, key.dnskeyRdata) });
  return { name: key.zone, type: RRType.DS, class: 1, ttl: 3600, rdata };
}

/** The zone from presentation lines (plus `extra` records, e.g. a child's DS), signed with `key`. */
export function signedZone(key: ZoneSigningKey, text: string, extra: readonly ResourceRecord[] = []): ZoneData {
  const now = Math.floor(Date.now() / 1000);
  const window = { inception: now - 3600, expiration: now + 10 * 86_400 };
  return makeZone(key.zone.toString(), signZoneWithNsec([...records(text), ...extra], { zone: key.zone, keys: [key], window }));
}

/** Writes the dsset- file of `key` into `dir` (for `trustAnchors.import`) and returns its path and DS lines. */
export function writeDsset(dir: string, key: ZoneSigningKey): { file: string; lines: string[] } {
  const file = join(dir, `dsset-${key.zone.isRoot ? '.' : key.zone.toString()}`);
  writeFileSync(file, dssetToText([dsOf(key)]));
  return { file, lines: [recordToText(dsOf(key))] };
}

export interface ResolverPair {
  readonly keymaster: KeymasterServer;
  readonly unbound: RunningServer;
  stop(): Promise<void>;
}

export interface ResolverPairOptions {
  /** More Keymaster options (validation, anchors, `resolverYaml` for limits...). */
  readonly keymaster?: Partial<KeymasterOptions>;
  /** A validating Unbound with this root anchor (DS lines); a plain iterating one without. */
  readonly unboundRootDs?: readonly string[];
  readonly unboundConfig?: readonly string[];
}

/**
 * Keymaster (validation off unless told otherwise) and Unbound on the tree's root hints, at
 * PREFIX.`kmOctet` and PREFIX.`ubOctet`.
 */
export async function startResolverPair(tree: BrokenTree, kmOctet: number, ubOctet: number, options: ResolverPairOptions = {}): Promise<ResolverPair> {
  const km = `${tree.prefix}.${kmOctet}`;
  const ub = `${tree.prefix}.${ubOctet}`;
  const unboundConfig = ['ede: yes', ...(options.unboundConfig ?? [])];
  const [keymaster, unbound] = await Promise.all([
    startKeymaster({ address: km, control: `${km}:5380`, rootHints: tree.rootHintsFile, validation: false, rootAnchors: 'none', ...options.keymaster }),
    options.unboundRootDs
      ? startValidatingUnbound(ub, 53, { rootHintsFile: tree.rootHintsFile, rootDs: options.unboundRootDs }, ['local-zone: "test." nodefault', ...unboundConfig.filter((l) => l !== 'ede: yes')])
      : startUnboundOnHierarchy(ub, tree.rootHintsFile, { extraConfig: unboundConfig }),
  ]);
  return { keymaster, unbound, stop: async () => void (await Promise.all([keymaster.stop(), unbound.stop()])) };
}

export interface Asked {
  readonly response: Message;
  readonly ms: number;
}

/**
 * One query (DO=1, over UDP with TCP on TC), with the time it took; no answer in `timeoutMs` is an
 * error (the default leaves room for Unbound's slowest fallbacks).
 */
export async function ask(server: { address: string; port: number }, name: string, type = 'A', timeoutMs = 60_000): Promise<Asked> {
  const started = performance.now();
  const response = await askDnssec({ host: server.address, port: server.port }, name, type, { timeoutMs });
  return { response, ms: performance.now() - started };
}

/** Asks Keymaster, then Unbound (in that order: a test can check what the servers saw in between). */
export async function askBoth(pair: ResolverPair, name: string, type = 'A'): Promise<{ keymaster: Asked; unbound: Asked }> {
  const keymaster = await ask(pair.keymaster, name, type);
  const unbound = await ask(pair.unbound, name, type);
  return { keymaster, unbound };
}

