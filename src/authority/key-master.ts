import { randomUUID, type KeyObject } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../clock.js';
import { dsDigest } from '../crypto/ds-digest.js';
import { keyTag } from '../crypto/key-tag.js';
import { writeFileAtomic } from '../storage/atomic-file.js';
import { dssetToText, keyFileName, keysetToText } from '../wire/key-files.js';
import type { ResourceRecord } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import { encodeRdata } from '../wire/rdata-codec.js';
import { RRType } from '../wire/rr-type.js';
import { fromBase64, toBase64 } from '../wire/text-encoding.js';
import { type KeyMetadata, type KeyRole, type KeyState, type KeyStore, KeyStoreError, type StoredKey } from './key-store.js';
import type { SigningPolicy } from './signing-policy.js';
import type { ZoneSigningKey } from './zone-signer.js';
import type { PrivateKeyHandle } from './private-key-handle.js';

/** A key of a zone as the Key Master holds it: metadata, private key, DNSKEY RDATA. */
export interface ManagedKey {
  readonly metadata: KeyMetadata;
  readonly privateKey: PrivateKeyHandle;
  readonly dnskeyRdata: Uint8Array;
}

/** RFC 4034 §2.1.1: Zone Key (256) plus SEP (1) for a KSK. */
export const KSK_FLAGS = 257;
export const ZSK_FLAGS = 256;

export function dnskeyRdataOf(metadata: KeyMetadata): Uint8Array {
  return encodeRdata(RRType.DNSKEY, { flags: metadata.flags, protocol: 3, algorithm: metadata.algorithm, publicKey: fromBase64(metadata.publicKey) });
}

function managed(key: StoredKey): ManagedKey {
  return { ...key, dnskeyRdata: dnskeyRdataOf(key.metadata) };
}

/** Published keys: in the DNSKEY RRset (every state but retired and the two of an algorithm rollover that sign unpublished). */
export function isPublished(state: KeyState): boolean {
  return state !== 'retired' && state !== 'presigning' && state !== 'unpublished';
}

/** The keys the signer uses: every published key, signing only when active. */
export function zoneSigningKeys(zone: Name, keys: readonly ManagedKey[]): ZoneSigningKey[] {
  return keys
    .filter((k) => isPublished(k.metadata.state))
    .map((k) => ({
      zone,
      algorithm: k.metadata.algorithm,
      keyTag: k.metadata.keyTag,
      privateKey: k.privateKey,
      dnskeyRdata: k.dnskeyRdata,
      role: k.metadata.role,
      signs: k.metadata.state === 'active',
    }));
}

/** The DNSKEY records of the published KSKs: what `keyset-ZONE.` holds (`dnssec-signzone -C`). */
export function keysetRecords(zone: Name, keys: readonly ManagedKey[], ttl: number, cls = 1): ResourceRecord[] {
  return keys
    .filter((k) => k.metadata.role === 'ksk' && isPublished(k.metadata.state))
    .map((k) => ({ name: zone, type: RRType.DNSKEY, class: cls, ttl, rdata: k.dnskeyRdata }));
}

/** The DS records of the published KSKs for the parent (`dsset-ZONE.`), with one digest type. */
export function dssetRecords(zone: Name, keys: readonly ManagedKey[], digestType: number, ttl: number, cls = 1): ResourceRecord[] {
  return keysetRecords(zone, keys, ttl, cls).map((dnskey) => {
    const tag = keyTag(dnskey.rdata);
    return {
      name: zone,
      type: RRType.DS,
      class: cls,
      ttl,
      rdata: encodeRdata(RRType.DS, { keyTag: tag, algorithm: dnskey.rdata[3]!, digestType, digest: dsDigest(digestType, zone.wire, dnskey.rdata) }),
    };
  });
}

export interface ParentFiles {
  readonly dsset: string;
  readonly keyset: string;
}

/** The text of `dsset-ZONE.` and `keyset-ZONE.` (BIND format). */
export function parentFilesText(zone: Name, keys: readonly ManagedKey[], policy: Pick<SigningPolicy, 'dsDigest' | 'dsTtl' | 'dnskeyTtl'>, digestType: number = policy.dsDigest): ParentFiles {
  return {
    dsset: dssetToText(dssetRecords(zone, keys, digestType, policy.dsTtl)),
    keyset: keysetToText(keysetRecords(zone, keys, policy.dnskeyTtl)),
  };
}

/** Writes `dsset-ZONE.` and `keyset-ZONE.` into `dir` (the state dir), atomically; returns their paths. */
export async function writeParentFiles(dir: string, zone: Name, files: ParentFiles): Promise<{ dsset: string; keyset: string }> {
  const dsset = join(dir, keyFileName('dsset', zone));
  const keyset = join(dir, keyFileName('keyset', zone));
  for (const [path, text] of [[dsset, files.dsset], [keyset, files.keyset]] as const) {
    try {
      await writeFileAtomic(path, text, 0o644);
    } catch (error) {
      throw new KeyStoreError(path, `cannot write: ${(error as Error).message}`, { cause: error });
    }
  }
  return { dsset, keyset };
}

