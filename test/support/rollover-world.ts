import { randomUUID, type KeyObject } from 'node:crypto';
import { generateKeyPair } from '../../src/crypto/key-generation.js';
import { keyTag } from '../../src/crypto/key-tag.js';
import { KSK_FLAGS, ZSK_FLAGS, dnskeyRdataOf, type ManagedKey } from '../../src/authority/key-master.js';
import type { KeyMetadata, KeyRole, KeyState } from '../../src/authority/key-store.js';
import {
  type KeyRequest,
  type ParentDsObservation,
  type RolloverEvent,
  queueRollover,
  stepRollover,
  stepRolloverManually,
} from '../../src/authority/rollover/rollover-engine.js';
import { maxZoneTtl, parentDsKeys, parentSignalRecords, rolloverSigningKeys, dsRdataFor } from '../../src/authority/rollover/rollover-keys.js';
import { type RolloverTimers, checkRolloverRecord, rolloverTimers } from '../../src/authority/rollover/rollover-state.js';
import { DEFAULT_SIGNING_POLICY, type SigningPolicy, fixedKeyBits } from '../../src/authority/signing-policy.js';
import { signZone } from '../../src/authority/zone-signer.js';
import type { ResourceRecord } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { encodeRdata } from '../../src/wire/rdata-codec.js';
import { RRType } from '../../src/wire/rr-type.js';
import { toBase64 } from '../../src/wire/text-encoding.js';
import { parseZoneText } from '../../src/wire/zone-file.js';

/**
 * A simulated signed zone, its parent and the rollover engine, in simulated time: the engine's
 * steps are applied as the zone service applies them (writes in order, keys generated on
 * request, the zone re-signed when the key set changes, signatures refreshed every two days),
 * and every version of the zone and of the parent's DS RRset is kept with the time it was first
 * served, for the timing proof to replay against simulated resolver caches.
 */

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

export const ZONE_TEXT = `$TTL 600
@ SOA ns hostmaster 1 3600 900 604800 300
@ NS ns
ns A 192.0.2.1
www A 192.0.2.80
www AAAA 2001:db8::80
mail 900 MX 10 www
*.wild TXT "wildcard"
`;

export interface ZoneVersion {
  /** When it was first served (ms). */
  readonly from: number;
  readonly records: readonly ResourceRecord[];
  readonly label: string;
}

export interface DsVersion {
  readonly from: number;
  readonly ds: readonly Uint8Array[];
  readonly ttl: number;
}

/** How the parent treats the child's DS. */
export type ParentBehaviour =
  /** Scans the child's CDS every `every` ms (RFC 7344 §6.1) and publishes it; lookups see it. */
  | { readonly kind: 'cds-scan'; readonly every: number }
  /** Never changes the DS. */
  | { readonly kind: 'never' }
  /** Publishes a DS for another key beside the old one at the first scan. */
  | { readonly kind: 'wrong-key'; readonly every: number }
  /** Adds what the CDS asks for but never removes a DS (an operator who only adds). */
  | { readonly kind: 'add-only'; readonly every: number }
  /** Follows the CDS like cds-scan, but Keymaster's lookups fail (the operator must step). */
  | { readonly kind: 'invisible'; readonly every: number };

export interface WorldOptions {
  readonly rfc5011: boolean;
  readonly policy?: Partial<SigningPolicy>;
  readonly timers?: Partial<RolloverTimers>;
  readonly parent: ParentBehaviour;
  readonly start?: number;
  /** Signature refresh period (ms); default two days. */
  readonly resignEvery?: number;
  /** Apply only the first write of every multi-write step, then "crash and restart". */
  readonly crashMidStep?: boolean;
  /** TTL the zone serves its DNSKEY RRset with, if not the policy's (a lie, to show the proof can fail). */
  readonly servedDnskeyTtl?: number;
  /** TTL the parent really serves the DS with while lookups report the policy's (a lie, ditto). */
  readonly parentServesDsTtl?: number;
  /** More zone file lines for the zone's data. */
  readonly extraRecords?: string;
  /** The largest TTL the engine is told the zone has, if not the true one (a lie, ditto). */
  readonly toldMaxZoneTtl?: number;
}

