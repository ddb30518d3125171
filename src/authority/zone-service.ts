import { hostname } from 'node:os';
import { join } from 'node:path';
import { answerFromZone } from './authoritative-answer.js';
import { KeyArchive } from './key-archive.js';
import { KeyMaster } from './key-master.js';
import { JournalFollower } from './journal-follower.js';
import { followKeys } from './key-follower.js';
import { KeyStore } from './key-store.js';
import type { ZoneKeyAuthority } from './zone-key-authority.js';
import type { PrivateKeySealing } from './sealed-private-key.js';
import { ParentDsSync } from './parent-ds-sync.js';
import { PrimaryTransfers, type TransferClient } from './primary-transfers.js';
import type { RecordChangeSummary, RecordRequest } from './record-request.js';
import { RolloverDriver } from './rollover-driver.js';
import { type RolloverTimers, rolloverTimers } from './rollover/rollover-state.js';
import { type DsAtParent, ZoneRollover } from './rollover/zone-rollover.js';
import { secondaryAnswer } from './secondary-answer.js';
import { SecondaryZones, type SecondaryView } from './secondary-zones.js';
import type { SignPreview } from './sign-preview.js';
import { SignatureRefresher } from './signature-refresher.js';
import { hasTsig, signedAnswer } from './signed-answer.js';
import type { SigningPolicy } from './signing-policy.js';
import { transferSources } from './transfer-source.js';
import { ZoneCatalog } from './zone-catalog.js';
import { type SignRequest, ZoneCommands } from './zone-commands.js';
import { type ZoneEntry, type ZoneSummary } from './zone-entry.js';
import { ZoneJournal, committedSequences } from './zone-journal.js';
import { ZoneJournals } from './zone-journals.js';
import { ZoneSigning } from './zone-signing.js';
import { ZoneStateStore } from './zone-state-store.js';
import { followZoneSettings } from './zone-settings-follower.js';
import { type UpdateAccess, ZoneUpdates, updateAccess } from './zone-updates.js';
import { ZonesDirectory } from './zones-directory.js';
import type { Clock } from '../clock.js';
import { createScheduler, type Scheduler } from '../scheduler.js';
import type { DocumentStore } from '../store/document-store.js';
import { FileDocumentStore } from '../store/file-document-store.js';
import type { KeymasterConfig } from '../config/schema.js';
import { logDnssecEvent, logEvent, type Logger } from '../logging/logger.js';
import { EdeCode } from '../wire/edns.js';
import { encodeMessage } from '../wire/message-encoder.js';
import { type Message, Rcode, type ResourceRecord } from '../wire/message.js';
import { Name } from '../wire/name.js';
import { RRClass, RRType } from '../wire/rr-type.js';
import type { LocalZoneResponse, ZoneClient } from './local-zone-response.js';
import { throttledLog } from './refusal-log.js';

export interface ZoneServiceOptions {
  readonly config: Pick<KeymasterConfig, 'stateDir' | 'zones' | 'dnssec' | 'authority'> & Partial<Pick<KeymasterConfig, 'tsigKeys' | 'listen'>>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Where the zones' state is kept (settings, key metadata, journals, IXFR histories, secondary copies); default: the file store in `stateDir`, closed by `stop`. */
  readonly documents?: DocumentStore;
  /** This server's name, as `zone key-master` shows it. Default: the host name (in cluster mode, `cluster.name`). */
  readonly serverName?: string;
  /**
   * Cluster mode (docs/cluster.md): `documents` is shared with the other primaries. Their
   * committed changes are followed through the journal's watch, and private keys are kept in the
   * store sealed (`sealing`: the envelope under the key-encryption key, when one is configured), never in clear.
   */
  readonly cluster?: { readonly name: string; readonly sealing?: PrivateKeySealing | undefined; readonly keyAuthority?: ZoneKeyAuthority | undefined };
  /** Told when a zone is added, changed or removed (the pipeline flushes its caches for it). */
  readonly onZoneChanged?: (zone: Name) => void;
  /**
   * Runs signature refresh, journal compaction, the rollovers and the secondary zones' checks
   * (src/scheduler.ts). Default: a scheduler of its own on `clock`, stopped by `stop`. Tests give
   * one in `mode: 'manual'` and call `runDue()` (or the passes themselves) after moving the clock.
   */
  readonly scheduler?: Scheduler;
  /**
   * Signing policy `distributeTrustAnchor`: told the zone's keyset- file (its KSKs) whenever it is
   * written, so this server's own TrustAnchors store holds the zone as a trust point.
   */
  readonly onTrustAnchors?: (zone: Name, keyset: { readonly text: string; readonly file: string }) => void;
  /** The zone was unsigned: the trust point `onTrustAnchors` gave this server goes too. */
  readonly onTrustAnchorsWithdrawn?: (zone: Name) => void;
  /** Key rollover: timers (RFC values by default; lowered ones are warned about) and the parent DS lookup. */
  readonly rollover?: { readonly timers?: Partial<RolloverTimers>; readonly dsAtParent?: DsAtParent };
  /** NOTIFY retry timing: tests shorten it. */
  readonly notify?: { readonly backoffMs?: readonly number[]; readonly timeoutMs?: number };
}

