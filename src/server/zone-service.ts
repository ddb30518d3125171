import { ZoneError } from '../authority/zone-error.js';
import { ZoneCatalog } from '../authority/zone-catalog.js';
import { ZoneJournals } from '../authority/zone-journals.js';
import { ZoneSigning } from '../authority/zone-signing.js';
import { ParentDsSync } from '../authority/parent-ds-sync.js';
import { type UpdateAccess, ZoneUpdates, updateAccess } from '../authority/zone-updates.js';
import type { RecordChangeSummary, RecordRequest } from '../authority/record-request.js';
import { SignatureRefresher } from '../authority/signature-refresher.js';
import { RolloverDriver } from '../authority/rollover-driver.js';
import { type ZoneEntry, type ZoneSummary, loadZoneFile, newZoneEntry, zoneName, zoneSummary } from '../authority/zone-entry.js';
import { type ZoneKeyView, keyView, sortKeys } from '../authority/zone-key-view.js';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { answerFromZone } from '../authority/authoritative-answer.js';
import { KeyMaster, isPublished, keyMasterChangeRefusal } from '../authority/key-master.js';
import type { UnsignState } from '../authority/rollover/unsign-sequence.js';
import { beginUnsign } from '../authority/zone-unsign.js';
import { KeyStore } from '../authority/key-store.js';
import { type SignPreview, signPreview } from '../authority/sign-preview.js';
import { DEFAULT_SIGNING_POLICY, type SigningPolicy, normalizeSigningPolicy, parseDsDigest, parseSigningAlgorithm } from '../authority/signing-options.js';
import { type PersistedZone, ZoneStateStore } from '../authority/zone-state-store.js';
import type { Clock } from '../clock.js';
import { parseCidr } from '../config/cidr.js';
import type { KeymasterConfig, SigningOptions, ZoneConfig } from '../config/schema.js';
import { EdeCode } from '../wire/edns.js';
import { type Message, Rcode } from '../wire/message.js';
import { Name } from '../wire/name.js';
import { RRClass, RRType } from '../wire/rr-type.js';
import { logDnssecEvent, logEvent, type Logger } from '../logging/logger.js';
import type { ClientInfo } from './query-handler.js';
import type { LocalZoneResponse, LocalZones } from './query-pipeline.js';
import { type DsAtParent, ZoneRollover } from '../authority/rollover/zone-rollover.js';
import { ZonesDirectory } from '../authority/zones-directory.js';
import { KeyArchive, NoArchivedKeysError, keysForAddedZone } from '../authority/key-archive.js';
import { openToken } from '../authority/pkcs11-token.js';
import { maxZoneTtl, rolloverParentFiles } from '../authority/rollover/rollover-keys.js';
import { type RolloverTimers, rolloverTimers } from '../authority/rollover/rollover-state.js';
import { ZoneJournal } from '../authority/zone-journal.js';
import { DEFAULT_PRIMARY_TRANSFER, PrimaryTransfers, type TransferClient, transferConfigOf } from '../authority/primary-transfers.js';
import { hasTsig, signedAnswer } from '../authority/signed-answer.js';
import { transferSources } from '../authority/transfer-source.js';
import { SecondaryZones, type SecondaryView } from '../authority/secondary-zones.js';
import { secondaryAnswer } from '../authority/secondary-answer.js';
import { throttledLog } from './refusal-logs.js';
import { encodeMessage } from '../wire/message-encoder.js';
import { type ResourceRecord } from '../wire/message.js';

/** How `zone sign` chooses its parameters: the wizard's three choices. */
export type SignRequest =
  | { readonly mode: 'defaults' }
  | { readonly mode: 'like'; readonly zone: string }
  | { readonly mode: 'options'; readonly options: Partial<SigningPolicy> };




