import { randomUUID } from 'node:crypto';
import type { Clock } from '../../clock.js';
import { keyTag } from '../../crypto/key-tag.js';
import type { Name } from '../../wire/name.js';
import { encodeRdata } from '../../wire/rdata-codec.js';
import { RRType } from '../../wire/rr-type.js';
import { toBase64 } from '../../wire/text-encoding.js';
import { KSK_FLAGS, type KeyMaster, type KeySetChange, type ManagedKey, ZSK_FLAGS } from '../key-master.js';
import { type KeyMetadata, type KeyStore, KeyStoreError, type StoredKey } from '../key-store.js';
import { type SigningPolicy, fixedKeyBits } from '../signing-policy.js';
import { RSA_DEFAULT_BITS } from '../../crypto/key-generation.js';
import { algorithmDiffers, algorithmRolloverOf } from './algorithm-rollover.js';
import {
  type KeyRequest,
  type KeyRolloverView,
  type ParentDsObservation,
  type RolloverEvent,
  queueRollover,
  rolloverView,
  stageEvent,
  stepRollover,
  stepRolloverManually,
} from './rollover-engine.js';
import { revokedMetadata } from './rollover-keys.js';
import { type RolloverTimers, checkRolloverRecord, isRolling } from './rollover-state.js';

/**
 * The parent's DS RRset for `zone` as this server's resolver sees it: DS RDATAs (with the TTL
 * when known) only when the answer validated; undefined when it could not be looked up or did
 * not validate. An empty list: the parent has no DS.
 */
export type DsAtParent = (zone: Name) => Promise<readonly Uint8Array[] | { readonly ds: readonly Uint8Array[]; readonly ttl?: number } | undefined>;

/** A signed zone as the rollover driver needs it. */
export interface RolloverZone {
  readonly name: Name;
  readonly policy: SigningPolicy;
  /** TTLsig: the largest TTL the signed zone serves. */
  readonly maxZoneTtl: number;
  /** Re-signs the zone with the keys now in the key store and serves it; throws when it could not. */
  readonly resign: () => Promise<void>;
  /** The parent's DS RRset; the driver's own `dsAtParent` when not given. */
  readonly dsAtParent?: DsAtParent;
}

export interface ZoneRolloverOptions {
  readonly store: KeyStore;
  readonly clock: Clock;
  readonly timers: RolloverTimers;
  readonly log: (event: RolloverEvent) => void;
  /** Told when a re-sign after a key change failed and the key changes were undone. */
  readonly onError?: (zone: Name, error: Error) => void;
  readonly dsAtParent?: DsAtParent;
}

/** What one run did. */
export interface RolloverRun {
  /** The key set changed and the zone was re-signed (the KSK set may have changed: DS at a local parent, dsset-/keyset-). */
  readonly resigned: boolean;
  /** When to run again (ms). */
  readonly wakeAt: number | undefined;
}

/**
 * The I/O side of key rollover for one server: reads a zone's keys from the key store, runs the
 * pure engine (rollover-engine.ts) on the clock, generates the keys it asks for, writes the
 * metadata it returns in order, checks the parent's DS when asked, and has the zone re-signed
 * when the key set changed. If the re-sign fails, the metadata written is put back, so the
 * recorded times always describe what was served.
 */
export class ZoneRollover {
  dsAtParent: DsAtParent | undefined;

  constructor(private readonly o: ZoneRolloverOptions) {
    this.dsAtParent = o.dsAtParent;
  }

  get timers(): RolloverTimers {
    return this.o.timers;
  }

  private async keysOf(zone: Name): Promise<StoredKey[]> {
    const keys = await this.o.store.list(zone);
    for (const k of keys) if (k.metadata.rollover) checkRolloverRecord(k.metadata.rollover, `${this.o.store.zoneDirectory(zone)}/${k.metadata.id}.json`);
    return keys;
  }