/**
 * The local zones, as the server uses them: the query pipeline's LocalZones (answers, UPDATE,
 * NOTIFY) and the control API's zone commands. The work is done by the services of authority/:
 * the catalog (zone-catalog.ts), signing (zone-signing.ts), dynamic update (zone-updates.ts),
 * signature refresh (signature-refresher.ts), the rollover driver (rollover-driver.ts), the DS
 * at a local parent (parent-ds-sync.ts), transfers out (primary-transfers.ts) and in
 * (secondary-zones.ts).
 */
export class ZoneService {
  private readonly catalog: ZoneCatalog;
  private readonly documents: DocumentStore;
  private readonly store: KeyStore;
  private readonly keyMaster: KeyMaster;
  private readonly journals: ZoneJournals;
  private readonly signing: ZoneSigning;
  private readonly parentDs: ParentDsSync;
  private readonly updates: ZoneUpdates;
  /** Cluster mode: applies the changes other primaries commit to the shared journals. */
  private readonly follower: JournalFollower | undefined;
  /** Cluster mode: stops re-signing when the Key Master changes the keys (key-follower.ts). */
  private unfollowKeys: (() => void) | undefined;
  private readonly refresher: SignatureRefresher;
  private readonly rollovers: RolloverDriver;
  private readonly commands: ZoneCommands;
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