/** Removes the zone's dsset-/keyset- files (an unsigned zone has nothing for the parent); returns the paths removed. */
export async function removeParentFiles(dir: string, zone: Name): Promise<string[]> {
  const removed: string[] = [];
  for (const kind of ['dsset', 'keyset'] as const) {
    const path = join(dir, keyFileName(kind, zone));
    try {
      await unlink(path);
      removed.push(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new KeyStoreError(path, `cannot remove: ${(error as Error).message}`, { cause: error });
    }
  }
  return removed;
}

/** What `keysFor` did: the zone's keys now, and which were made or retired for this policy. */
export interface KeySetChange {
  readonly keys: ManagedKey[];
  readonly generated: readonly KeyMetadata[];
  readonly retired: readonly KeyMetadata[];
}

interface WantedKey {
  readonly role: KeyRole;
  readonly state: KeyState;
}

/**
 * The Key Master's key management for the zones it masters: it generates keys (only the Key
 * Master does), keeps them in the key store, and says which sign. Restarting finds the same
 * keys in the store; nothing is generated unless the policy asks for keys that are not there.
 */
export class KeyMaster {
  constructor(
    private readonly store: KeyStore,
    private readonly clock: Clock,
  ) {}

  /** The zone's keys as stored (published and retired). */
  async keys(zone: Name): Promise<ManagedKey[]> {
    return (await this.store.list(zone)).map(managed);
  }

  /**
   * The keys to sign `zone` with under `policy`: the stored ones when they fit (same
   * algorithm and sizes), plus whatever is missing: an active KSK and ZSK and, with RFC 5011
   * rollover, a standby KSK and a pre-published next ZSK (four DNSKEYs, as the Microsoft DNS
   * Server makes them). Keys of another algorithm or size are retired. New keys are written
   * before any existing key changes state; if the key directory cannot be written, nothing
   * changes and KeyStoreError says where.
   */
  async keysFor(zone: Name, policy: SigningPolicy): Promise<KeySetChange> {
    const stored = await this.keys(zone);
    const bitsFor = (role: KeyRole) => (role === 'ksk' ? policy.kskBits : policy.zskBits);
    const fits = (k: ManagedKey) => k.metadata.algorithm === policy.algorithm && k.metadata.bits === bitsFor(k.metadata.role);
    const wanted: WantedKey[] = [
      { role: 'ksk', state: 'active' },
      { role: 'zsk', state: 'active' },
      ...(policy.rfc5011 ? ([{ role: 'ksk', state: 'standby' }, { role: 'zsk', state: 'next' }] as const) : []),
    ];
    const keep: ManagedKey[] = [];
    const retire: ManagedKey[] = [];
    for (const k of stored) {
      if (!isPublished(k.metadata.state)) continue;
      const isWanted = wanted.some((w) => w.role === k.metadata.role && w.state === k.metadata.state);
      if (fits(k) && isWanted) keep.push(k);
      else retire.push(k);
    }
    const missing = wanted.filter((w) => !keep.some((k) => k.metadata.role === w.role && k.metadata.state === w.state));
    if (missing.length > 0) await this.store.checkWritable(zone);
    const now = this.clock.now();
    const usedTags = new Set(stored.map((k) => k.metadata.keyTag));
    const fresh: StoredKey[] = [];
    for (const w of missing) {
      let key: StoredKey;
      do key = await this.generate(zone, policy, w, now);
      while (usedTags.has(key.metadata.keyTag));
      usedTags.add(key.metadata.keyTag);
      fresh.push(key);
    }
    if (fresh.length > 0) await this.store.add(zone, fresh);
    const retiredAt = new Date(now).toISOString();
    const retiredMeta = retire.map((k) => ({ ...k.metadata, state: 'retired' as const, retired: retiredAt }));
    if (retiredMeta.length > 0) await this.store.updateMetadata(zone, retiredMeta);
    const retiredIds = new Set(retiredMeta.map((m) => m.id));
    const keys = [
      ...stored.filter((k) => !retiredIds.has(k.metadata.id)),
      ...retiredMeta.map((m) => ({ ...stored.find((k) => k.metadata.id === m.id)!, metadata: m })),
      ...fresh.map(managed),
    ];
    return { keys, generated: fresh.map((k) => k.metadata), retired: retiredMeta };
  }

  private async generate(zone: Name, policy: SigningPolicy, wanted: WantedKey, now: number): Promise<StoredKey> {
    const bits = wanted.role === 'ksk' ? policy.kskBits : policy.zskBits;
    const pair = await this.store.keyPairs(zone).generate(policy.algorithm, bits, `${zone.toString()} ${wanted.role}`);
    const flags = wanted.role === 'ksk' ? KSK_FLAGS : ZSK_FLAGS;
    const rdata = encodeRdata(RRType.DNSKEY, { flags, protocol: 3, algorithm: policy.algorithm, publicKey: pair.publicKeyField });
    const created = new Date(now).toISOString();
    const rollover = wanted.role === 'ksk' ? policy.kskRollover : policy.zskRollover;
    const metadata: KeyMetadata = {
      id: randomUUID(),
      zone: zone.lowercase().toString(),
      role: wanted.role,
      algorithm: policy.algorithm,
      bits,
      keyTag: keyTag(rdata),
      flags,
      publicKey: toBase64(pair.publicKeyField),
      state: wanted.state,
      created,
      ...(wanted.state === 'active' ? { activated: created, nextRollover: new Date(now + rollover * 1000).toISOString() } : {}),
      ...(pair.storage ? { storage: pair.storage } : {}),
    };
    return { metadata, privateKey: pair.privateKey };
  }
}

/** Why a zone's Key Master cannot be moved, or undefined when `server` is this server. */
export function keyMasterChangeRefusal(zone: string, server: string, thisServer: string, fileBacked: boolean): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/\.$/, '');
  if (norm(server) === norm(thisServer) || ['localhost', 'self', 'this'].includes(norm(server))) return undefined;
  if (fileBacked)
    return `zone ${zone} is file-backed: it has only one primary server (${thisServer}), so its Key Master cannot be moved to ${server}`;
  return `the Key Master of ${zone} can only be this server (${thisServer}) in this version`;
}