  /** Runs the zone's rollovers at the clock's now until the engine has nothing more to do. */
  async run(zone: RolloverZone): Promise<RolloverRun> {
    let parentDs: ParentDsObservation | undefined;
    let resigned = false;
    let pendingResign = false;
    const undo: KeyMetadata[] = [];
    const generated: KeyMetadata[] = [];
    for (let guard = 0; guard < 64; guard++) {
      const now = this.o.clock.now();
      const stored = await this.keysOf(zone.name);
      const result = stepRollover({
        zone: zone.name,
        keys: stored.map((k) => k.metadata),
        policy: zone.policy,
        timers: this.o.timers,
        maxZoneTtl: zone.maxZoneTtl,
        now,
        ...(parentDs ? { parentDs } : {}),
      });
      parentDs = undefined;
      for (const e of result.events) this.o.log(e);
      if (result.generate) {
        generated.push(await this.generate(zone, result.generate, stored, now));
        pendingResign = true;
        continue;
      }
      if (result.dsCheckDue) {
        // What was changed is served first: a parent hosted here takes the new DS from it.
        if (pendingResign) {
          await this.resign(zone, undo, generated);
          pendingResign = false;
          resigned = true;
        }
        parentDs = await this.checkParent(zone, this.o.clock.now());
        continue;
      }
      if (result.writes.length > 0) {
        const before = new Map(stored.map((k) => [k.metadata.id, k.metadata]));
        for (const m of result.writes) if (before.has(m.id) && !undo.some((u) => u.id === m.id)) undo.push(before.get(m.id)!);
        await this.o.store.updateMetadata(zone.name, result.writes);
        if (result.keySetChanged) pendingResign = true;
        continue;
      }
      if (pendingResign) {
        await this.resign(zone, undo, generated);
        resigned = true;
      }
      return { resigned, wakeAt: result.wakeAt };
    }
    throw new Error(`key rollover of ${zone.name}: the engine did not settle`);
  }

  /** Re-signs; on failure puts back the metadata this run changed. Empties `undo` and `generated` once served. */
  private async resign(zone: RolloverZone, undo: KeyMetadata[], generated: KeyMetadata[]): Promise<void> {
    try {
      await zone.resign();
    } catch (error) {
      // The zone still serves the keys as they were: put their metadata back so no wait
      // starts from a change nobody saw; keys made in this run were never served: retired.
      const never = generated.map((m) => ({ ...m, state: 'retired' as const, retired: new Date(this.o.clock.now()).toISOString() }));
      await this.o.store.updateMetadata(zone.name, [...undo.reverse(), ...never]).catch(() => undefined);
      this.o.onError?.(zone.name, error as Error);
      throw error;
    }
    undo.length = 0;
    generated.length = 0;
  }

  private async checkParent(zone: RolloverZone, now: number): Promise<ParentDsObservation> {
    const lookup = zone.dsAtParent ?? this.dsAtParent;
    if (!lookup) return { at: now, ds: undefined };
    try {
      const seen = await lookup(zone.name);
      if (seen === undefined) return { at: now, ds: undefined };
      if (Array.isArray(seen)) return { at: now, ds: seen as readonly Uint8Array[] };
      const withTtl = seen as { ds: readonly Uint8Array[]; ttl?: number };
      return { at: now, ds: withTtl.ds, ...(withTtl.ttl === undefined ? {} : { ttl: withTtl.ttl }) };
    } catch {
      return { at: now, ds: undefined };
    }
  }

  /** Generates the key the engine asked for, published from now, with a key tag (and revoked tag) no other key of the zone has. */
  private async generate(zone: RolloverZone, request: KeyRequest, stored: readonly StoredKey[], now: number): Promise<KeyMetadata> {
    const { policy } = zone;
    await this.o.store.checkWritable(zone.name);
    const used = new Set(stored.flatMap((k) => [k.metadata.keyTag, revokedMetadata(k.metadata).keyTag]));
    // The policy's sizes for its algorithm; a key of another (an ordinary roll of a zone whose
    // algorithm is being changed) is the size of the key it replaces.
    const { algorithm } = request;
    const bits = algorithm === policy.algorithm ? (request.role === 'ksk' ? policy.kskBits : policy.zskBits) : (request.bits ?? fixedKeyBits(algorithm) ?? RSA_DEFAULT_BITS);
    const flags = request.role === 'ksk' ? KSK_FLAGS : ZSK_FLAGS;
    for (let attempt = 0; attempt < 16; attempt++) {
      const pair = await this.o.store.keyPairs(zone.name).generate(algorithm, bits, `${zone.name.toString()} ${request.role}`);
      const rdata = encodeRdata(RRType.DNSKEY, { flags, protocol: 3, algorithm, publicKey: pair.publicKeyField });
      const at = new Date(now).toISOString();
      const metadata: KeyMetadata = {
        id: randomUUID(),
        zone: zone.name.lowercase().toString(),
        role: request.role,
        algorithm,
        bits,
        keyTag: keyTag(rdata),
        flags,
        publicKey: toBase64(pair.publicKeyField),
        state: request.state,
        created: at,
        // A presigning key is published when the algorithm rollover publishes it.
        ...(request.state === 'presigning' ? {} : { published: at }),
        ...(request.state === 'active' ? { activated: at } : {}),
        ...(pair.storage ? { storage: pair.storage } : {}),
      };
      if (used.has(metadata.keyTag) || used.has(revokedMetadata(metadata).keyTag)) continue;
      await this.o.store.add(zone.name, [{ metadata, privateKey: pair.privateKey }]);
      return metadata;
    }
    throw new KeyStoreError(this.o.store.zoneDirectory(zone.name), 'could not generate a key with an unused key tag');
  }