export interface ZoneServiceOptions {
  readonly config: Pick<KeymasterConfig, 'stateDir' | 'zones' | 'dnssec' | 'authority'> & Partial<Pick<KeymasterConfig, 'tsigKeys' | 'listen'>>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** This server's name, as `zone key-master` shows it. Default: the host name. */
  readonly serverName?: string;
  /** Told when a zone is added, changed or removed (the pipeline flushes its caches for it). */
  readonly onZoneChanged?: (zone: Name) => void;
  /** How often signatures due for refresh are looked for (default 5 minutes); 0: never by timer (tests call refreshSignatures). */
  readonly refreshIntervalMs?: number;
  /**
   * Signing policy `distributeTrustAnchor`: told the zone's keyset- file (its KSKs) whenever it is
   * written, so this server's own TrustAnchors store holds the zone as a trust point.
   */
  readonly onTrustAnchors?: (zone: Name, keyset: { readonly text: string; readonly file: string }) => void;
  /** The zone was unsigned: the trust point `onTrustAnchors` gave this server goes too. */
  readonly onTrustAnchorsWithdrawn?: (zone: Name) => void;
  /** Key rollover: timers (RFC values by default; lowered ones are warned about) and the parent DS lookup. */
  readonly rollover?: { readonly timers?: Partial<RolloverTimers>; readonly dsAtParent?: DsAtParent };
  /** NOTIFY retry timing, and how often secondary zones look for due refreshes (ms; 0: only by `secondaries.tick()`): tests shorten them. */
  readonly notify?: { readonly backoffMs?: readonly number[]; readonly timeoutMs?: number };
  readonly secondaryTickMs?: number;
}

const ALGORITHM_BY_CONFIG: Record<SigningOptions['algorithm'], number> = {
  RSASHA256: 8,
  RSASHA512: 10,
  ECDSAP256SHA256: 13,
  ECDSAP384SHA384: 14,
  ED25519: 15,
  ED448: 16,
};

/** The config file's `signing:` table as the signer's policy. */
export function policyFromConfig(o: SigningOptions): SigningPolicy {
  return normalizeSigningPolicy({
    algorithm: ALGORITHM_BY_CONFIG[o.algorithm],
    kskBits: o.kskKeySize ?? 0,
    zskBits: o.zskKeySize ?? 0,
    denial: o.denial,
    nsec3Iterations: o.nsec3.iterations,
    nsec3SaltLength: o.nsec3.saltLength,
    nsec3OptOut: o.nsec3.optOut,
    dnskeySignatureValidity: o.dnskeySignatureValidity,
    dsSignatureValidity: o.dsSignatureValidity ?? o.dnskeySignatureValidity,
    signatureValidity: o.signatureValidity,
    signatureInception: o.signatureInception,
    dnskeyTtl: o.dnskeyTtl,
    dsTtl: o.dsTtl,
    dsDigest: parseDsDigest(o.dsDigest),
    kskRollover: o.kskRollover,
    zskRollover: o.zskRollover,
    rfc5011: o.rfc5011,
    distributeTrustAnchor: o.distributeTrustAnchor ?? false,
  });
}



/**
 * The local zones, as the server uses them: the query pipeline's LocalZones (answers, UPDATE,
 * NOTIFY) and the control API's zone commands. The work is done by the services of authority/:
 * the catalog (zone-catalog.ts), signing (zone-signing.ts), dynamic update (zone-updates.ts),
 * signature refresh (signature-refresher.ts), the rollover driver (rollover-driver.ts), the DS
 * at a local parent (parent-ds-sync.ts), transfers out (primary-transfers.ts) and in
 * (secondary-zones.ts).
 */
export class ZoneService implements LocalZones {
  private readonly catalog: ZoneCatalog;
  private readonly store: KeyStore;
  private readonly keyMaster: KeyMaster;
  private readonly journals: ZoneJournals;
  private readonly signing: ZoneSigning;
  private readonly parentDs: ParentDsSync;
  private readonly updates: ZoneUpdates;
  private readonly refresher: SignatureRefresher;
  private readonly rollovers: RolloverDriver;
  private readonly rollover: ZoneRollover;
  private readonly access: UpdateAccess;
  private readonly zonesDir: ZonesDirectory;
  private readonly keyArchive: KeyArchive;
  readonly serverName: string;
  private readonly dnssecEnabled: boolean;
  /** Serials, IXFR history, NOTIFY and AXFR/IXFR out (src/authority/primary-transfers.ts). */
  readonly transfers: PrimaryTransfers;
  /** Zones transferred in from other primaries (src/authority/secondary-zones.ts). */
  secondaries!: SecondaryZones;