interface WorldKey {
  metadata: KeyMetadata;
  readonly privateKey: KeyObject;
}

/** RSA keys of the simulation: the smallest size allowed, for speed (the timing is what is tested). */
const RSA_TEST_BITS = 1024;

export class RolloverWorld {
  readonly zone = Name.parse('child.example.');
  /** `zone sign` with other options changes it (e.g. the algorithm: an algorithm rollover follows). */
  policy: SigningPolicy;
  readonly timers: RolloverTimers;
  now: number;
  readonly keys = new Map<string, WorldKey>();
  readonly versions: ZoneVersion[] = [];
  readonly dsVersions: DsVersion[] = [];
  readonly events: RolloverEvent[] = [];
  /** Every status a key entered, in order, with the time. */
  readonly statusLog: { at: number; keyId: string; role: KeyRole; status: string }[] = [];
  readonly unsigned: ResourceRecord[];
  private nextResign: number;
  private nextScan: number;
  restarts = 0;
  crashes = 0;
  dsChecks = 0;

  constructor(readonly options: WorldOptions) {
    this.now = options.start ?? Date.UTC(2026, 0, 1);
    this.policy = { ...DEFAULT_SIGNING_POLICY, rfc5011: options.rfc5011, dnskeyTtl: 3600, dsTtl: 3600, kskRollover: 60 * 86400, zskRollover: 30 * 86400, ...options.policy };
    this.timers = rolloverTimers(options.timers);
    this.unsigned = parseZoneText(ZONE_TEXT + (options.extraRecords ?? ''), { origin: this.zone }).records;
    // The keys `zone sign` makes (KeyMaster.keysFor): active KSK and ZSK, with RFC 5011 a standby KSK and a next ZSK.
    this.addKey('ksk', 'active');
    this.addKey('zsk', 'active');
    if (options.rfc5011) {
      this.addKey('ksk', 'standby');
      this.addKey('zsk', 'next');
    }
    this.resign('signed');
    // The parent starts with the DS of the zone's dsset- file.
    this.dsVersions.push({ from: this.now, ds: this.wantedDs(), ttl: options.parentServesDsTtl ?? this.policy.dsTtl });
    this.nextResign = this.now + (options.resignEvery ?? 2 * DAY);
    this.nextScan = this.now + ('every' in options.parent ? options.parent.every : Infinity);
  }

  get metadata(): KeyMetadata[] {
    return [...this.keys.values()].map((k) => k.metadata);
  }

  key(id: string): KeyMetadata {
    return this.keys.get(id)!.metadata;
  }

  /** Keys of a role in a state, oldest first. */
  keysIn(role: KeyRole, state: KeyState): KeyMetadata[] {
    return this.metadata.filter((k) => k.role === role && k.state === state).sort((a, b) => a.created.localeCompare(b.created));
  }

  private addKey(role: KeyRole, state: KeyState, algorithm = this.policy.algorithm): KeyMetadata {
    const bits = fixedKeyBits(algorithm) ?? RSA_TEST_BITS;
    const pair = generateKeyPair(algorithm, bits);
    const flags = role === 'ksk' ? KSK_FLAGS : ZSK_FLAGS;
    const rdata = encodeRdata(RRType.DNSKEY, { flags, protocol: 3, algorithm, publicKey: pair.publicKeyField });
    const at = new Date(this.now).toISOString();
    const period = (role === 'ksk' ? this.policy.kskRollover : this.policy.zskRollover) * 1000;
    const metadata: KeyMetadata = {
      id: randomUUID(),
      zone: this.zone.toString(),
      role,
      algorithm,
      bits,
      keyTag: keyTag(rdata),
      flags,
      publicKey: toBase64(pair.publicKeyField),
      state,
      created: at,
      ...(state === 'presigning' ? {} : { published: at }),
      ...(state === 'active' ? { activated: at } : {}),
      ...(state === 'active' && this.versions.length === 0 ? { nextRollover: new Date(this.now + period).toISOString() } : {}),
    };
    this.keys.set(metadata.id, { metadata, privateKey: pair.privateKey });
    return metadata;
  }

