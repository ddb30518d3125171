import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import { logDnssecEvent, logEvent, type Logger } from '../logging/logger.js';
import type { Name } from '../wire/name.js';
import { type RecordChange, changeFromDiff, serialChange } from './dynamic-update.js';
import { applyDiff } from './incremental-signer.js';
import { type KeyMaster, type ManagedKey, isPublished, keyMasterChangeRefusal, writeParentFiles } from './key-master.js';
import { signZoneInParallel } from './parallel-signer.js';
import type { PrimaryTransfers } from './primary-transfers.js';
import { recordsToSign, rolloverParentFiles, rolloverSigningKeys } from './rollover/rollover-keys.js';
import { keysForSigning } from './rollover/zone-rollover.js';
import type { SigningPolicy } from './signing-policy.js';
import { signChangeYielding } from './yielding-signer.js';
import type { ZoneCatalog } from './zone-catalog.js';
import { ZoneData } from './zone-db.js';
import type { ZoneEntry } from './zone-entry.js';
import { ZoneError } from './zone-error.js';
import type { ZoneJournals } from './zone-journals.js';
import { keyLogFields } from './zone-key-view.js';
import type { ZoneKeyAuthority } from './zone-key-authority.js';

export interface ZoneSigningOptions {
  readonly catalog: ZoneCatalog;
  readonly journals: ZoneJournals;
  readonly transfers: PrimaryTransfers;
  readonly keyMaster: KeyMaster;
  readonly stateDir: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly onZoneChanged?: ((zone: Name) => void) | undefined;
  readonly onTrustAnchors?: ((zone: Name, keyset: { readonly text: string; readonly file: string }) => void) | undefined;
  /** Cluster mode: every primary signs; only the zone's Key Master makes and changes keys. */
  readonly keyAuthority?: ZoneKeyAuthority | undefined;
}

/** Why `install` runs when another writer of the store changed the zone's settings. */
export const FOLLOWED_SETTINGS = 'settings changed in the store';
/** Why `install` runs when the zone's Key Master (another primary) changed its keys. */
export const FOLLOWED_KEYS = 'keys changed by the Key Master';

/** A refresh pass with a change: at most `batch` signatures due but not urgent remade (urgent ones all), and those of the RRsets in `also`. */
export interface RefreshPass {
  readonly batch: number;
  readonly also?: ReadonlySet<string>;
}

export interface ChangeStats {
  readonly signatures: number;
  readonly refreshed: number;
  readonly deferred: number;
  readonly incremental: boolean;
  /** The RRsets a refresh pass remade (incremental-signer.ts `refreshKey`). */
  readonly refreshedSets: readonly string[];
}

/**
 * Making a zone what is served: signed whole (with the keys the Key Master holds, generated when
 * missing) or served unsigned, and changed record by record with only what a change touches
 * re-signed. Every change is made in memory and on disk first and only then swapped in, so a
 * failure leaves the zone served as it was.
 */
export class ZoneSigning {
  constructor(private readonly o: ZoneSigningOptions) {}

  /** Signs (or not) and swaps the zone in; a (re-)signed or unsigned zone gets a new serial, journaled once signed. Throws without changing what is served. */
  async install(entry: ZoneEntry, policy: SigningPolicy | undefined, why: string): Promise<void> {
    const { catalog, transfers, journals } = this.o;
    const before = catalog.zones.get(entry.name.toString())?.served;
    const first = why === 'start' || why === 'added';
    const wasSigned = before?.isSigned === true || (why === 'start' && !policy && (await transfers.previouslySigned(entry.name)));
    // A shared journal (cluster mode) takes a serial change only from the primary that made the
    // change: another one starting, or following a change of settings, signs under the serial it has.
    const followed = journals.shared && (why === 'start' || why === FOLLOWED_SETTINGS || why === FOLLOWED_KEYS);
    const bump = (policy !== undefined || wasSigned) && why !== 'added' && !followed ? serialChange(entry.unsigned, transfers.nextSerial(entry.name)) : undefined;
    if (bump) entry.unsigned = applyDiff(entry.unsigned, bump);
    if (policy) {
      const signed = await this.signEntry(entry, policy, why);
      entry.served = signed.data;
      entry.keys = signed.keys;
      entry.policy = policy;
      entry.signedAt = this.o.clock.now();
    } else {
      entry.served = entry.unsigned;
      entry.policy = undefined;
      entry.signedAt = undefined;
    }
    if (bump) await (await journals.journalFor(entry)).append(bump, this.o.clock.now());
    const recorded = !first && before ? transfers.changed(entry.name, before, entry.served) : undefined;
    catalog.zones.set(entry.name.toString(), entry);
    if (first) await transfers.open(entry.name, entry.served, journals.get(entry.name.toString())?.fileDigest ?? '', policy === undefined);
    await recorded;
    logEvent(this.o.logger, 'zone.loaded', { zone: entry.name.toString(), file: entry.file, serial: entry.served.serial, names: entry.served.nameCount, signed: policy !== undefined, reason: why });
    this.o.onZoneChanged?.(entry.name);
  }