  /** `zone roll`: queue an active key's rollover now, then run. */
  async roll(zone: RolloverZone, keyId: string): Promise<RolloverRun> {
    const keys = (await this.keysOf(zone.name)).map((k) => k.metadata);
    const queued = queueRollover(keys, keyId, zone.policy, this.o.clock.now());
    await this.o.store.updateMetadata(zone.name, [queued]);
    this.o.log(stageEvent(zone.name, queued, 'Queued'));
    return this.run(zone);
  }

  /** `zone step-rollover`: the operator vouches for the parent's DS; then run. */
  async step(zone: RolloverZone, keyId: string): Promise<RolloverRun> {
    const keys = (await this.keysOf(zone.name)).map((k) => k.metadata);
    const stepped = stepRolloverManually(keys, keyId, zone.policy, this.o.clock.now());
    await this.o.store.updateMetadata(zone.name, [stepped]);
    this.o.log(stageEvent(zone.name, stepped, 'KskWaitingForDSTtl'));
    return this.run(zone);
  }

  /** Each key's rollover columns for `zone keys`. */
  views(keys: readonly KeyMetadata[], policy: SigningPolicy, maxZoneTtl: number): Map<string, KeyRolloverView> {
    return new Map(keys.map((k) => [k.id, rolloverView(k, keys, { policy, timers: this.o.timers, maxZoneTtl })]));
  }
}

/**
 * The keys to sign with, rollovers respected: while a rollover is under way (or has left keys
 * the plain Key Master does not know: inactive ZSKs, revoked KSKs, a second active key) the
 * stored keys are used as they are, so signing or a restart never retires a key a rollover
 * still needs. The same when the policy names another algorithm than the zone's keys have:
 * swapping them at once would leave every resolver that cached the old DS or DNSKEY RRset with
 * a bogus zone, so the rollover engine rolls the algorithm (RFC 6781 §4.1.4) from these keys.
 * Otherwise the Key Master decides (first signing, other sizes, RFC 5011 on or off).
 */
export async function keysForSigning(keyMaster: KeyMaster, zone: Name, policy: SigningPolicy): Promise<KeySetChange> {
  const stored: ManagedKey[] = await keyMaster.keys(zone);
  const published = stored.filter((k) => k.metadata.state !== 'retired');
  const activeOf = (role: 'ksk' | 'zsk') => published.filter((k) => k.metadata.role === role && k.metadata.state === 'active').length;
  const metadata = published.map((k) => k.metadata);
  if (algorithmRolloverOf(metadata) || (algorithmDiffers(metadata, policy.algorithm) && activeOf('ksk') > 0 && activeOf('zsk') > 0)) return { keys: stored, generated: [], retired: [] };
  const rolling =
    published.some((k) => isRolling(k.metadata.rollover?.status) || k.metadata.state === 'inactive' || k.metadata.state === 'revoked') || activeOf('ksk') > 1 || activeOf('zsk') > 1;
  const fits = published.every((k) => k.metadata.algorithm === policy.algorithm && k.metadata.bits === (k.metadata.role === 'ksk' ? policy.kskBits : policy.zskBits));
  if (published.length > 0 && rolling && fits) return { keys: stored, generated: [], retired: [] };
  return keyMaster.keysFor(zone, policy);
}
