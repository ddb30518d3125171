import type { Clock } from '../clock.js';
import { parseCidr } from '../config/cidr.js';
import type { ZoneConfig } from '../config/schema.js';
import { logDnssecEvent, logEvent, type Logger } from '../logging/logger.js';
import { Name } from '../wire/name.js';
import { type KeyArchive, NoArchivedKeysError, keysForAddedZone } from './key-archive.js';
import { type KeyMaster, isPublished, keyMasterChangeRefusal } from './key-master.js';
import type { KeyStore } from './key-store.js';
import type { ParentDsSync } from './parent-ds-sync.js';
import { openToken } from './pkcs11-token.js';
import { DEFAULT_PRIMARY_TRANSFER, type PrimaryTransfers, transferConfigOf } from './primary-transfers.js';
import type { RolloverDriver } from './rollover-driver.js';
import { maxZoneTtl, rolloverParentFiles } from './rollover/rollover-keys.js';
import type { UnsignState } from './rollover/unsign-sequence.js';
import type { ZoneRollover } from './rollover/zone-rollover.js';
import type { SecondaryView, SecondaryZones } from './secondary-zones.js';
import { type SignPreview, signPreview } from './sign-preview.js';
import { DEFAULT_SIGNING_POLICY, type SigningPolicy, normalizeSigningPolicy, parseDsDigest, parseSigningAlgorithm, signingPolicyFromConfig } from './signing-policy.js';
import type { ZoneCatalog } from './zone-catalog.js';
import { type ZoneEntry, type ZoneSummary, loadZoneFile, newZoneEntry, zoneName, zoneSummary } from './zone-entry.js';
import { ZoneError } from './zone-error.js';
import type { ZoneJournals } from './zone-journals.js';
import type { ZoneKeyAuthority } from './zone-key-authority.js';
import { type ZoneKeyView, keyView, sortKeys } from './zone-key-view.js';
import type { ZoneSigning } from './zone-signing.js';
import type { PersistedZone } from './zone-state-store.js';
import { beginUnsign } from './zone-unsign.js';
import type { ZonesDirectory } from './zones-directory.js';

/** How `zone sign` chooses its parameters: the wizard's three choices. */
export type SignRequest =
  | { readonly mode: 'defaults' }
  | { readonly mode: 'like'; readonly zone: string }
  | { readonly mode: 'options'; readonly options: Partial<SigningPolicy> };

export interface ZoneCommandsOptions {
  readonly catalog: ZoneCatalog;
  readonly journals: ZoneJournals;
  readonly signing: ZoneSigning;
  readonly parentDs: ParentDsSync;
  readonly rollovers: RolloverDriver;
  readonly rollover: ZoneRollover;
  readonly transfers: PrimaryTransfers;
  /** The secondary zones, once started (after the config's primary zones are loaded). */
  readonly secondaries: () => SecondaryZones;
  readonly store: KeyStore;
  readonly keyMaster: KeyMaster;
  readonly keyArchive: KeyArchive;
  readonly zonesDir: ZonesDirectory;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly onZoneChanged?: ((zone: Name) => void) | undefined;
  /** Cluster mode: the zones' Key Master roles (zone-key-authority.ts). */
  readonly keyAuthority?: ZoneKeyAuthority | undefined;
}

/**
 * The primary zones' life as the operator drives it: loaded at start (config zones and zones
 * added by command), `zone add|remove|sign|unsign`, the keys shown and exported, the Key Master.
 * Every change goes through the catalog's queue, on disk before it is served.
 */
export class ZoneCommands {
  constructor(private readonly o: ZoneCommandsOptions) {}

  async loadConfigZone(zc: ZoneConfig): Promise<void> {
    const name = zoneName(zc.name);
    if (zc.keyStorage && zc.keyStorage !== 'file') {
      try {
        this.o.store.useToken(name, openToken(zc.keyStorage.pkcs11));
      } catch (error) {
        throw new Error(`zone ${zc.name}: keyStorage: ${(error as Error).message}`);
      }
    }
    const loaded = await loadZoneFile(name, zc.file).catch((error: Error) => {
      throw new Error(`zone ${zc.name}: ${error.message}`);
    });
    const data = await this.o.journals.recover(name, zc.file, loaded);
    const p = this.o.catalog.persistedZone(name.toString());
    const entry = newZoneEntry(name, zc.file, 'config', zc.allowTransfer, data, p, this.o.catalog.serverName);
    this.o.transfers.configure(name, transferConfigOf(zc), data.serial);
    const sign = p?.signed ?? zc.signing !== undefined;
    const policy = p?.policy ? normalizeSigningPolicy(p.policy) : zc.signing ? signingPolicyFromConfig(zc.signing) : undefined;
    await this.o.signing.install(entry, sign ? policy ?? DEFAULT_SIGNING_POLICY : undefined, 'start');
  }