  private constructor(
    private readonly o: ZoneServiceOptions,
    documents: DocumentStore,
    private readonly ownsDocuments: boolean,
    private readonly scheduler: Scheduler,
    /**
     * What is this server's own even in cluster mode: the IXFR histories (what this primary served,
     * signed with its own signatures) and the secondary zones' copies. Else `documents`.
     */
    private readonly localDocuments: DocumentStore,
  ) {
    const { stateDir } = o.config;
    const keyAuthority = o.cluster?.keyAuthority;
    const base = { clock: o.clock, logger: o.logger };
    this.store = new KeyStore(stateDir, documents, (zone, keys, from) =>
      logEvent(o.logger, 'store.migrated', { from, to: 'keys/', zone: zone.toString(), keys }, { msg: 'key metadata of an earlier release rewritten as store documents' }), o.cluster?.sealing, keyAuthority && ((zone) => keyAuthority.fence(zone.lowercase().toString())));
    this.keyMaster = new KeyMaster(this.store, o.clock);
    this.keyArchive = new KeyArchive(this.store, stateDir);
    this.zonesDir = new ZonesDirectory(o.config.authority?.zonesDir ?? join(stateDir, 'zones'), stateDir);
    this.serverName = o.serverName ?? o.cluster?.name ?? hostname();
    this.dnssecEnabled = o.config.dnssec.enable;
    this.documents = documents;
    this.catalog = new ZoneCatalog(new ZoneStateStore(documents), this.serverName);
    this.access = updateAccess(o.config.zones, o.config.tsigKeys ?? []);
    this.journals = new ZoneJournals({ stateDir, documents, ...base, shared: o.cluster !== undefined });
    this.transfers = new PrimaryTransfers({ journalDir: ZoneJournal.directory(stateDir), documents: localDocuments, keyring: this.access.keyring, ...base, sources: transferSources(o.config.listen ?? []), refusals: (event) => throttledLog(o.logger, event), ...(o.notify ? { notify: o.notify } : {}) });
    this.rollover = new ZoneRollover({
      store: this.store,
      clock: o.clock,
      timers: rolloverTimers(o.rollover?.timers),
      log: (e) => logDnssecEvent(o.logger, e.name, { ...e.fields, keyId: e.keyId, keyTag: e.keyTag, role: e.role }, { msg: e.msg }),
      ...(o.rollover?.dsAtParent ? { dsAtParent: o.rollover.dsAtParent } : {}),
    });
    const zones = { catalog: this.catalog, transfers: this.transfers, ...base };
    this.signing = new ZoneSigning({ ...zones, journals: this.journals, keyMaster: this.keyMaster, stateDir, onZoneChanged: o.onZoneChanged, onTrustAnchors: o.onTrustAnchors, keyAuthority });
    this.follower = o.cluster ? new JournalFollower({ catalog: this.catalog, journals: this.journals, signing: this.signing, logger: o.logger }) : undefined;
    this.parentDs = new ParentDsSync({ ...zones, signing: this.signing, follower: this.follower });
    this.updates = new ZoneUpdates({ ...zones, signing: this.signing, access: this.access, refusals: (event) => throttledLog(o.logger, event), follower: this.follower });
    this.refresher = new SignatureRefresher({ ...zones, signing: this.signing, journals: this.journals, scheduler, follower: this.follower });
    this.rollovers = new RolloverDriver({ ...base, scheduler, catalog: this.catalog, signing: this.signing, parentDs: this.parentDs, rollover: this.rollover, store: this.store, stateDir, onZoneChanged: o.onZoneChanged, onTrustAnchorsWithdrawn: o.onTrustAnchorsWithdrawn, keyAuthority });
    this.commands = new ZoneCommands({ ...zones, journals: this.journals, signing: this.signing, parentDs: this.parentDs, rollovers: this.rollovers, rollover: this.rollover, secondaries: () => this.secondaries, store: this.store, keyMaster: this.keyMaster, keyArchive: this.keyArchive, zonesDir: this.zonesDir, onZoneChanged: o.onZoneChanged, keyAuthority });
    // The zone's Key Master as the cluster has it: only its holder runs rollovers (rollover-driver.ts)
    // and a transfer waits until no change or rollover step is under way.
    keyAuthority?.onHolderChanged((zone, holder) => {
      const entry = this.catalog.zones.get(zone);
      if (entry) entry.keyMaster = holder ?? '';
      // A new Key Master goes on with a rollover at once, from the state the previous one wrote.
      if (holder === this.serverName) this.rollovers.wake();
    });
    keyAuthority?.setSafePoint(() => this.catalog.serialize(async () => undefined));
  }

