/**
 * A private signed root that rolls its KSK step by step, on loopback, for the live RFC 5011
 * test: the root (PREFIX.1) and one signed child `lab.` (PREFIX.2, DS in the root, holding
 * www.lab. A) signed with Keymaster's own signer (ECDSA P-256, NSEC) and served by NSD. The root
 * ZSK never changes; the KSKs go through the phases of RFC 5011 §6 / the 2026–27 root rollover:
 *
 *   old-only          old KSK published and signing the DNSKEY RRset
 *   new-published     new KSK published too, the DNSKEY RRset still signed by the old one only
 *   old-revoked       new KSK signs; old KSK published with its REVOKE bit (flags 385) and signing too (self-signed revocation)
 *   new-only          old KSK gone; the new one signs
 *
 * `publish(phase)` re-signs the root, rewrites its zone file, sends NSD a SIGHUP and resolves once
 * NSD serves the new serial. Short TTLs, so a resolver rebuilds its chain of trust often.
 */
import { utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ZoneSigningKey } from '../../src/authority/zone-signer.js';
import { signZoneWithNsec } from '../../src/authority/zone-signer.js';
import { dsDigest } from '../../src/crypto/ds-digest.js';
import { generateKeyPair } from '../../src/crypto/key-generation.js';
import { keyTag } from '../../src/crypto/key-tag.js';
import { exchangeUdp, randomQueryId } from '../../src/resolver/dns-transport.js';
import { keysetToText } from '../../src/wire/key-files.js';
import { encodeMessage } from '../../src/wire/message-encoder.js';
import { newMessage } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { decodeRdata, encodeRdata } from '../../src/wire/rdata-codec.js';
import { rdataToText } from '../../src/wire/rdata-text.js';
import { RRType } from '../../src/wire/rr-type.js';
import { parseZoneText, zoneToText } from '../../src/wire/zone-file.js';
import { type NsdServer, removeDir, startNsd, tempDir } from './external-servers.js';

export const ROOT_PHASES = ['old-only', 'new-published', 'old-revoked', 'new-only'] as const;
export type RootPhase = (typeof ROOT_PHASES)[number];

/** TTL of the root's DNSKEY RRset (seconds): below the lab's add hold-down, so the RFC 5011 TTL rule does not lengthen it. */
export const ROOT_DNSKEY_TTL = 4;

export interface RollingRoot {
  readonly dir: string;
  readonly rootHintsFile: string;
  /** `keyset-.` holding the old KSK only: the anchor a resolver starts with. */
  readonly oldKeysetFile: string;
  /** Key tags: the old KSK, the old KSK with its REVOKE bit, the new KSK. */
  readonly tags: { readonly old: number; readonly oldRevoked: number; readonly new: number };
  readonly phase: RootPhase;
  publish(phase: RootPhase): Promise<void>;
  stop(): Promise<void>;
}

function newKey(zone: Name, role: 'ksk' | 'zsk', flags = role === 'ksk' ? 257 : 256): ZoneSigningKey {
  const pair = generateKeyPair(13);
  const dnskeyRdata = encodeRdata(RRType.DNSKEY, { flags, protocol: 3, algorithm: 13, publicKey: pair.publicKeyField });
  return { zone, algorithm: 13, keyTag: keyTag(dnskeyRdata), privateKey: pair.privateKey, dnskeyRdata, role };
}

/** The same key with the REVOKE bit (RFC 5011 §2.1): flags 385, a new key tag, the same private key. */
function revokedKey(key: ZoneSigningKey): ZoneSigningKey {
  const dnskeyRdata = Uint8Array.from(key.dnskeyRdata);
  dnskeyRdata[1] = dnskeyRdata[1]! | 0x80;
  return { ...key, dnskeyRdata, keyTag: keyTag(dnskeyRdata) };
}

function signedZoneText(zone: Name, text: string, keys: readonly ZoneSigningKey[], dnskeyTtl: number): string {
  const records = parseZoneText(text, { origin: zone }).records;
  const now = Math.floor(Date.now() / 1000);
  const signed = signZoneWithNsec(records, { zone, keys, window: { inception: now - 3600, expiration: now + 86_400 }, dnskeyTtl });
  return zoneToText(signed, zone) + '\n';
}

async function soaSerial(address: string, zone: string): Promise<number | undefined> {
  const query = newMessage({ id: randomQueryId(), question: [{ name: Name.parse(zone), type: RRType.SOA, class: 1 }] });
  try {
    const { response } = await exchangeUdp({ host: address, port: 53 }, query, encodeMessage(query), 300);
    const soa = response.answer.find((r) => r.type === RRType.SOA);
    return soa ? (decodeRdata(RRType.SOA, soa.rdata)['serial'] as number) : undefined;
  } catch {
    return undefined;
  }
}