  private constructor(private readonly o: ZoneServiceOptions) {
    const { stateDir } = o.config;
    const base = { clock: o.clock, logger: o.logger };
    this.store = new KeyStore(stateDir);
    this.keyMaster = new KeyMaster(this.store, o.clock);
    this.keyArchive = new KeyArchive(this.store, stateDir);
    this.zonesDir = new ZonesDirectory(o.config.authority?.zonesDir ?? join(stateDir, 'zones'), stateDir);
    this.serverName = o.serverName ?? hostname();
    this.dnssecEnabled = o.config.dnssec.enable;
    this.catalog = new ZoneCatalog(new ZoneStateStore(stateDir), this.serverName);
    this.access = updateAccess(o.config.zones, o.config.tsigKeys ?? []);
    this.journals = new ZoneJournals({ stateDir, ...base });
    this.transfers = new PrimaryTransfers({ journalDir: ZoneJournal.directory(stateDir), keyring: this.access.keyring, ...base, sources: transferSources(o.config.listen ?? []), refusals: (event) => throttledLog(o.logger, event), ...(o.notify ? { notify: o.notify } : {}) });
    this.rollover = new ZoneRollover({
      store: this.store,
      clock: o.clock,
      timers: rolloverTimers(o.rollover?.timers),
      log: (e) => logDnssecEvent(o.logger, e.name, { ...e.fields, keyId: e.keyId, keyTag: e.keyTag, role: e.role }, { msg: e.msg }),
      ...(o.rollover?.dsAtParent ? { dsAtParent: o.rollover.dsAtParent } : {}),
    });
    const zones = { catalog: this.catalog, transfers: this.transfers, ...base };
    this.signing = new ZoneSigning({ ...zones, journals: this.journals, keyMaster: this.keyMaster, stateDir, onZoneChanged: o.onZoneChanged, onTrustAnchors: o.onTrustAnchors });
    this.parentDs = new ParentDsSync({ ...zones, signing: this.signing });
    this.updates = new ZoneUpdates({ ...zones, signing: this.signing, access: this.access, refusals: (event) => throttledLog(o.logger, event) });
    this.refresher = new SignatureRefresher({ ...zones, signing: this.signing, journals: this.journals, intervalMs: o.refreshIntervalMs });
    this.rollovers = new RolloverDriver({ ...base, catalog: this.catalog, signing: this.signing, parentDs: this.parentDs, rollover: this.rollover, store: this.store, stateDir, onZoneChanged: o.onZoneChanged, onTrustAnchorsWithdrawn: o.onTrustAnchorsWithdrawn });
  }

  /**
   * Loads every zone and signs those that are signed, with the keys already in the store (a
   * restart generates no keys). A bad config zone file stops the start with its file and
   * line; a zone added by command whose file went bad is logged and left out.
   */
  static async start(o: ZoneServiceOptions): Promise<ZoneService> {
    const service = new ZoneService(o);
    await service.zonesDir.ensure();
    const persisted = await service.catalog.load();
    for (const zc of o.config.zones) if (!zc.primary) await service.loadConfigZone(zc);
    const common = { stateDir: o.config.stateDir, keyring: service.access.keyring, clock: o.clock, logger: o.logger, sources: transferSources(o.config.listen ?? []), transfers: service.transfers, refusals: (event: string) => throttledLog(o.logger, event) };
    service.secondaries = await SecondaryZones.startFromConfig({ ...common, ...(o.onZoneChanged ? { onZoneChanged: o.onZoneChanged } : {}), ...(o.secondaryTickMs !== undefined ? { tickMs: o.secondaryTickMs } : {}) }, o.config.zones);
    for (const p of persisted) {
      if (!p.file || service.catalog.zones.has(p.name)) continue;
      try {
        await service.loadAddedZone(p);
      } catch (error) {
        logEvent(o.logger, 'zone.load-failed', { zone: p.name, file: p.file, error: (error as Error).message }, { level: 'error', msg: 'zone not loaded' });
      }
    }
    service.catalog.isSecondary = (name) => service.secondaries.has(name);
    service.refresher.start();
    await service.rollovers.startState();
    return service;
  }