  /** A zone added by command; in cluster mode from what its journal in the store holds, not from this server's file. */
  async loadAddedZone(p: PersistedZone): Promise<void> {
    const name = zoneName(p.name);
    const committed = this.o.journals.shared ? await this.o.journals.recoverCommitted(name) : undefined;
    const data = committed ?? (await this.o.journals.recover(name, p.file!, await loadZoneFile(name, p.file!)));
    const allow = (p.allowTransfer ?? []).map(parseCidr);
    const entry = newZoneEntry(name, p.file!, 'added', allow, data, p, this.o.catalog.serverName);
    this.o.transfers.configure(name, { ...DEFAULT_PRIMARY_TRANSFER, allowTransfer: allow }, data.serial);
    await this.o.signing.install(entry, p.signed ? normalizeSigningPolicy(p.policy ?? DEFAULT_SIGNING_POLICY) : undefined, 'start');
  }

  list(): (ZoneSummary | SecondaryView)[] {
    const all: (ZoneSummary | SecondaryView)[] = [...this.o.catalog.zones.values()].map((e) => zoneSummary(e));
    return [...all, ...this.o.secondaries().list()].sort((a, b) => Name.parse(a.name).compareCanonical(Name.parse(b.name)));
  }

  show(zone: string): (ZoneSummary & { policy: SigningPolicy | null; keyAlgorithms: number[] }) | SecondaryView {
    const secondary = this.o.secondaries().show(zoneName(zone));
    if (secondary) return secondary;
    const e = this.o.catalog.entry(zone);
    // What the zone is signed with is what its published keys are, not only what was asked for (an algorithm rollover shows both).
    const keyAlgorithms = e.policy ? [...new Set(e.keys.filter((k) => isPublished(k.metadata.state) || k.metadata.state === 'presigning').map((k) => k.metadata.algorithm))].sort((a, b) => a - b) : [];
    return { ...zoneSummary(e), policy: e.policy ?? null, keyAlgorithms, ...this.o.transfers.view(e.name) };
  }

  /** `zone add ZONE --primary ADDR[,ADDR...] [--tsig KEY]`: a secondary zone, transferred at once. */
  addSecondary(zone: string, primaries: readonly string[], tsig?: string, allowTransfer: readonly string[] = []): Promise<SecondaryView> {
    return this.o.catalog.serialize(async () => {
      const name = zoneName(zone);
      if (this.o.catalog.zones.has(name.toString())) throw new ZoneError('zone-exists', `zone ${name.toString()} is already hosted here`);
      return this.o.secondaries().add(name, primaries, tsig, allowTransfer).catch((error: Error) => {
        throw new ZoneError('bad-secondary', error.message);
      });
    });
  }

  add(zone: string, file: string, allowTransfer: readonly string[] = [], options: { reuseKeys?: boolean } = {}): Promise<ZoneSummary & { keysNote?: string }> {
    return this.o.catalog.serialize(async () => {
      const name = zoneName(zone);
      if (this.o.catalog.zones.has(name.toString()) || this.o.secondaries().has(name)) throw new ZoneError('zone-exists', `zone ${name.toString()} is already hosted here`);
      const allow = allowTransfer.map((text) => {
        try {
          return parseCidr(text);
        } catch (error) {
          throw new ZoneError('bad-prefix', `allowTransfer "${text}": ${(error as Error).message}`);
        }
      });
      // Only from the zones directory, and a bad file is never quoted back (zones-directory.ts).
      let path = file;
      const data = await loadZoneFile(name, file, async (f, n) => {
        const r = await this.o.zonesDir.read(f, n);
        path = r.path;
        return r.parsed;
      });
      await this.o.journals.delete(name);
      const keys = await keysForAddedZone(this.o.keyArchive, name, options.reuseKeys ?? false, new Date(this.o.clock.now())).catch((error: Error) => {
        throw error instanceof NoArchivedKeysError ? new ZoneError('no-archived-keys', error.message) : error;
      });
      if (keys.note) logDnssecEvent(this.o.logger, keys.reused ? 'zone.keys-reused' : 'zone.archived-keys-not-reused', { zone: name.toString() }, { msg: keys.note });
      const entry = newZoneEntry(name, path, 'added', allow, data, undefined, this.o.catalog.serverName);
      entry.keyMaster = this.o.catalog.serverName;
      this.o.transfers.configure(name, { ...DEFAULT_PRIMARY_TRANSFER, allowTransfer: allow }, data.serial);
      const journal = await this.o.journals.journalFor(entry); // now, so the IXFR history is tied to this file from the start
      if (this.o.journals.shared) await this.o.journals.commitLoaded(entry, journal);
      await this.o.catalog.persist(entry, name.toString());
      await this.o.signing.install(entry, undefined, 'added');
      return { ...zoneSummary(entry), ...(keys.note ? { keysNote: keys.note } : {}) };
    });
  }