  /**
   * Loads every zone and signs those that are signed, with the keys already in the store (a
   * restart generates no keys). A bad config zone file stops the start with its file and
   * line; a zone added by command whose file went bad is logged and left out.
   */
  static async start(o: ZoneServiceOptions): Promise<ZoneService> {
    const documents = o.documents ?? (await FileDocumentStore.open(o.config.stateDir));
    const scheduler = o.scheduler ?? createScheduler({ clock: o.clock, onError: (job, err) => logEvent(o.logger, 'scheduler.job-failed', { job, err }, { level: 'error' }) });
    const local = o.cluster ? await FileDocumentStore.open(o.config.stateDir) : documents;
    const service = new ZoneService(o, documents, !o.documents, scheduler, local);
    await service.zonesDir.ensure();
    const persisted = await service.catalog.load((from, zones) =>
      logEvent(o.logger, 'store.migrated', { from, to: 'zone-settings/', zones }, { msg: 'zone settings of an earlier release moved into the store, one document per zone' }));
    for (const zc of o.config.zones) if (!zc.primary) await service.commands.loadConfigZone(zc);
    const common = { stateDir: o.config.stateDir, scheduler, documents: local, keyring: service.access.keyring, clock: o.clock, logger: o.logger, sources: transferSources(o.config.listen ?? []), transfers: service.transfers, refusals: (event: string) => throttledLog(o.logger, event) };
    service.secondaries = await SecondaryZones.startFromConfig({ ...common, ...(o.onZoneChanged ? { onZoneChanged: o.onZoneChanged } : {}) }, o.config.zones);
    for (const p of persisted) {
      if (!p.file || service.catalog.zones.has(p.name)) continue;
      try {
        await service.commands.loadAddedZone(p);
      } catch (error) {
        logEvent(o.logger, 'zone.load-failed', { zone: p.name, file: p.file, error: (error as Error).message }, { level: 'error', msg: 'zone not loaded' });
      }
    }
    service.catalog.isSecondary = (name) => service.secondaries.has(name);
    followZoneSettings({ catalog: service.catalog, commands: service.commands, signing: service.signing, transfers: service.transfers, logger: o.logger, onZoneChanged: o.onZoneChanged, keyMasterOf: o.cluster?.keyAuthority && ((zone) => o.cluster?.keyAuthority?.holderOf(zone) ?? '') });
    service.follower?.follow(documents);
    const keyAuthority = o.cluster?.keyAuthority;
    if (keyAuthority) service.unfollowKeys = followKeys({ documents, catalog: service.catalog, signing: service.signing, keyAuthority, logger: o.logger });
    service.refresher.start();
    await service.rollovers.startState();
    return service;
  }

  // Answers (the query pipeline's LocalZones)

  /** The local zone that holds `name`: the longest match. */
  findZone(name: Name): ZoneEntry | undefined {
    return this.catalog.findZone(name);
  }