  private async loadConfigZone(zc: ZoneConfig): Promise<void> {
    const name = zoneName(zc.name);
    if (zc.keyStorage && zc.keyStorage !== 'file') {
      try {
        this.store.useToken(name, openToken(zc.keyStorage.pkcs11));
      } catch (error) {
        throw new Error(`zone ${zc.name}: keyStorage: ${(error as Error).message}`);
      }
    }
    const loaded = await loadZoneFile(name, zc.file).catch((error: Error) => {
      throw new Error(`zone ${zc.name}: ${error.message}`);
    });
    const data = await this.journals.recover(name, zc.file, loaded);
    const p = this.catalog.persistedZone(name.toString());
    const entry = newZoneEntry(name, zc.file, 'config', zc.allowTransfer, data, p, this.serverName);
    this.transfers.configure(name, transferConfigOf(zc), data.serial);
    const sign = p?.signed ?? zc.signing !== undefined;
    const policy = p?.policy ? normalizeSigningPolicy(p.policy) : zc.signing ? policyFromConfig(zc.signing) : undefined;
    await this.signing.install(entry, sign ? policy ?? DEFAULT_SIGNING_POLICY : undefined, 'start');
  }

  private async loadAddedZone(p: PersistedZone): Promise<void> {
    const name = zoneName(p.name);
    const data = await this.journals.recover(name, p.file!, await loadZoneFile(name, p.file!));
    const allow = (p.allowTransfer ?? []).map(parseCidr);
    const entry = newZoneEntry(name, p.file!, 'added', allow, data, p, this.serverName);
    this.transfers.configure(name, { ...DEFAULT_PRIMARY_TRANSFER, allowTransfer: allow }, data.serial);
    await this.signing.install(entry, p.signed ? normalizeSigningPolicy(p.policy ?? DEFAULT_SIGNING_POLICY) : undefined, 'start');
  }

  // Answers (the query pipeline's LocalZones)

  /** The local zone that holds `name`: the longest match. */
  findZone(name: Name): ZoneEntry | undefined {
    return this.catalog.findZone(name);
  }

  answer(request: Message, from: ClientInfo, wire?: Uint8Array): LocalZoneResponse | undefined {
    // DNS over TLS and HTTPS carry what TCP carries (a transfer over TLS is RFC 9103's XoT).
    const client = { ...from, transport: from.transport === 'udp' ? ('udp' as const) : ('tcp' as const) };
    const q = request.question[0];
    if (!q || q.class !== RRClass.IN) return undefined;
    let entry = this.catalog.findZone(q.name);
    const secondary = this.secondaries?.find(q.name);
    if (secondary && (!entry || secondary.labelCount > entry.name.labelCount) && !(q.type === RRType.DS && secondary.equals(q.name) && entry))
      return secondaryAnswer({ secondaries: this.secondaries, transfers: this.transfers, keyring: this.access.keyring, dnssec: this.dnssecEnabled, now: Math.floor(this.o.clock.now() / 1000) }, secondary, request, client, wire);
    if (!entry) return undefined;
    // RFC 4035 §3.1.4.1: the DS at a zone cut is the parent's; with both sides hosted here, the parent answers.
    if (q.type === RRType.DS && entry.name.equals(q.name) && !q.name.isRoot) entry = this.catalog.findZone(q.name.parent()) ?? entry;
    if (q.type === RRType.AXFR || q.type === RRType.IXFR) return this.transfer(entry, request, client, wire);
    const dnssec = this.dnssecEnabled && (request.edns?.dnssecOk ?? false);
    const a = answerFromZone(entry.served, q.name, q.type, dnssec, { minimalAny: client.transport === 'udp' });
    if (wire && hasTsig(request)) return { kind: 'wire', messages: [signedAnswer(wire, request, client.transport, a, this.access.keyring, Math.floor(this.o.clock.now() / 1000))], stream: false };
    return { kind: 'answer', ...a };
  }