  remove(zone: string): Promise<{ name: string }> {
    return this.o.catalog.serialize(async () => {
      const secondary = zoneName(zone);
      if (this.o.secondaries().has(secondary))
        return this.o.secondaries().remove(secondary).then(() => ({ name: secondary.toString() }), (error: Error) => Promise.reject(new ZoneError('config-zone', error.message)));
      const e = this.o.catalog.entry(zone);
      if (e.source === 'config') throw new ZoneError('config-zone', `zone ${e.name.toString()} comes from the config file; remove it there`);
      await this.o.catalog.persist(undefined, e.name.toString(), true);
      await this.o.journals.delete(e.name);
      await this.o.transfers.remove(e.name);
      this.o.catalog.zones.delete(e.name.toString());
      // Retired with the zone, never re-used silently by a later zone of the same name (key-archive.ts).
      const archived = await this.o.keyArchive.archive(e.name, new Date(this.o.clock.now())).catch((error: Error) => {
        logDnssecEvent(this.o.logger, 'zone.keys-archive-failed', { zone: e.name.toString(), error: error.message }, { msg: 'zone removed, but its keys could not be archived; a later zone add will archive them' });
        return undefined;
      });
      logEvent(this.o.logger, 'zone.removed', { zone: e.name.toString(), ...(archived ? { keysArchivedAs: archived.archive, keys: archived.keys } : {}) });
      this.o.onZoneChanged?.(e.name);
      return { name: e.name.toString() };
    });
  }

  /** The policy a sign request asks for: defaults, another zone's, or defaults with options over them. */
  resolvePolicy(request: SignRequest): SigningPolicy {
    if (request.mode === 'defaults') return normalizeSigningPolicy(DEFAULT_SIGNING_POLICY);
    if (request.mode === 'like') {
      const other = this.o.catalog.entry(request.zone);
      if (!other.policy) throw new ZoneError('not-signed', `zone ${other.name.toString()} is not signed, so it has no parameters to copy`);
      return other.policy;
    }
    const options = { ...request.options };
    if (options.algorithm !== undefined) options.algorithm = parseSigningAlgorithm(options.algorithm);
    return normalizeSigningPolicy({ ...DEFAULT_SIGNING_POLICY, ...options });
  }

  private signingPolicyOf(request: SignRequest): SigningPolicy {
    try {
      return this.resolvePolicy(request);
    } catch (error) {
      if (error instanceof ZoneError) throw error;
      throw new ZoneError('bad-signing-options', (error as Error).message);
    }
  }

  /** `zone sign` without doing it: what would change (sign-preview.ts); nothing is written. */
  previewSign(zone: string, request: SignRequest): Promise<SignPreview> {
    return this.o.catalog.serialize(async () => {
      const e = this.o.catalog.entry(zone);
      const policy = this.signingPolicyOf(request);
      // An unsigned zone's preview needs no keys (its key directory may not even be usable yet: sign says why).
      const keys = e.policy
        ? await this.o.keyMaster.keys(e.name).catch((error: Error) => {
            throw new ZoneError('keys-unreadable', `zone ${e.name.toString()}: ${error.message}`);
          })
        : [];
      return signPreview(e.name.toString(), e.policy, policy, keys.map((k) => k.metadata), e.unsigning !== undefined);
    });
  }

  sign(zone: string, request: SignRequest): Promise<ZoneSummary & { policy: SigningPolicy; keys: ZoneKeyView[] }> {
    return this.o.catalog.serialize(async () => {
      const e = this.o.catalog.entry(zone);
      const policy = this.signingPolicyOf(request);
      const next: ZoneEntry = { ...e, signedByCommand: true, unsigning: undefined }; // signing again ends an unsign under way
      // Cluster: the role before the settings, which the other primaries follow by signing too (and
      // claiming the role): the primary the operator asked is the Key Master of a zone signed anew.
      if (this.o.keyAuthority) next.keyMaster = await this.o.keyAuthority.claim(e.name.toString());
      // The state first: once signed, the new serial is journaled and told to secondaries, and cannot be taken back.
      await this.o.catalog.persist({ ...next, policy }, e.name.toString()).catch((error: Error) => {
        throw new ZoneError('state-not-written', `zone ${e.name.toString()} not signed: ${error.message}`);
      });
      await this.o.signing.install(next, policy, 'zone sign').catch(async (error: Error) => {
        await this.o.catalog.persist(e, e.name.toString()).catch(() => undefined);
        throw error;
      });
      await this.o.parentDs.around(next);
      this.o.rollovers.wake();
      return { ...zoneSummary(next), policy, keys: sortKeys(next.keys).map(keyView) };
    });
  }