  private managed(): ManagedKey[] {
    return [...this.keys.values()].map((k) => ({ metadata: k.metadata, privateKey: k.privateKey, dnskeyRdata: dnskeyRdataOf(k.metadata) }));
  }

  /** TTLsig as the engine is told it. */
  get maxZoneTtl(): number {
    return this.options.toldMaxZoneTtl ?? maxZoneTtl(this.unsigned, this.policy.dnskeyTtl);
  }

  /**
   * `zone sign` with other options (keysForSigning keeps the keys; the engine does the rest,
   * e.g. rolls the algorithm), then the engine's step, as the zone service wakes it.
   */
  sign(options: Partial<SigningPolicy>): void {
    this.policy = { ...this.policy, ...options };
    this.step();
  }

  /**
   * What `zone sign` with another algorithm did before algorithm rollover: every key replaced at
   * once by keys of the new algorithm, the zone re-signed (for the proof to show it is unsafe).
   */
  swapAlgorithmAtOnce(algorithm: number): void {
    for (const k of this.keys.values()) if (k.metadata.state !== 'retired') k.metadata = { ...k.metadata, state: 'retired', retired: new Date(this.now).toISOString() };
    this.policy = { ...this.policy, algorithm };
    const fresh = [this.addKey('ksk', 'active'), this.addKey('zsk', 'active')];
    if (this.options.rfc5011) fresh.push(this.addKey('ksk', 'standby'), this.addKey('zsk', 'next'));
    this.resign('algorithm swapped at once');
  }

  /** The DS RRset the child asks for (its CDS). */
  wantedDs(): Uint8Array[] {
    return parentDsKeys(this.metadata.map((metadata) => ({ metadata }))).map((k) => dsRdataFor(this.zone, k.metadata, this.policy.dsDigest));
  }

  /** Signs the zone as the zone service does: the rollover's keys, CDS/CDNSKEY (signed by the KSK too: the signer's rule). */
  resign(label: string): void {
    const now = Math.floor(this.now / 1000);
    const keys = rolloverSigningKeys(this.zone, this.managed());
    const p = this.policy;
    const window = (validity: number) => ({ inception: now - p.signatureInception, expiration: now + validity });
    const records = [...this.unsigned, ...parentSignalRecords(this.zone, this.metadata.map((metadata) => ({ metadata })), p)];
    const signed = signZone(records, {
      zone: this.zone,
      keys,
      windows: { dnskey: window(p.dnskeySignatureValidity), ds: window(p.dsSignatureValidity), other: window(p.signatureValidity) },
      denial: { kind: 'nsec3', iterations: 0, salt: new Uint8Array(0), optOut: false },
      dnskeyTtl: this.options.servedDnskeyTtl ?? p.dnskeyTtl,
    });
    const last = this.versions.at(-1);
    if (last && last.from === this.now) this.versions.pop(); // only the last state of an instant is served
    this.versions.push({ from: this.now, records: signed, label });
  }

  /** The parent's DS as Keymaster's lookup sees it now. */
  private lookupDs(): ParentDsObservation {
    this.dsChecks++;
    const current = this.dsVersions.at(-1)!;
    if (this.options.parent.kind === 'invisible') return { at: this.now, ds: undefined };
    return { at: this.now, ds: current.ds, ttl: this.policy.dsTtl };
  }

  private parentScan(): void {
    const p = this.options.parent;
    const current = this.dsVersions.at(-1)!;
    const served = this.versions.at(-1)!.records.filter((r) => r.type === RRType.CDS).map((r) => r.rdata);
    let next: Uint8Array[] | undefined;
    if (p.kind === 'cds-scan' || p.kind === 'invisible') next = served;
    if (p.kind === 'add-only') next = [...current.ds, ...served.filter((d) => !current.ds.some((c) => Buffer.from(c).equals(Buffer.from(d))))];
    if (p.kind === 'wrong-key' && current.ds.length === 1) {
      const other = generateKeyPair(13);
      const fake: KeyMetadata = { ...this.metadata[0]!, publicKey: toBase64(other.publicKeyField), flags: KSK_FLAGS, algorithm: 13 };
      next = [...current.ds, dsRdataFor(this.zone, fake, 2)];
    }
    if (!next || next.length === 0) return;
    const same = next.length === current.ds.length && next.every((d) => current.ds.some((c) => Buffer.from(c).equals(Buffer.from(d))));
    if (!same) this.dsVersions.push({ from: this.now, ds: next, ttl: this.options.parentServesDsTtl ?? this.policy.dsTtl });
  }