  private async signEntry(entry: ZoneEntry, policy: SigningPolicy, why: string): Promise<{ data: ZoneData; keys: ManagedKey[] }> {
    const zone = entry.name.toString();
    const authority = this.o.keyAuthority;
    if (authority) entry.keyMaster = await authority.claim(zone);
    const refusal = authority ? undefined : keyMasterChangeRefusal(zone, entry.keyMaster, this.o.catalog.serverName, true);
    if (refusal) throw new ZoneError('not-key-master', `this server is not the Key Master of ${zone} (${entry.keyMaster}); only the Key Master signs`);
    const { logger } = this.o;
    logDnssecEvent(logger, 'zone.signing-started', { zone, reason: why, algorithm: policy.algorithm, denial: policy.denial, names: entry.unsigned.nameCount }, { msg: `signing ${zone}` });
    const started = Date.now();
    try {
      const change = !authority || authority.isHeld(zone) ? await keysForSigning(this.o.keyMaster, entry.name, policy) : await this.keysOfKeyMaster(entry);
      if (change.generated.length > 0)
        logDnssecEvent(logger, 'zone.keys-generated', { zone, keys: change.generated.map(keyLogFields) }, { msg: `generated ${change.generated.length} keys for ${zone}` });
      for (const m of change.retired) logDnssecEvent(logger, 'zone.key-retired', { zone, ...keyLogFields(m) });
      const now = Math.floor(this.o.clock.now() / 1000);
      const inception = now - policy.signatureInception;
      const salt = policy.denial === 'nsec3' ? this.saltFor(entry, policy) : new Uint8Array(0);
      const records = await signZoneInParallel(recordsToSign(entry.name, entry.unsigned.unsignedRecords(), change.keys, policy, { deleteSignal: entry.unsigning !== undefined }), {
        zone: entry.name,
        keys: rolloverSigningKeys(entry.name, change.keys),
        windows: {
          dnskey: { inception, expiration: now + policy.dnskeySignatureValidity },
          ds: { inception, expiration: now + policy.dsSignatureValidity },
          other: { inception, expiration: now + policy.signatureValidity },
        },
        denial: policy.denial === 'nsec' ? { kind: 'nsec' } : { kind: 'nsec3', iterations: policy.nsec3Iterations, salt, optOut: policy.nsec3OptOut },
        dnskeyTtl: policy.dnskeyTtl,
        // Progress of big zones only: every 10 000 RRsets.
        onProgress: (done, total) => {
          if (total >= 10_000) logEvent(logger, 'zone.signing-progress', { zone, rrsets: done, total, percent: Math.round((100 * done) / total) });
        },
      });
      // CDS/CDNSKEY are signed by the KSK too (RFC 7344 §4.1): the signer's rule, authority/signing-key-rule.ts.
      const data = ZoneData.fromRecords(entry.name, records);
      const parentFiles = rolloverParentFiles(entry.name, change.keys, policy);
      const files = await writeParentFiles(this.o.stateDir, entry.name, parentFiles);
      if (policy.distributeTrustAnchor) this.o.onTrustAnchors?.(entry.name, { text: parentFiles.keyset, file: files.keyset });
      logDnssecEvent(
        logger,
        'zone.signed',
        { zone, serial: data.serial, records: data.recordCount, ms: Date.now() - started, keys: change.keys.filter((k) => isPublished(k.metadata.state)).map((k) => keyLogFields(k.metadata)), dsset: files.dsset, keyset: files.keyset },
        { msg: `zone ${zone} signed` },
      );
      return { data, keys: change.keys };
    } catch (error) {
      logDnssecEvent(logger, 'zone.signing-failed', { zone, error: (error as Error).message }, { msg: `signing ${zone} failed; nothing changed` });
      if (error instanceof ZoneError) throw error;
      throw new ZoneError('signing-failed', `signing ${zone} failed, nothing changed: ${(error as Error).message}`);
    }
  }