  /**
   * `zone unsign`: going insecure in RFC 6781 §4.3.5's order (unsign-sequence.ts). The DS goes
   * first (from a parent hosted here, or by the RFC 8078 delete signal), the zone stays signed
   * until no cache can hold the DS, and the rollover timer (`runRollovers`) removes the DNSSEC
   * records then. Asked again while under way, it says where it is. `now`: the operator knows no
   * parent holds a DS (a zone never delegated securely): the records go at once, as they used to.
   */
  unsign(zone: string, options: { now?: boolean } = {}): Promise<ZoneSummary> {
    return this.o.catalog.serialize(async () => {
      const e = this.o.catalog.entry(zone);
      if (!e.policy) throw new ZoneError('not-signed', `zone ${e.name.toString()} is not signed`);
      const served = await beginUnsign(this.o.rollovers.unsignHost, e, options.now ?? false);
      if (served.unsigning) this.o.rollovers.wake();
      return zoneSummary(served);
    });
  }

  /** `zone keys`: the keys, and the zone's Key Master as this server sees it (`zone key-master`). */
  async keys(zone: string): Promise<{ zone: string; keyMaster: string; isThisServer: boolean; keys: ZoneKeyView[]; unsigning?: UnsignState }> {
    const e = this.o.catalog.entry(zone);
    const keys = await this.o.keyMaster.keys(e.name);
    const { keyMaster, isThisServer } = this.keyMasterOf(zone);
    const head = { zone: e.name.toString(), keyMaster, isThisServer };
    if (!e.policy) return { ...head, keys: sortKeys(keys).map(keyView) };
    const views = this.o.rollover.views(keys.map((k) => k.metadata), e.policy, maxZoneTtl(e.unsigned.unsignedRecords(), e.policy.dnskeyTtl));
    return { ...head, keys: sortKeys(keys).map((k) => ({ ...keyView(k), rollover: views.get(k.metadata.id)! })), ...(e.unsigning ? { unsigning: e.unsigning } : {}) };
  }

  async exportKeys(zone: string, digest?: string): Promise<{ zone: string; dsset: string; keyset: string }> {
    const e = this.o.catalog.entry(zone);
    if (!e.policy) throw new ZoneError('not-signed', `zone ${e.name.toString()} is not signed: it has no keys for the parent`);
    let digestType: number;
    try {
      digestType = digest === undefined ? e.policy.dsDigest : parseDsDigest(digest);
    } catch (error) {
      throw new ZoneError('bad-digest', (error as Error).message);
    }
    const files = rolloverParentFiles(e.name, e.keys, e.policy, digestType);
    return { zone: e.name.toString(), ...files };
  }

  keyMasterOf(zone: string): { zone: string; keyMaster: string; thisServer: string; isThisServer: boolean; fileBacked: boolean } {
    const e = this.o.catalog.entry(zone);
    const authority = this.o.keyAuthority;
    if (authority) {
      const name = e.name.toString();
      return { zone: name, keyMaster: authority.holderOf(name) ?? '', thisServer: this.o.catalog.serverName, isThisServer: authority.isHeld(name), fileBacked: false };
    }
    return { zone: e.name.toString(), keyMaster: e.keyMaster, thisServer: this.o.catalog.serverName, isThisServer: keyMasterChangeRefusal(e.name.toString(), e.keyMaster, this.o.catalog.serverName, true) === undefined, fileBacked: true };
  }

  /**
   * `zone key-master ZONE SERVER [--seize]`. In cluster mode the role moves: handed over by the
   * holder at its safe point (which waits for the zone queue: not inside it), or with `seize`
   * taken by this server once the holder is gone. Else the one server is the only Key Master.
   */
  async setKeyMaster(zone: string, server: string, seize = false): Promise<ReturnType<ZoneCommands['keyMasterOf']>> {
    const authority = this.o.keyAuthority;
    if (authority) {
      const name = this.o.catalog.entry(zone).name.toString();
      try {
        await authority.move(name, server, seize);
      } catch (error) {
        if (error instanceof Error && error.name === 'ClusterError') throw new ZoneError('not-key-master', error.message);
        throw error;
      }
      logEvent(this.o.logger, seize ? 'zone.key-master-seized' : 'zone.key-master-moved', { zone: name, to: server }, { msg: `Key Master of ${name}: ${server}` });
      return this.keyMasterOf(zone);
    }
    if (seize) throw new ZoneError('key-master-fixed', `zone ${zoneName(zone).toString()} has one primary server (${this.o.catalog.serverName}): there is no Key Master role to seize`);
    return this.o.catalog.serialize(async () => {
      const e = this.o.catalog.entry(zone);
      const refusal = keyMasterChangeRefusal(e.name.toString(), server, this.o.catalog.serverName, true);
      if (refusal) throw new ZoneError('key-master-fixed', refusal);
      return this.keyMasterOf(zone);
    });
  }
}