  /** Runs the engine at `now` until it has nothing more to do; re-signs when the key set changed. */
  step(): number | undefined {
    let parentDs: ParentDsObservation | undefined;
    let changed = false;
    let justCrashed = false;
    for (let guard = 0; guard < 100; guard++) {
      const result = stepRollover({ zone: this.zone, keys: this.metadata, policy: this.policy, timers: this.timers, maxZoneTtl: this.maxZoneTtl, now: this.now, ...(parentDs ? { parentDs } : {}) });
      parentDs = undefined;
      this.events.push(...result.events);
      if (result.generate) {
        this.generate(result.generate);
        changed = true;
        continue;
      }
      if (result.dsCheckDue) {
        parentDs = this.lookupDs();
        continue;
      }
      if (result.writes.length === 0) {
        if (changed) this.resign('key set changed');
        return result.wakeAt;
      }
      // Crash once in each step that writes more than one key (its redo after the restart runs through).
      const crash: boolean = this.options.crashMidStep === true && result.writes.length > 1 && !justCrashed;
      justCrashed = crash;
      for (const m of crash ? result.writes.slice(0, 1) : result.writes) this.write(m);
      if (result.keySetChanged) changed = true;
      if (crash) {
        // The process dies after the first write; the restart re-signs from what is stored.
        this.crashes++;
        this.resign('after a crash');
        changed = false;
        this.restart();
      }
    }
    throw new Error('the rollover engine did not settle in 100 steps');
  }

  private generate(request: KeyRequest): void {
    this.addKey(request.role, request.state, request.algorithm);
  }

  private write(m: KeyMetadata): void {
    const k = this.keys.get(m.id)!;
    if (m.rollover && m.rollover.status !== (k.metadata.rollover?.status ?? 'NotRolling')) this.statusLog.push({ at: this.now, keyId: m.id, role: m.role, status: m.rollover.status });
    k.metadata = m;
  }

  /** A restart: metadata read back from JSON (as the key store stores it) and checked. */
  restart(): void {
    this.restarts++;
    for (const k of this.keys.values()) {
      const read = JSON.parse(JSON.stringify(k.metadata)) as KeyMetadata;
      if (read.rollover) checkRolloverRecord(read.rollover, read.id);
      k.metadata = read;
    }
  }

  roll(keyId: string): void {
    this.write(queueRollover(this.metadata, keyId, this.policy, this.now));
    this.step();
  }

  stepManually(keyId: string): void {
    this.write(stepRolloverManually(this.metadata, keyId, this.policy, this.now));
    this.step();
  }

  /**
   * Runs until `until` (ms): the engine at each time it asked for, signatures refreshed, the
   * parent scanning, `onStep` after every stop (e.g. to restart).
   */
  runUntil(until: number, onStep?: (world: this) => void): void {
    while (this.now <= until) {
      const wake = this.step();
      onStep?.(this);
      if (this.now >= this.nextResign) {
        this.resign('signatures refreshed');
        this.nextResign = this.now + (this.options.resignEvery ?? 2 * DAY);
      }
      if (this.now >= this.nextScan) {
        this.parentScan();
        this.nextScan = this.now + ('every' in this.options.parent ? this.options.parent.every : Infinity);
      }
      const next = Math.min(wake ?? Infinity, this.nextResign, this.nextScan, until + 1);
      this.now = Math.max(next, this.now + 1);
    }
  }

  /** Statuses a key went through, in order. */
  statusesOf(keyId: string): string[] {
    return this.statusLog.filter((s) => s.keyId === keyId).map((s) => s.status);
  }
}