  /** Another primary is the Key Master: its keys as stored, never made or changed here. */
  private async keysOfKeyMaster(entry: ZoneEntry): Promise<{ keys: ManagedKey[]; generated: []; retired: [] }> {
    const keys = await this.o.keyMaster.keys(entry.name);
    if (!keys.some((k) => isPublished(k.metadata.state)))
      throw new ZoneError('not-key-master', `the Key Master of ${entry.name.toString()} (${entry.keyMaster}) has not made its keys yet; this server signs once they are in the store`);
    return { keys, generated: [], retired: [] };
  }

  /** The zone's current NSEC3 salt when the length still fits (so re-signing keeps the chain), else a new one. */
  private saltFor(entry: ZoneEntry, policy: SigningPolicy): Uint8Array {
    const current = entry.served.nsec3Params?.salt;
    if (current && current.length === policy.nsec3SaltLength) return current;
    return policy.nsec3SaltLength === 0 ? new Uint8Array(0) : new Uint8Array(randomBytes(policy.nsec3SaltLength));
  }

  /**
   * Makes a change live: the new unsigned data, re-signed incrementally when the zone is
   * signed, appended to the journal and fsynced, and only then served. Throws without
   * changing anything when any step fails.
   */
  async commitChange(entry: ZoneEntry, change: RecordChange, refresh?: RefreshPass): Promise<ChangeStats> {
    const now = this.o.clock.now();
    const signed = await this.signChange(entry, change, now, refresh);
    const journal = await this.o.journals.journalFor(entry);
    // A shared journal tells the other primaries what a refresh remade: they remake the same (journal-follower.ts).
    await journal.append(refresh && this.o.journals.shared ? { ...change, refreshed: signed.stats.refreshedSets } : change, now);
    await this.swapIn(entry, signed.unsigned, signed.served);
    await this.o.journals.compactIfDue(entry, journal);
    return signed.stats;
  }

  /**
   * A change another primary committed to the shared journal (already in this server's journal
   * count): re-signed here with the keys held, and served; with `refresh`, a refresh pass too.
   */
  async applyCommitted(entry: ZoneEntry, change: RecordChange, refresh?: RefreshPass): Promise<ChangeStats> {
    const signed = await this.signChange(entry, change, this.o.clock.now(), refresh);
    await this.swapIn(entry, signed.unsigned, signed.served);
    return signed.stats;
  }

  /**
   * Cluster mode with etcd unreachable: no change can be committed, so the due signatures are
   * remade under the serial served (only RRSIGs change), keeping answers valid through an outage.
   */
  async refreshUncommitted(entry: ZoneEntry, refresh: RefreshPass): Promise<ChangeStats> {
    const signed = await this.signChange(entry, changeFromDiff(entry.unsigned, [], [], entry.unsigned.serial), this.o.clock.now(), refresh);
    await this.swapIn(entry, signed.unsigned, signed.served);
    return signed.stats;
  }

  private async signChange(entry: ZoneEntry, change: RecordChange, now: number, refresh?: RefreshPass): Promise<{ unsigned: ZoneData; served: ZoneData; stats: ChangeStats }> {
    const unsigned = applyDiff(entry.unsigned, change);
    let served = unsigned;
    let stats: ChangeStats = { signatures: 0, refreshed: 0, deferred: 0, incremental: true, refreshedSets: [] };
    if (entry.policy && entry.served.isSigned) {
      const policy = entry.policy;
      const salt = this.saltFor(entry, policy);
      const r = await signChangeYielding(entry.served, change, {
        zone: entry.name,
        keys: rolloverSigningKeys(entry.name, entry.keys),
        policy,
        denial: policy.denial === 'nsec' ? { kind: 'nsec' } : { kind: 'nsec3', iterations: policy.nsec3Iterations, salt, optOut: policy.nsec3OptOut },
        now: Math.floor(now / 1000),
        ...(refresh ? { refreshBatch: refresh.batch, ...(refresh.also ? { alsoRefresh: refresh.also } : {}) } : {}),
      });
      served = r.data;
      stats = { signatures: r.signedChanged + r.refreshed, refreshed: r.refreshed, deferred: r.deferred, incremental: r.incremental, refreshedSets: r.refreshedSets };
    }
    return { unsigned, served, stats };
  }

  private async swapIn(entry: ZoneEntry, unsigned: ZoneData, served: ZoneData): Promise<void> {
    // The IXFR history takes the version before it is served (transfers.changed does that part at once).
    const recorded = this.o.transfers.changed(entry.name, entry.served, served);
    entry.unsigned = unsigned;
    entry.served = served;
    this.o.onZoneChanged?.(entry.name);
    await recorded;
  }
}