/** Starts the root (PREFIX.1) and lab. (PREFIX.2) NSDs with the root in `old-only`. */
export async function startRollingRoot(prefix: string): Promise<RollingRoot> {
  if (!/^127\.10\.\d{1,3}$/.test(prefix)) throw new Error(`prefix ${prefix} is not inside 127.10.0.0/16`);
  const dir = tempDir('rolling-root');
  const root = Name.root;
  const lab = Name.parse('lab.');
  const kskOld = newKey(root, 'ksk');
  const kskNew = newKey(root, 'ksk');
  const zsk = newKey(root, 'zsk');
  const labKey = newKey(lab, 'ksk');
  const labDs = encodeRdata(RRType.DS, { keyTag: labKey.keyTag, algorithm: 13, digestType: 2, digest: dsDigest(2, lab.wire, labKey.dnskeyRdata) });

  const labFile = join(dir, 'lab.zone');
  writeFileSync(
    labFile,
    signedZoneText(
      lab,
      `lab. 30 IN SOA ns1.lab. hostmaster.lab. 1 60 60 600 5\nlab. 30 IN NS ns1.lab.\nns1.lab. 30 IN A ${prefix}.2\nwww.lab. 2 IN A 192.0.2.80\n`,
      [labKey],
      5,
    ),
  );

  const rootFile = join(dir, 'root.zone');
  let serial = 0;
  const writeRoot = (phase: RootPhase) => {
    serial++;
    const keys: ZoneSigningKey[] =
      phase === 'old-only'
        ? [kskOld, zsk]
        : phase === 'new-published'
          ? [kskOld, { ...kskNew, signs: false }, zsk]
          : phase === 'old-revoked'
            ? [revokedKey(kskOld), kskNew, zsk]
            : [kskNew, zsk];
    const text =
      `. 30 IN SOA a.root-servers. hostmaster.root-servers. ${serial} 60 60 600 5\n` +
      `. 30 IN NS a.root-servers.\na.root-servers. 30 IN A ${prefix}.1\n` +
      `lab. 5 IN NS ns1.lab.\nns1.lab. 5 IN A ${prefix}.2\n` +
      `lab. 5 IN DS ${rdataToText(RRType.DS, labDs)}\n`;
    writeFileSync(rootFile, signedZoneText(root, text, keys, ROOT_DNSKEY_TTL));
    // NSD rereads a zone file on SIGHUP only when its mtime changed: make every version's mtime distinct.
    const at = Math.floor(Date.now() / 1000) + serial;
    utimesSync(rootFile, at, at);
  };
  writeRoot('old-only');

  const rootHintsFile = join(dir, 'named.root');
  writeFileSync(rootHintsFile, `.  3600000  NS  A.ROOT-SERVERS.\nA.ROOT-SERVERS.  3600000  A  ${prefix}.1\n`);
  const oldKeysetFile = join(dir, 'keyset-.');
  writeFileSync(oldKeysetFile, keysetToText([{ name: root, type: RRType.DNSKEY, class: 1, ttl: ROOT_DNSKEY_TTL, rdata: kskOld.dnskeyRdata }]));

  const servers: NsdServer[] = [];
  const stop = async () => {
    await Promise.all(servers.map((s) => s.stop()));
    removeDir(dir);
  };
  try {
    servers.push(await startNsd(`${prefix}.1`, 53, { '.': rootFile }));
    servers.push(await startNsd(`${prefix}.2`, 53, { 'lab.': labFile }));
  } catch (error) {
    await stop();
    throw error;
  }
  const rootServer = servers[0]!;
  let phase: RootPhase = 'old-only';
  return {
    dir,
    rootHintsFile,
    oldKeysetFile,
    tags: { old: kskOld.keyTag, oldRevoked: revokedKey(kskOld).keyTag, new: kskNew.keyTag },
    get phase() {
      return phase;
    },
    async publish(next) {
      writeRoot(next);
      rootServer.reload();
      const deadline = Date.now() + 15_000;
      while ((await soaSerial(`${prefix}.1`, '.')) !== serial) {
        if (Date.now() > deadline) throw new Error(`NSD on ${prefix}.1 did not load root serial ${serial} (${next})`);
        await new Promise((r) => setTimeout(r, 100));
      }
      phase = next;
    },
    stop,
  };
}