  answer(request: Message, from: ZoneClient, wire?: Uint8Array): LocalZoneResponse | undefined {
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

  // Zone commands (control API): zone-commands.ts.

  list(): (ZoneSummary | SecondaryView)[] {
    return this.commands.list();
  }

  show(zone: string): ReturnType<ZoneCommands['show']> {
    return this.commands.show(zone);
  }

  /** `zone add ZONE --primary ADDR[,ADDR...] [--tsig KEY]`: a secondary zone, transferred at once. */
  addSecondary(zone: string, primaries: readonly string[], tsig?: string, allowTransfer: readonly string[] = []): Promise<SecondaryView> {
    return this.commands.addSecondary(zone, primaries, tsig, allowTransfer);
  }

  /** A NOTIFY (opcode 4) from the query path: for the secondary zones. */
  notify(wire: Uint8Array, request: Message, client: ZoneClient): Uint8Array {
    return this.secondaries.notify(wire, request, client);
  }

  add(zone: string, file: string, allowTransfer: readonly string[] = [], options: { reuseKeys?: boolean } = {}): ReturnType<ZoneCommands['add']> {
    return this.commands.add(zone, file, allowTransfer, options);
  }

  remove(zone: string): Promise<{ name: string }> {
    return this.commands.remove(zone);
  }

  /** The policy a sign request asks for: defaults, another zone's, or defaults with options over them. */
  resolvePolicy(request: SignRequest): SigningPolicy {
    return this.commands.resolvePolicy(request);
  }

  /** `zone sign` without doing it: what would change (sign-preview.ts); nothing is written. */
  previewSign(zone: string, request: SignRequest): Promise<SignPreview> {
    return this.commands.previewSign(zone, request);
  }

  sign(zone: string, request: SignRequest): ReturnType<ZoneCommands['sign']> {
    return this.commands.sign(zone, request);
  }

  /** `zone unsign`: going insecure in RFC 6781 §4.3.5's order (zone-commands.ts, zone-unsign.ts). */
  unsign(zone: string, options: { now?: boolean } = {}): Promise<ZoneSummary> {
    return this.commands.unsign(zone, options);
  }

  keys(zone: string): ReturnType<ZoneCommands['keys']> {
    return this.commands.keys(zone);
  }

  exportKeys(zone: string, digest?: string): Promise<{ zone: string; dsset: string; keyset: string }> {
    return this.commands.exportKeys(zone, digest);
  }

  keyMasterOf(zone: string): ReturnType<ZoneCommands['keyMasterOf']> {
    return this.commands.keyMasterOf(zone);
  }

  /** The number of the last journal change applied here, per primary zone (cluster status: the zones' replication lag). */
  journalSequences(): Record<string, number> {
    // A zone removed on another primary may leave its journal open here: served zones only.
    return Object.fromEntries(this.journals.open().filter(([zone]) => this.catalog.zones.has(zone)).map(([zone, journal]) => [zone, journal.sequence]));
  }

  /** The number of the last change committed to each zone's journal in the store; a name that is not a zone name is left out. */
  async committedSequences(zones: readonly string[]): Promise<Record<string, number>> {
    const named: [string, Name][] = [];
    for (const zone of zones) {
      try {
        named.push([zone, Name.parse(zone)]);
      } catch {
        // what another primary reported is not trusted to be a name
      }
    }
    const last = await committedSequences(this.documents, named.map(([, name]) => name));
    return Object.fromEntries(named.map(([zone, name]) => [zone, last.get(name) ?? 0]));
  }

  setKeyMaster(zone: string, server: string, seize = false): ReturnType<ZoneCommands['setKeyMaster']> {
    return this.commands.setKeyMaster(zone, server, seize);
  }

  // Online signing, signature refresh and key rollover: the services of authority/.

  /** An RFC 2136 UPDATE from the query path (zone-updates.ts). */
  update(wire: Uint8Array, client: ZoneClient): Promise<Uint8Array> {
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

  /** Bytes of each zone's journal since its last compaction (metrics). */
  journalSizes(): { zone: string; bytes: number }[] {
    return this.journals.open().map(([zone, journal]) => ({ zone, bytes: journal.pendingBytes }));
  }

  compactJournals(): Promise<void> {
    return this.refresher.compactJournals();
  }

  /** Runs every zone's rollovers that are due at the clock's now; returns when to run again (ms). */
  runRollovers(): Promise<number | undefined> {
    return this.rollovers.run();
  }

  /** Runs the rollovers as a job of the scheduler; `dsAtParent` from the server's resolver. */
  startRollovers(options: { dsAtParent?: DsAtParent } = {}): void {
    this.rollovers.start(options);
  }

  stopRollovers(): void {
    this.rollovers.stop();
  }

  /** `zone roll ZONE KEY-ID` (Invoke-DnsServerSigningKeyRollover). */
  async rollKey(zone: string, keyId: string): ReturnType<ZoneCommands['keys']> {
    await this.rollovers.request(zone, (rz) => this.rollover.roll(rz, keyId));
    return this.keys(zone);
  }

  /** `zone step-rollover ZONE KEY-ID` (Step-DnsServerSigningKeyRollover). */
  async stepKeyRollover(zone: string, keyId: string): ReturnType<ZoneCommands['keys']> {
    await this.rollovers.request(zone, (rz) => this.rollover.step(rz, keyId));
    return this.keys(zone);
  }

  /** Stops the jobs and closes the journals (every change in them is already on disk). */
  async stop(): Promise<void> {
    this.rollovers.stop();
    this.refresher.stop();
    this.catalog.stopFollowing();
    this.follower?.stop();
    this.unfollowKeys?.();
    await this.catalog.serialize(async () => {
      await this.journals.closeAll();
      await this.transfers.stop();
      await this.secondaries.stop();
    });
    if (!this.o.scheduler) await this.scheduler.stop();
    if (this.ownsDocuments) await this.documents.close();
    if (this.localDocuments !== this.documents) await this.localDocuments.close();
  }

  get size(): number {
    return this.catalog.zones.size;
  }
}