  /**
   * The resolver's view of the hosted zones (a CNAME from elsewhere into one of them): the zone's
   * authoritative answer with its DNSSEC records, or undefined when no hosted zone holds the name.
   */
  lookup(name: Name, type: number): { zone: Name; rcode: number; aa: boolean; answer: ResourceRecord[]; authority: ResourceRecord[] } | undefined {
    if (type === RRType.AXFR || type === RRType.IXFR) return undefined;
    let entry = this.catalog.findZone(name);
    const secondary = this.secondaries?.find(name);
    const copy = secondary && (!entry || secondary.labelCount > entry.name.labelCount) ? this.secondaries.served(secondary) : undefined;
    if (copy) return { zone: copy.origin, ...answerFromZone(copy, name, type, this.dnssecEnabled) };
    if (!entry) return undefined;
    if (type === RRType.DS && entry.name.equals(name) && !name.isRoot) entry = this.catalog.findZone(name.parent()) ?? entry;
    const a = answerFromZone(entry.served, name, type, this.dnssecEnabled);
    return { zone: entry.name, rcode: a.rcode, aa: a.aa, answer: a.answer, authority: a.authority };
  }

  private transfer(entry: ZoneEntry, request: Message, client: TransferClient, wire: Uint8Array | undefined): LocalZoneResponse {
    const q = request.question[0]!;
    if (!q.name.equals(entry.name))
      return { kind: 'answer', rcode: Rcode.NOTAUTH, aa: false, answer: [], authority: [], additional: [], ede: [[EdeCode.NOT_AUTHORITATIVE, `${q.name.toString()} is not a zone apex here`]] };
    return { kind: 'wire', ...this.transfers.respond(entry.name, entry.served, wire ?? encodeMessage(request), request, client) };
  }

  // Management (control API)

  list(): (ZoneSummary | SecondaryView)[] {
    const all: (ZoneSummary | SecondaryView)[] = [...this.catalog.zones.values()].map((e) => zoneSummary(e));
    return [...all, ...this.secondaries.list()].sort((a, b) => Name.parse(a.name).compareCanonical(Name.parse(b.name)));
  }

  show(zone: string): (ZoneSummary & { policy: SigningPolicy | null; keyAlgorithms: number[] }) | SecondaryView {
    const secondary = this.secondaries.show(zoneName(zone));
    if (secondary) return secondary;
    const e = this.catalog.entry(zone);
    // What the zone is signed with is what its published keys are, not only what was asked for (an algorithm rollover shows both).
    const keyAlgorithms = e.policy ? [...new Set(e.keys.filter((k) => isPublished(k.metadata.state) || k.metadata.state === 'presigning').map((k) => k.metadata.algorithm))].sort((a, b) => a - b) : [];
    return { ...zoneSummary(e), policy: e.policy ?? null, keyAlgorithms, ...this.transfers.view(e.name) };
  }

  /** `zone add ZONE --primary ADDR[,ADDR...] [--tsig KEY]`: a secondary zone, transferred at once. */
  addSecondary(zone: string, primaries: readonly string[], tsig?: string, allowTransfer: readonly string[] = []): Promise<SecondaryView> {
    return this.catalog.serialize(async () => {
      const name = zoneName(zone);
      if (this.catalog.zones.has(name.toString())) throw new ZoneError('zone-exists', `zone ${name.toString()} is already hosted here`);
      return this.secondaries.add(name, primaries, tsig, allowTransfer).catch((error: Error) => {
        throw new ZoneError('bad-secondary', error.message);
      });
    });
  }

  /** A NOTIFY (opcode 4) from the query path: for the secondary zones. */
  notify(wire: Uint8Array, request: Message, client: ClientInfo): Uint8Array {
    return this.secondaries.notify(wire, request, client);
  }


  add(zone: string, file: string, allowTransfer: readonly string[] = [], options: { reuseKeys?: boolean } = {}): Promise<ZoneSummary & { keysNote?: string }> {
    return this.catalog.serialize(async () => {
      const name = zoneName(zone);
      if (this.catalog.zones.has(name.toString()) || this.secondaries.has(name)) throw new ZoneError('zone-exists', `zone ${name.toString()} is already hosted here`);
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
        const r = await this.zonesDir.read(f, n);
        path = r.path;
        return r.parsed;
      });
      await this.journals.delete(name);
      const keys = await keysForAddedZone(this.keyArchive, name, options.reuseKeys ?? false, new Date(this.o.clock.now())).catch((error: Error) => {
        throw error instanceof NoArchivedKeysError ? new ZoneError('no-archived-keys', error.message) : error;
      });
      if (keys.note) logDnssecEvent(this.o.logger, keys.reused ? 'zone.keys-reused' : 'zone.archived-keys-not-reused', { zone: name.toString() }, { msg: keys.note });
      const entry = newZoneEntry(name, path, 'added', allow, data, undefined, this.serverName);
      entry.keyMaster = this.serverName;
      this.transfers.configure(name, { ...DEFAULT_PRIMARY_TRANSFER, allowTransfer: allow }, data.serial);
      await this.journals.journalFor(entry); // now, so the IXFR history is tied to this file from the start
      await this.catalog.persist(entry, name.toString());
      await this.signing.install(entry, undefined, 'added');
      return { ...zoneSummary(entry), ...(keys.note ? { keysNote: keys.note } : {}) };
    });
  }

  remove(zone: string): Promise<{ name: string }> {
    return this.catalog.serialize(async () => {
      const secondary = zoneName(zone);
      if (this.secondaries.has(secondary))
        return this.secondaries.remove(secondary).then(() => ({ name: secondary.toString() }), (error: Error) => Promise.reject(new ZoneError('config-zone', error.message)));
      const e = this.catalog.entry(zone);
      if (e.source === 'config') throw new ZoneError('config-zone', `zone ${e.name.toString()} comes from the config file; remove it there`);
      await this.catalog.persist(undefined, e.name.toString(), true);
      await this.journals.delete(e.name);
      await this.transfers.remove(e.name);
      this.catalog.zones.delete(e.name.toString());
      // Retired with the zone, never re-used silently by a later zone of the same name (key-archive.ts).
      const archived = await this.keyArchive.archive(e.name, new Date(this.o.clock.now())).catch((error: Error) => {
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
      const other = this.catalog.entry(request.zone);
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
    return this.catalog.serialize(async () => {
      const e = this.catalog.entry(zone);
      const policy = this.signingPolicyOf(request);
      // An unsigned zone's preview needs no keys (its key directory may not even be usable yet: sign says why).
      const keys = e.policy
        ? await this.keyMaster.keys(e.name).catch((error: Error) => {
            throw new ZoneError('keys-unreadable', `zone ${e.name.toString()}: ${error.message}`);
          })
        : [];
      return signPreview(e.name.toString(), e.policy, policy, keys.map((k) => k.metadata), e.unsigning !== undefined);
    });
  }

  sign(zone: string, request: SignRequest): Promise<ZoneSummary & { policy: SigningPolicy; keys: ZoneKeyView[] }> {
    return this.catalog.serialize(async () => {
      const e = this.catalog.entry(zone);
      const policy = this.signingPolicyOf(request);
      const next: ZoneEntry = { ...e, signedByCommand: true, unsigning: undefined }; // signing again ends an unsign under way
      // The state first: once signed, the new serial is journaled and told to secondaries, and cannot be taken back.
      await this.catalog.persist({ ...next, policy }, e.name.toString()).catch((error: Error) => {
        throw new ZoneError('state-not-written', `zone ${e.name.toString()} not signed: ${error.message}`);
      });
      await this.signing.install(next, policy, 'zone sign').catch(async (error: Error) => {
        await this.catalog.persist(e, e.name.toString()).catch(() => undefined);
        throw error;
      });
      await this.parentDs.around(next);
      this.rollovers.wake();
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
    return this.catalog.serialize(async () => {
      const e = this.catalog.entry(zone);
      if (!e.policy) throw new ZoneError('not-signed', `zone ${e.name.toString()} is not signed`);
      const served = await beginUnsign(this.rollovers.unsignHost, e, options.now ?? false);
      if (served.unsigning) this.rollovers.wake();
      return zoneSummary(served);
    });
  }

  async keys(zone: string): Promise<{ zone: string; keys: ZoneKeyView[]; unsigning?: UnsignState }> {
    const e = this.catalog.entry(zone);
    const keys = await this.keyMaster.keys(e.name);
    if (!e.policy) return { zone: e.name.toString(), keys: sortKeys(keys).map(keyView) };
    const views = this.rollover.views(keys.map((k) => k.metadata), e.policy, maxZoneTtl(e.unsigned.unsignedRecords(), e.policy.dnskeyTtl));
    return { zone: e.name.toString(), keys: sortKeys(keys).map((k) => ({ ...keyView(k), rollover: views.get(k.metadata.id)! })), ...(e.unsigning ? { unsigning: e.unsigning } : {}) };
  }

  async exportKeys(zone: string, digest?: string): Promise<{ zone: string; dsset: string; keyset: string }> {
    const e = this.catalog.entry(zone);
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
    const e = this.catalog.entry(zone);
    return { zone: e.name.toString(), keyMaster: e.keyMaster, thisServer: this.serverName, isThisServer: keyMasterChangeRefusal(e.name.toString(), e.keyMaster, this.serverName, true) === undefined, fileBacked: true };
  }

  setKeyMaster(zone: string, server: string): Promise<ReturnType<ZoneService['keyMasterOf']>> {
    return this.catalog.serialize(async () => {
      const e = this.catalog.entry(zone);
      const refusal = keyMasterChangeRefusal(e.name.toString(), server, this.serverName, true);
      if (refusal) throw new ZoneError('key-master-fixed', refusal);
      return this.keyMasterOf(zone);
    });
  }

  // Online signing, signature refresh and key rollover: the services of authority/.

  /** An RFC 2136 UPDATE from the query path (zone-updates.ts). */
  update(wire: Uint8Array, client: ClientInfo): Promise<Uint8Array> {
    return this.updates.update(wire, client);
  }

  /** `zone record add`: one record, its TTL that of its RRset (or the SOA's) unless given. */
  addRecord(zone: string, record: RecordRequest): Promise<RecordChangeSummary> {
    return this.updates.addRecord(zone, record);
  }

  /** `zone record remove`: one record, or with no RDATA the whole RRset. */
  removeRecord(zone: string, record: RecordRequest): Promise<RecordChangeSummary> {
    return this.updates.removeRecord(zone, record);
  }

  /** One pass of signature refresh (signature-refresher.ts); tests call it after moving a ManualClock. */
  refreshSignatures(): Promise<{ zone: string; serial: number; refreshed: number; deferred: number }[]> {
    return this.refresher.refreshSignatures();
  }

  compactJournals(): Promise<void> {
    return this.refresher.compactJournals();
  }

  /** Runs every zone's rollovers that are due at the clock's now; returns when to run again (ms). */
  runRollovers(): Promise<number | undefined> {
    return this.rollovers.run();
  }

  /** Runs the rollovers on a real-time timer; `dsAtParent` from the server's resolver. */
  startRollovers(options: { dsAtParent?: DsAtParent } = {}): void {
    this.rollovers.start(options);
  }

  stopRollovers(): void {
    this.rollovers.stop();
  }

  /** `zone roll ZONE KEY-ID` (Invoke-DnsServerSigningKeyRollover). */
  async rollKey(zone: string, keyId: string): Promise<{ zone: string; keys: ZoneKeyView[] }> {
    await this.rollovers.request(zone, (rz) => this.rollover.roll(rz, keyId));
    return this.keys(zone);
  }

  /** `zone step-rollover ZONE KEY-ID` (Step-DnsServerSigningKeyRollover). */
  async stepKeyRollover(zone: string, keyId: string): Promise<{ zone: string; keys: ZoneKeyView[] }> {
    await this.rollovers.request(zone, (rz) => this.rollover.step(rz, keyId));
    return this.keys(zone);
  }

  /** Stops the timers and closes the journals (every change in them is already on disk). */
  async stop(): Promise<void> {
    this.rollovers.stop();
    this.refresher.stop();
    await this.catalog.serialize(async () => {
      await this.journals.closeAll();
      await this.transfers.stop();
      await this.secondaries.stop();
    });
  }

  get size(): number {
    return this.catalog.zones.size;
  }
}
