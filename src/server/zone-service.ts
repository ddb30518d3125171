import { randomBytes } from 'node:crypto';
import { ZoneError } from '../authority/zone-error.js';
import { type ZoneEntry, type ZoneSummary, loadZoneFile, newZoneEntry, zoneName, zoneSummary } from '../authority/zone-entry.js';
import { type ZoneKeyView, keyLogFields, keyView, sortKeys } from '../authority/zone-key-view.js';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { answerFromZone } from '../authority/authoritative-answer.js';
import { KeyMaster, type ManagedKey, isPublished, keyMasterChangeRefusal, writeParentFiles } from '../authority/key-master.js';
import type { UnsignState } from '../authority/rollover/unsign-sequence.js';
import { type UnsignHost, beginUnsign, continueUnsign } from './zone-unsign.js';
import { KeyStore } from '../authority/key-store.js';
import { type SignPreview, signPreview } from '../authority/sign-preview.js';
import { purgeRetiredKeys } from '../authority/key-purge.js';
import { DEFAULT_SIGNING_POLICY, type SigningPolicy, normalizeSigningPolicy, parseDsDigest, parseSigningAlgorithm } from '../authority/signing-options.js';
import { ZoneData } from '../authority/zone-db.js';
import { signZoneInParallel } from '../authority/parallel-signer.js';
import { type PersistedZone, ZoneStateStore } from '../authority/zone-state-store.js';
import type { Clock } from '../clock.js';
import { type CidrPrefix, cidrContains, parseCidr } from '../config/cidr.js';
import type { KeymasterConfig, SigningOptions, TsigKeyConfig, ZoneConfig } from '../config/schema.js';
import { EdeCode } from '../wire/edns.js';
import { type Message, Rcode } from '../wire/message.js';
import { Name } from '../wire/name.js';
import { RRClass, RRType } from '../wire/rr-type.js';
import { logDnssecEvent, logEvent, type Logger } from '../logging/logger.js';
import type { ClientInfo } from './query-handler.js';
import type { LocalZoneResponse, LocalZones } from './query-pipeline.js';
import { type RecordChange, type UpdateRequest, applyUpdate, serialChange } from '../authority/dynamic-update.js';
import { applyDiff } from '../authority/incremental-signer.js';
import { signChangeYielding } from '../authority/yielding-signer.js';
import { nextRefreshTime } from '../authority/signature-refresh.js';
import { TsigReplayGuard } from '../authority/tsig-replay-guard.js';
import { ThrottledEventLog } from './throttled-event-log.js';
import { DEFAULT_FUDGE, type SignedMessage, TsigError, type TsigKey, type TsigVerification, extractTsig, signTsigResponse, verifyTsig } from '../authority/tsig.js';
import { type UpdateMessage, decodeUpdateMessage } from '../authority/update-message.js';
import { type DsAtParent, type RolloverZone, ZoneRollover, keysForSigning } from '../authority/rollover/zone-rollover.js';
import { changeFromDiff } from '../authority/dynamic-update.js';
import { unsignedChildDsReason } from '../authority/ds-placement.js';
import { ZonesDirectory } from '../authority/zones-directory.js';
import { KeyArchive, NoArchivedKeysError, keysForAddedZone } from '../authority/key-archive.js';
import { openToken } from '../authority/pkcs11-token.js';
import { soaSerial, withSerial } from '../authority/soa-serial.js';
import { rdataToText } from '../wire/rdata-text.js';
import { maxZoneTtl, parentDsRecords, recordsToSign, rolloverParentFiles, rolloverSigningKeys } from '../authority/rollover/rollover-keys.js';
import { RolloverRequestError } from '../authority/rollover/rollover-engine.js';
import { type RolloverTimers, loweredRolloverTimers, rolloverTimers } from '../authority/rollover/rollover-state.js';
import { ZoneDataError, isSignerType } from '../authority/zone-db.js';
import { ZoneJournal } from '../authority/zone-journal.js';
import { DEFAULT_PRIMARY_TRANSFER, PrimaryTransfers, type TransferClient, transferConfigOf } from '../authority/primary-transfers.js';
import { buildKeyring } from '../authority/tsig-keyring.js';
import { hasTsig, signedAnswer } from '../authority/signed-answer.js';
import { transferSources } from '../authority/transfer-source.js';
import { SecondaryZones, type SecondaryView } from '../authority/secondary-zones.js';
import { secondaryAnswer } from '../authority/secondary-answer.js';
import { throttledLog } from './refusal-logs.js';
import { defaultEdns } from '../wire/edns.js';
import { encodeMessage } from '../wire/message-encoder.js';
import { Opcode, type ResourceRecord, newMessage, rcodeToString } from '../wire/message.js';
import { rdataFromText, tokenizeRdata } from '../wire/rdata-text.js';
import { recordToText } from '../wire/record-text.js';
import { isMetaType, tryParseType, typeToString } from '../wire/rr-type.js';

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
 * The local zones: loaded from their files (config zones, and zones added by command and
 * remembered in the state dir), answered before the resolver, transferred to allowed
 * secondaries, and signed by this server as their Key Master with keys from the key store.
 * Every change is made in memory and on disk first and only then swapped in, so a failure
 * leaves the zone served as it was.
 */
export class ZoneService implements LocalZones {
  private readonly zones = new Map<string, ZoneEntry>();
  private readonly store: KeyStore;
  private readonly keyMaster: KeyMaster;
  private readonly state: ZoneStateStore;
  private persisted = new Map<string, PersistedZone>();
  private queue: Promise<unknown> = Promise.resolve();
  readonly serverName: string;
  private readonly dnssecEnabled: boolean;
  /** Online signing: journals, UPDATE access, refresh schedule (see "Online signing" below). */
  private readonly online: OnlineState;
  /** Key rollover (see "Key rollover" below). */
  private readonly rollover: ZoneRollover;
  /** When each zone's rollovers are next due (ms). */
  private readonly rolloverDue = new Map<string, number>();
  /** Serials, IXFR history, NOTIFY and AXFR/IXFR out (src/authority/primary-transfers.ts). */
  readonly transfers: PrimaryTransfers;
  /** Zones transferred in from other primaries (src/authority/secondary-zones.ts). */
  secondaries!: SecondaryZones;
  private rolloverTimer: { timer: NodeJS.Timeout | undefined; running: boolean; inRun?: boolean; again?: boolean; schedule?: (delay: number) => void } = { timer: undefined, running: false };

  private constructor(private readonly o: ZoneServiceOptions) {
    this.store = new KeyStore(o.config.stateDir);
    this.keyMaster = new KeyMaster(this.store, o.clock);
    this.state = new ZoneStateStore(o.config.stateDir);
    this.keyArchive = new KeyArchive(this.store, o.config.stateDir);
    this.zonesDir = new ZonesDirectory(o.config.authority?.zonesDir ?? join(o.config.stateDir, 'zones'), o.config.stateDir);
    this.guards = { replay: new TsigReplayGuard(DEFAULT_FUDGE), refusedLog: new ThrottledEventLog(o.logger, 'zone.update-refused', 'warn') };
    this.serverName = o.serverName ?? hostname();
    this.dnssecEnabled = o.config.dnssec.enable;
    this.online = { journals: new Map(), access: ZoneService.updateAccess(o.config.zones, o.config.tsigKeys ?? []), nextRefresh: new Map(), timer: undefined, stopped: false, lastCompaction: o.clock.now() };
    this.transfers = new PrimaryTransfers({ journalDir: ZoneJournal.directory(o.config.stateDir), keyring: this.online.access.keyring, clock: o.clock, logger: o.logger, sources: transferSources(o.config.listen ?? []), refusals: (event) => throttledLog(o.logger, event), ...(o.notify ? { notify: o.notify } : {}) });
    this.rollover = new ZoneRollover({
      store: this.store,
      clock: o.clock,
      timers: rolloverTimers(o.rollover?.timers),
      log: (e) => logDnssecEvent(o.logger, e.name, { ...e.fields, keyId: e.keyId, keyTag: e.keyTag, role: e.role }, { msg: e.msg }),
      ...(o.rollover?.dsAtParent ? { dsAtParent: o.rollover.dsAtParent } : {}),
    });
  }

  /**
   * Loads every zone and signs those that are signed, with the keys already in the store (a
   * restart generates no keys). A bad config zone file stops the start with its file and
   * line; a zone added by command whose file went bad is logged and left out.
   */
  static async start(o: ZoneServiceOptions): Promise<ZoneService> {
    const service = new ZoneService(o);
    await service.zonesDir.ensure();
    const persisted = await service.state.load();
    service.persisted = new Map(persisted.map((z) => [z.name, z]));
    for (const zc of o.config.zones) if (!zc.primary) await service.loadConfigZone(zc);
    const common = { stateDir: o.config.stateDir, keyring: service.online.access.keyring, clock: o.clock, logger: o.logger, sources: transferSources(o.config.listen ?? []), transfers: service.transfers, refusals: (event: string) => throttledLog(o.logger, event) };
    service.secondaries = await SecondaryZones.startFromConfig({ ...common, ...(o.onZoneChanged ? { onZoneChanged: o.onZoneChanged } : {}), ...(o.secondaryTickMs !== undefined ? { tickMs: o.secondaryTickMs } : {}) }, o.config.zones);
    for (const p of persisted) {
      if (!p.file || service.zones.has(p.name)) continue;
      try {
        await service.loadAddedZone(p);
      } catch (error) {
        logEvent(o.logger, 'zone.load-failed', { zone: p.name, file: p.file, error: (error as Error).message }, { level: 'error', msg: 'zone not loaded' });
      }
    }
    service.scheduleRefresh();
    await service.startRolloverState();
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
    const data = await this.recoverJournal(name, zc.file, loaded);
    const p = this.persisted.get(name.toString());
    const entry = newZoneEntry(name, zc.file, 'config', zc.allowTransfer, data, p, this.serverName);
    this.transfers.configure(name, transferConfigOf(zc), data.serial);
    const sign = p?.signed ?? zc.signing !== undefined;
    const policy = p?.policy ? normalizeSigningPolicy(p.policy) : zc.signing ? policyFromConfig(zc.signing) : undefined;
    await this.install(entry, sign ? policy ?? DEFAULT_SIGNING_POLICY : undefined, 'start');
  }

  private async loadAddedZone(p: PersistedZone): Promise<void> {
    const name = zoneName(p.name);
    const data = await this.recoverJournal(name, p.file!, await loadZoneFile(name, p.file!));
    const allow = (p.allowTransfer ?? []).map(parseCidr);
    const entry = newZoneEntry(name, p.file!, 'added', allow, data, p, this.serverName);
    this.transfers.configure(name, { ...DEFAULT_PRIMARY_TRANSFER, allowTransfer: allow }, data.serial);
    await this.install(entry, p.signed ? normalizeSigningPolicy(p.policy ?? DEFAULT_SIGNING_POLICY) : undefined, 'start');
  }


  /** Signs (or not) and swaps the zone in; a (re-)signed or unsigned zone gets a new serial, journaled once signed. Throws without changing what is served. */
  private async install(entry: ZoneEntry, policy: SigningPolicy | undefined, why: string): Promise<void> {
    const before = this.zones.get(entry.name.toString())?.served;
    const first = why === 'start' || why === 'added';
    const wasSigned = before?.isSigned === true || (why === 'start' && !policy && (await this.transfers.previouslySigned(entry.name)));
    const bump = (policy !== undefined || wasSigned) && why !== 'added' ? serialChange(entry.unsigned, this.transfers.nextSerial(entry.name)) : undefined;
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
    if (bump) await (await this.journalFor(entry)).append(bump, this.o.clock.now());
    const recorded = !first && before ? this.transfers.changed(entry.name, before, entry.served) : undefined;
    this.zones.set(entry.name.toString(), entry);
    if (first) await this.transfers.open(entry.name, entry.served, this.online.journals.get(entry.name.toString())?.fileDigest ?? '', policy === undefined);
    await recorded;
    logEvent(this.o.logger, 'zone.loaded', { zone: entry.name.toString(), file: entry.file, serial: entry.served.serial, names: entry.served.nameCount, signed: policy !== undefined, reason: why });
    this.o.onZoneChanged?.(entry.name);
  }

  private async signEntry(entry: ZoneEntry, policy: SigningPolicy, why: string): Promise<{ data: ZoneData; keys: ManagedKey[] }> {
    const zone = entry.name.toString();
    const refusal = keyMasterChangeRefusal(zone, entry.keyMaster, this.serverName, true);
    if (refusal) throw new ZoneError('not-key-master', `this server is not the Key Master of ${zone} (${entry.keyMaster}); only the Key Master signs`);
    const { logger } = this.o;
    logDnssecEvent(logger, 'zone.signing-started', { zone, reason: why, algorithm: policy.algorithm, denial: policy.denial, names: entry.unsigned.nameCount }, { msg: `signing ${zone}` });
    const started = Date.now();
    try {
      const change = await keysForSigning(this.keyMaster, entry.name, policy);
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
      // CDS/CDNSKEY are signed by the KSK too (RFC 7344 §4.1): the signer's rule, authority/rrset-signers.ts.
      const data = ZoneData.fromRecords(entry.name, records);
      const parentFiles = rolloverParentFiles(entry.name, change.keys, policy);
      const files = await writeParentFiles(this.o.config.stateDir, entry.name, parentFiles);
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

  /** The zone's current NSEC3 salt when the length still fits (so re-signing keeps the chain), else a new one. */
  private saltFor(entry: ZoneEntry, policy: SigningPolicy): Uint8Array {
    const current = entry.served.nsec3Params?.salt;
    if (current && current.length === policy.nsec3SaltLength) return current;
    return policy.nsec3SaltLength === 0 ? new Uint8Array(0) : new Uint8Array(randomBytes(policy.nsec3SaltLength));
  }

  /** Runs zone changes one at a time, in order. */
  private serialize<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private entry(zone: string): ZoneEntry {
    const name = zoneName(zone);
    const entry = this.zones.get(name.toString());
    if (!entry && this.secondaries?.has(name)) throw new ZoneError('secondary-zone', `zone ${name.toString()} is a secondary zone: served as transferred from its primaries`);
    if (!entry) throw new ZoneError('no-such-zone', `no local zone ${name.toString()}`);
    return entry;
  }

  private async persist(entry: ZoneEntry | undefined, name: string, removed = false): Promise<void> {
    const next = new Map(this.persisted);
    if (removed || !entry) next.delete(name);
    else {
      const p: PersistedZone = {
        name,
        ...(entry.source === 'added' ? { file: entry.file, allowTransfer: entry.allowTransfer.map((a) => a.text) } : {}),
        ...(entry.signedByCommand === undefined ? {} : { signed: entry.signedByCommand }),
        ...(entry.policy ? { policy: entry.policy } : {}),
        ...(entry.keyMaster !== this.serverName ? { keyMaster: entry.keyMaster } : {}),
        ...(entry.unsigning ? { unsigning: entry.unsigning } : {}),
      };
      next.set(name, p);
    }
    await this.state.save([...next.values()]);
    this.persisted = next;
  }

  // ------------------------------------------------------------------------------------------
  // Answers
  // ------------------------------------------------------------------------------------------

  /** The local zone that holds `name`: the longest match. */
  findZone(name: Name): ZoneEntry | undefined {
    for (let n = name; ; n = n.parent()) {
      const entry = this.zones.get(n.lowercase().toString());
      if (entry) return entry;
      if (n.isRoot) return undefined;
    }
  }

  answer(request: Message, from: ClientInfo, wire?: Uint8Array): LocalZoneResponse | undefined {
    // DNS over TLS and HTTPS carry what TCP carries (a transfer over TLS is RFC 9103's XoT).
    const client = { ...from, transport: from.transport === 'udp' ? ('udp' as const) : ('tcp' as const) };
    const q = request.question[0];
    if (!q || q.class !== RRClass.IN) return undefined;
    let entry = this.findZone(q.name);
    const secondary = this.secondaries?.find(q.name);
    if (secondary && (!entry || secondary.labelCount > entry.name.labelCount) && !(q.type === RRType.DS && secondary.equals(q.name) && entry))
      return secondaryAnswer({ secondaries: this.secondaries, transfers: this.transfers, keyring: this.online.access.keyring, dnssec: this.dnssecEnabled, now: Math.floor(this.o.clock.now() / 1000) }, secondary, request, client, wire);
    if (!entry) return undefined;
    // RFC 4035 §3.1.4.1: the DS at a zone cut is the parent's; with both sides hosted here, the parent answers.
    if (q.type === RRType.DS && entry.name.equals(q.name) && !q.name.isRoot) entry = this.findZone(q.name.parent()) ?? entry;
    if (q.type === RRType.AXFR || q.type === RRType.IXFR) return this.transfer(entry, request, client, wire);
    const dnssec = this.dnssecEnabled && (request.edns?.dnssecOk ?? false);
    const a = answerFromZone(entry.served, q.name, q.type, dnssec, { minimalAny: client.transport === 'udp' });
    if (wire && hasTsig(request)) return { kind: 'wire', messages: [signedAnswer(wire, request, client.transport, a, this.online.access.keyring, Math.floor(this.o.clock.now() / 1000))], stream: false };
    return { kind: 'answer', ...a };
  }

  /**
   * The resolver's view of the hosted zones (a CNAME from elsewhere into one of them): the zone's
   * authoritative answer with its DNSSEC records, or undefined when no hosted zone holds the name.
   */
  lookup(name: Name, type: number): { zone: Name; rcode: number; aa: boolean; answer: ResourceRecord[]; authority: ResourceRecord[] } | undefined {
    if (type === RRType.AXFR || type === RRType.IXFR) return undefined;
    let entry = this.findZone(name);
    const secondary = this.secondaries?.find(name);
    const copy = secondary && (!entry || secondary.labelCount > entry.name.labelCount) ? this.secondaries.served(secondary) : undefined;
    if (copy) return { zone: copy.origin, ...answerFromZone(copy, name, type, this.dnssecEnabled) };
    if (!entry) return undefined;
    if (type === RRType.DS && entry.name.equals(name) && !name.isRoot) entry = this.findZone(name.parent()) ?? entry;
    const a = answerFromZone(entry.served, name, type, this.dnssecEnabled);
    return { zone: entry.name, rcode: a.rcode, aa: a.aa, answer: a.answer, authority: a.authority };
  }

  private transfer(entry: ZoneEntry, request: Message, client: TransferClient, wire: Uint8Array | undefined): LocalZoneResponse {
    const q = request.question[0]!;
    if (!q.name.equals(entry.name))
      return { kind: 'answer', rcode: Rcode.NOTAUTH, aa: false, answer: [], authority: [], additional: [], ede: [[EdeCode.NOT_AUTHORITATIVE, `${q.name.toString()} is not a zone apex here`]] };
    return { kind: 'wire', ...this.transfers.respond(entry.name, entry.served, wire ?? encodeMessage(request), request, client) };
  }

  // ------------------------------------------------------------------------------------------
  // Management (control API)
  // ------------------------------------------------------------------------------------------

  list(): (ZoneSummary | SecondaryView)[] {
    const all: (ZoneSummary | SecondaryView)[] = [...this.zones.values()].map((e) => zoneSummary(e));
    return [...all, ...this.secondaries.list()].sort((a, b) => Name.parse(a.name).compareCanonical(Name.parse(b.name)));
  }

  show(zone: string): (ZoneSummary & { policy: SigningPolicy | null; keyAlgorithms: number[] }) | SecondaryView {
    const secondary = this.secondaries.show(zoneName(zone));
    if (secondary) return secondary;
    const e = this.entry(zone);
    // What the zone is signed with is what its published keys are, not only what was asked for (an algorithm rollover shows both).
    const keyAlgorithms = e.policy ? [...new Set(e.keys.filter((k) => isPublished(k.metadata.state) || k.metadata.state === 'presigning').map((k) => k.metadata.algorithm))].sort((a, b) => a - b) : [];
    return { ...zoneSummary(e), policy: e.policy ?? null, keyAlgorithms, ...this.transfers.view(e.name) };
  }

  /** `zone add ZONE --primary ADDR[,ADDR...] [--tsig KEY]`: a secondary zone, transferred at once. */
  addSecondary(zone: string, primaries: readonly string[], tsig?: string, allowTransfer: readonly string[] = []): Promise<SecondaryView> {
    return this.serialize(async () => {
      const name = zoneName(zone);
      if (this.zones.has(name.toString())) throw new ZoneError('zone-exists', `zone ${name.toString()} is already hosted here`);
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
    return this.serialize(async () => {
      const name = zoneName(zone);
      if (this.zones.has(name.toString()) || this.secondaries.has(name)) throw new ZoneError('zone-exists', `zone ${name.toString()} is already hosted here`);
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
      await this.deleteJournal(name);
      const keys = await keysForAddedZone(this.keyArchive, name, options.reuseKeys ?? false, new Date(this.o.clock.now())).catch((error: Error) => {
        throw error instanceof NoArchivedKeysError ? new ZoneError('no-archived-keys', error.message) : error;
      });
      if (keys.note) logDnssecEvent(this.o.logger, keys.reused ? 'zone.keys-reused' : 'zone.archived-keys-not-reused', { zone: name.toString() }, { msg: keys.note });
      const entry = newZoneEntry(name, path, 'added', allow, data, undefined, this.serverName);
      entry.keyMaster = this.serverName;
      this.transfers.configure(name, { ...DEFAULT_PRIMARY_TRANSFER, allowTransfer: allow }, data.serial);
      await this.journalFor(entry); // now, so the IXFR history is tied to this file from the start
      await this.persist(entry, name.toString());
      await this.install(entry, undefined, 'added');
      return { ...zoneSummary(entry), ...(keys.note ? { keysNote: keys.note } : {}) };
    });
  }

  remove(zone: string): Promise<{ name: string }> {
    return this.serialize(async () => {
      const secondary = zoneName(zone);
      if (this.secondaries.has(secondary))
        return this.secondaries.remove(secondary).then(() => ({ name: secondary.toString() }), (error: Error) => Promise.reject(new ZoneError('config-zone', error.message)));
      const e = this.entry(zone);
      if (e.source === 'config') throw new ZoneError('config-zone', `zone ${e.name.toString()} comes from the config file; remove it there`);
      await this.persist(undefined, e.name.toString(), true);
      await this.deleteJournal(e.name);
      await this.transfers.remove(e.name);
      this.zones.delete(e.name.toString());
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
      const other = this.entry(request.zone);
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
    return this.serialize(async () => {
      const e = this.entry(zone);
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
    return this.serialize(async () => {
      const e = this.entry(zone);
      const policy = this.signingPolicyOf(request);
      const next: ZoneEntry = { ...e, signedByCommand: true, unsigning: undefined }; // signing again ends an unsign under way
      // The state first: once signed, the new serial is journaled and told to secondaries, and cannot be taken back.
      await this.persist({ ...next, policy }, e.name.toString()).catch((error: Error) => {
        throw new ZoneError('state-not-written', `zone ${e.name.toString()} not signed: ${error.message}`);
      });
      await this.install(next, policy, 'zone sign').catch(async (error: Error) => {
        await this.persist(e, e.name.toString()).catch(() => undefined);
        throw error;
      });
      await this.syncDsAround(next);
      this.wakeRollovers();
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
    return this.serialize(async () => {
      const e = this.entry(zone);
      if (!e.policy) throw new ZoneError('not-signed', `zone ${e.name.toString()} is not signed`);
      const served = await beginUnsign(this.unsignHost, e, options.now ?? false);
      if (served.unsigning) this.wakeRollovers();
      return zoneSummary(served);
    });
  }

  /** The zone service's steps, as the safe unsign (zone-unsign.ts) uses them. */
  private get unsignHost(): UnsignHost<ZoneEntry> {
    return {
      clock: this.o.clock,
      logger: this.o.logger,
      serverName: this.serverName,
      stateDir: this.o.config.stateDir,
      timers: this.rollover.timers,
      dsAtParent: this.rollover.dsAtParent,
      ...(this.o.onTrustAnchorsWithdrawn ? { withdrawTrustAnchor: this.o.onTrustAnchorsWithdrawn } : {}),
      localParentDs: (e) => {
        const local = this.localParentOf(e);
        return local ? { dsTtl: local.unsigned.rrset(e.name, RRType.DS)?.records[0]?.ttl } : undefined;
      },
      serveSigned: async (e, next) => {
        await this.install(next, e.policy, 'zone unsign: DS withdrawn first'); // the delete signal is published, signed
        await this.persist(next, e.name.toString()).catch((error: Error) => {
          this.zones.set(e.name.toString(), e);
          this.o.onZoneChanged?.(e.name);
          throw new ZoneError('state-not-written', `zone ${e.name.toString()} not unsigned: ${error.message}`);
        });
        await this.commitChange(next, serialChange(next.unsigned)).catch(() => undefined); // secondaries see the delete signal
        await this.syncDsAround(next);
      },
      save: (e) => this.persist(e, e.name.toString()),
      serveUnsigned: async (e) => {
        const next: ZoneEntry = { ...e, signedByCommand: false, unsigning: undefined };
        await this.persist({ ...next, policy: undefined }, e.name.toString());
        await this.install(next, undefined, 'zone unsign');
        await this.syncDsAround(next);
        return next;
      },
    };
  }

  async keys(zone: string): Promise<{ zone: string; keys: ZoneKeyView[]; unsigning?: UnsignState }> {
    const e = this.entry(zone);
    const keys = await this.keyMaster.keys(e.name);
    if (!e.policy) return { zone: e.name.toString(), keys: sortKeys(keys).map(keyView) };
    const views = this.rollover.views(keys.map((k) => k.metadata), e.policy, maxZoneTtl(e.unsigned.unsignedRecords(), e.policy.dnskeyTtl));
    return { zone: e.name.toString(), keys: sortKeys(keys).map((k) => ({ ...keyView(k), rollover: views.get(k.metadata.id)! })), ...(e.unsigning ? { unsigning: e.unsigning } : {}) };
  }

  async exportKeys(zone: string, digest?: string): Promise<{ zone: string; dsset: string; keyset: string }> {
    const e = this.entry(zone);
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
    const e = this.entry(zone);
    return { zone: e.name.toString(), keyMaster: e.keyMaster, thisServer: this.serverName, isThisServer: keyMasterChangeRefusal(e.name.toString(), e.keyMaster, this.serverName, true) === undefined, fileBacked: true };
  }

  setKeyMaster(zone: string, server: string): Promise<ReturnType<ZoneService['keyMasterOf']>> {
    return this.serialize(async () => {
      const e = this.entry(zone);
      const refusal = keyMasterChangeRefusal(e.name.toString(), server, this.serverName, true);
      if (refusal) throw new ZoneError('key-master-fixed', refusal);
      return this.keyMasterOf(zone);
    });
  }

  // ------------------------------------------------------------------------------------------
  // Online signing: changes by UPDATE (RFC 2136, TSIG RFC 8945) and `zone record add|remove`,
  // re-signing only what a change touches, journaled before they are acknowledged, and
  // signatures refreshed before they expire. State in `this.online`.
  // ------------------------------------------------------------------------------------------

  /** The zone's data after its snapshot and journal (changes made since the file was loaded). */
  private async recoverJournal(name: Name, file: string, data: ZoneData): Promise<ZoneData> {
    const journal = new ZoneJournal(ZoneJournal.directory(this.o.config.stateDir), name);
    const zone = name.toString();
    try {
      const r = await journal.recover(data.records({ withSignatures: false }), await readFile(file));
      this.online.journals.set(zone, journal);
      if (r.discarded)
        logEvent(this.o.logger, 'zone.journal-discarded', { zone, file, movedTo: r.discarded }, { level: 'error', msg: `${file} changed since the last dynamic update of ${zone}: the journal no longer applies and was moved aside; the file wins` });
      if (r.replayed === 0 && !r.fromSnapshot) return data;
      const recovered = ZoneData.fromRecords(name, r.records);
      logEvent(this.o.logger, 'zone.journal-replayed', { zone, changes: r.replayed, fromSnapshot: r.fromSnapshot, droppedTornLine: r.droppedTornLine, serial: recovered.serial });
      return recovered;
    } catch (error) {
      await journal.close();
      throw new ZoneError('bad-journal', `zone ${zone}: ${(error as Error).message}`);
    }
  }

  /** The zone's open journal; a zone added at run time gets a fresh one (and any left from an earlier zone of that name goes). */
  private async journalFor(entry: ZoneEntry): Promise<ZoneJournal> {
    const zone = entry.name.toString();
    const open = this.online.journals.get(zone);
    if (open) return open;
    const journal = new ZoneJournal(ZoneJournal.directory(this.o.config.stateDir), entry.name);
    await journal.delete();
    await journal.recover(entry.unsigned.records({ withSignatures: false }), await readFile(entry.file));
    this.online.journals.set(zone, journal);
    return journal;
  }

  /** Forgets a zone's journal and snapshot (the zone is removed or added anew). */
  private async deleteJournal(name: Name): Promise<void> {
    const zone = name.toString();
    const journal = this.online.journals.get(zone) ?? new ZoneJournal(ZoneJournal.directory(this.o.config.stateDir), name);
    this.online.journals.delete(zone);
    await journal.delete();
  }

  /**
   * Makes a change live: the new unsigned data, re-signed incrementally when the zone is
   * signed, appended to the journal and fsynced, and only then served. Throws without
   * changing anything when any step fails.
   */
  private async commitChange(entry: ZoneEntry, change: RecordChange, refreshBatch?: number): Promise<{ signatures: number; refreshed: number; deferred: number; incremental: boolean }> {
    const now = this.o.clock.now();
    const unsigned = applyDiff(entry.unsigned, change);
    let served = unsigned;
    let stats = { signatures: 0, refreshed: 0, deferred: 0, incremental: true };
    if (entry.policy && entry.served.isSigned) {
      const policy = entry.policy;
      const salt = this.saltFor(entry, policy);
      const r = await signChangeYielding(entry.served, change, {
        zone: entry.name,
        keys: rolloverSigningKeys(entry.name, entry.keys),
        policy,
        denial: policy.denial === 'nsec' ? { kind: 'nsec' } : { kind: 'nsec3', iterations: policy.nsec3Iterations, salt, optOut: policy.nsec3OptOut },
        now: Math.floor(now / 1000),
        ...(refreshBatch === undefined ? {} : { refreshBatch }),
      });
      served = r.data;
      stats = { signatures: r.signedChanged + r.refreshed, refreshed: r.refreshed, deferred: r.deferred, incremental: r.incremental };
    }
    const journal = await this.journalFor(entry);
    await journal.append(change, now);
    // The IXFR history takes the version before it is served (transfers.changed does that part at once).
    const recorded = this.transfers.changed(entry.name, entry.served, served);
    entry.unsigned = unsigned;
    entry.served = served;
    this.o.onZoneChanged?.(entry.name);
    await recorded;
    if (journal.pending >= JOURNAL_COMPACT_EVERY) await this.compactJournal(entry, journal);
    return stats;
  }

  private async compactJournal(entry: ZoneEntry, journal: ZoneJournal): Promise<void> {
    try {
      await journal.compact(entry.unsigned.records({ withSignatures: false }), entry.unsigned.serial, this.o.clock.now());
      logEvent(this.o.logger, 'zone.journal-compacted', { zone: entry.name.toString(), serial: entry.unsigned.serial, sequence: journal.sequence });
    } catch (error) {
      // The journal still holds every change: nothing is lost, the next compaction tries again.
      logEvent(this.o.logger, 'zone.journal-compaction-failed', { zone: entry.name.toString(), error: (error as Error).message }, { level: 'error' });
    }
  }

  /** UPDATE hardening: TSIG replays refused (RFC 8945 §5.2.3), refusals logged at a bounded rate. */
  private readonly zonesDir: ZonesDirectory;
  private readonly keyArchive: KeyArchive;
  private readonly guards: { readonly replay: TsigReplayGuard; readonly refusedLog: ThrottledEventLog };

  /** What every change must respect beyond RFC 2136: no DS for a child hosted here unsigned. */
  private readonly updateOptions = {
    dsRefusal: (owner: Name) => {
      const child = this.zones.get(owner.lowercase().toString());
      return child && (!child.policy || child.unsigning) ? unsignedChildDsReason(child.name) : undefined;
    },
  };

  /** The TSIG keys (`tsigKeys` and every zone's update keys: one keyring) and client prefixes of each zone's `update:` config. */
  private static updateAccess(zones: readonly ZoneConfig[], tsigKeys: readonly TsigKeyConfig[]): OnlineState['access'] {
    const keyring = buildKeyring([
      ...tsigKeys.map((key) => ({ where: 'tsigKeys', key })),
      ...zones.flatMap((zc) => (zc.update?.keys ?? []).map((key) => ({ where: `zone ${zc.name}`, key }))),
    ]);
    const perZone = new Map<string, { keys: Set<string>; allow: readonly CidrPrefix[]; maxRecords: number }>();
    for (const zc of zones) {
      if (!zc.update) continue;
      const names = new Set(zc.update.keys.map((k) => Name.parse(k.name).lowercase().key));
      perZone.set(Name.parse(zc.name).lowercase().toString(), { keys: names, allow: zc.update.allow, maxRecords: zc.update.maxRecords ?? DEFAULT_MAX_UPDATE_RECORDS });
    }
    return { keyring, perZone };
  }

  /**
   * An RFC 2136 UPDATE, from the query path. TSIG is checked first (RFC 8945 §5.2: NOTAUTH with
   * BADKEY, BADSIG or BADTIME), then the zone section (FORMERR, NOTAUTH for a zone not hosted
   * here), then who may update (REFUSED: unsigned, a key not allowed for the zone, an address
   * outside `allow`), then the prerequisites and the update itself. The answer to a signed
   * request is signed. NOERROR is sent only after the change is in the journal on disk.
   */
  async update(wire: Uint8Array, client: ClientInfo): Promise<Uint8Array> {
    const now = Math.floor(this.o.clock.now() / 1000);
    // An unsigned flood must not write a log line per packet: throttled, with the count suppressed.
    const log = (rcode: number, reason: string, fields: Record<string, unknown> = {}) => this.guards.refusedLog.log({ client: client.address, rcode: rcodeToString(rcode), reason, ...fields });
    let signed: SignedMessage | undefined;
    let message: UpdateMessage;
    try {
      signed = extractTsig(wire);
      message = decodeUpdateMessage(signed?.unsigned ?? wire);
    } catch (error) {
      log(Rcode.FORMERR, (error as Error).message);
      return updateFormerr(wire);
    }
    const id = (wire[0]! << 8) | wire[1]!;
    let verification: TsigVerification | undefined;
    const respond = (rcode: number): Uint8Array => {
      const response = encodeMessage(newMessage({ id, qr: true, opcode: Opcode.UPDATE, rcode, question: [...message.zone], ...(message.edns ? { edns: defaultEdns({ udpSize: 1232 }) } : {}) }));
      return verification ? signTsigResponse(response, verification, now) : response;
    };
    const keyName = signed?.keyName.toString();
    if (signed) {
      verification = verifyTsig(signed, (n) => this.online.access.keyring.get(n.lowercase().key), now, { replay: this.guards.replay });
      if (!verification.ok) {
        log(verification.error === Rcode.FORMERR ? Rcode.FORMERR : Rcode.NOTAUTH, `TSIG ${tsigErrorName(verification.error)}: ${verification.reason}`, { key: keyName });
        return respond(verification.error === Rcode.FORMERR ? Rcode.FORMERR : Rcode.NOTAUTH);
      }
    }
    const zq = message.zone[0];
    if (message.zone.length !== 1 || zq!.type !== RRType.SOA) {
      log(Rcode.FORMERR, 'the zone section must hold one SOA question');
      return respond(Rcode.FORMERR);
    }
    const zone = zq!.name.lowercase().toString();
    const target = this.zones.get(zone);
    if (!target || zq!.class !== target.unsigned.zoneClass) {
      log(Rcode.NOTAUTH, `not authoritative for ${zone}`, { zone, key: keyName });
      return respond(Rcode.NOTAUTH);
    }
    const access = this.online.access.perZone.get(zone);
    const refusal = !access
      ? `zone ${zone} accepts no dynamic updates (no update: in its config)`
      : !signed
        ? 'the UPDATE is not signed: TSIG is required'
        : !access.keys.has(signed.keyName.lowercase().key)
          ? `key ${keyName} may not update ${zone}`
          : access.allow.length > 0 && !access.allow.some((p) => cidrContains(p, client.address))
            ? `${client.address} is not in the zone's update allow list`
            : message.prerequisites.length + message.updates.length > access.maxRecords
              ? `${message.prerequisites.length + message.updates.length} records in one UPDATE; the zone's update.maxRecords is ${access.maxRecords}`
              : undefined;
    if (refusal) {
      log(Rcode.REFUSED, refusal, { zone, key: keyName });
      return respond(Rcode.REFUSED);
    }
    return this.serialize(async () => {
      const entry = this.zones.get(zone);
      if (!entry) return respond(Rcode.NOTAUTH);
      const outcome = applyUpdate(entry.unsigned, message, { ...this.updateOptions, nextSerial: this.transfers.nextSerial(entry.name) });
      if (outcome.rcode !== Rcode.NOERROR) {
        log(outcome.rcode, 'reason' in outcome ? outcome.reason : '', { zone, key: keyName });
        return respond(outcome.rcode);
      }
      const change = 'change' in outcome ? outcome.change : undefined;
      if (!change) return respond(Rcode.NOERROR);
      try {
        const stats = await this.commitChange(entry, change);
        logEvent(this.o.logger, 'zone.updated', { zone, serial: change.serial, client: client.address, key: keyName, removed: change.removed.length, added: change.added.length, ...stats });
        return respond(Rcode.NOERROR);
      } catch (error) {
        logEvent(this.o.logger, 'zone.update-failed', { zone, client: client.address, error: (error as Error).message }, { level: 'error', msg: 'update not applied' });
        return respond(Rcode.SERVFAIL);
      }
    });
  }

  /** `zone record add`: one record, its TTL that of its RRset (or the SOA's) unless given. */
  addRecord(zone: string, record: RecordRequest): Promise<RecordChangeSummary> {
    return this.serialize(async () => {
      const entry = this.entry(zone);
      const rr = parseRecordRequest(entry, record, true);
      return this.applyRecordChange(entry, { prerequisites: [], updates: [rr] }, 'zone record add');
    });
  }

  /** `zone record remove`: one record, or with no RDATA the whole RRset. */
  removeRecord(zone: string, record: RecordRequest): Promise<RecordChangeSummary> {
    return this.serialize(async () => {
      const entry = this.entry(zone);
      const rr = parseRecordRequest(entry, record, false);
      const summary = await this.applyRecordChange(entry, { prerequisites: [], updates: [rr] }, 'zone record remove');
      if (!summary.changed) throw new ZoneError('no-such-record', `${record.name} ${record.type}${record.rdata ? ` ${record.rdata}` : ''} is not in ${entry.name.toString()}`);
      return summary;
    });
  }

  private async applyRecordChange(entry: ZoneEntry, request: UpdateRequest, why: string): Promise<RecordChangeSummary> {
    const zone = entry.name.toString();
    const outcome = applyUpdate(entry.unsigned, request, { ...this.updateOptions, nextSerial: this.transfers.nextSerial(entry.name) });
    if (outcome.rcode !== Rcode.NOERROR) throw new ZoneError('bad-record', 'reason' in outcome ? outcome.reason : rcodeToString(outcome.rcode));
    const change = 'change' in outcome ? outcome.change : undefined;
    if (!change) return { zone, serial: entry.unsigned.serial, changed: false, removed: [], added: [], signatures: 0 };
    let stats;
    try {
      stats = await this.commitChange(entry, change);
    } catch (error) {
      if (error instanceof ZoneDataError) throw new ZoneError('bad-record', error.message);
      throw new ZoneError('change-failed', `${why} on ${zone} failed, nothing changed: ${(error as Error).message}`);
    }
    logEvent(this.o.logger, 'zone.updated', { zone, serial: change.serial, via: why, removed: change.removed.length, added: change.added.length, ...stats });
    const text = (rs: readonly ResourceRecord[]) => rs.filter((r) => r.type !== RRType.SOA).map(recordToText);
    return { zone, serial: change.serial, changed: true, removed: text(change.removed), added: text(change.added), signatures: stats.signatures };
  }

  /**
   * One pass of signature refresh over every signed zone: a zone with a signature due (see
   * signature-refresh.ts) gets its serial bumped and its due signatures remade, at most
   * REFRESH_BATCH that are not yet urgent per zone and pass, so that a zone signed all at once
   * is re-signed a slice at a time. The timer calls it every `refreshIntervalMs`; tests call it
   * after moving a ManualClock.
   */
  async refreshSignatures(): Promise<{ zone: string; serial: number; refreshed: number; deferred: number }[]> {
    const report: { zone: string; serial: number; refreshed: number; deferred: number }[] = [];
    for (const zone of [...this.zones.keys()]) {
      await this.serialize(async () => {
        const entry = this.zones.get(zone);
        if (!entry?.policy || !entry.served.isSigned) return;
        const now = Math.floor(this.o.clock.now() / 1000);
        let cached = this.online.nextRefresh.get(zone);
        if (cached?.served !== entry.served) {
          cached = { served: entry.served, at: nextRefreshTime(entry.served, now) ?? Infinity };
          this.online.nextRefresh.set(zone, cached);
        }
        if (cached.at > now) return;
        try {
          const change = serialChange(entry.unsigned, this.transfers.nextSerial(entry.name));
          const stats = await this.commitChange(entry, change, REFRESH_BATCH);
          report.push({ zone, serial: change.serial, refreshed: stats.refreshed, deferred: stats.deferred });
          logEvent(this.o.logger, 'zone.signatures-refreshed', { zone, serial: change.serial, refreshed: stats.refreshed, deferred: stats.deferred });
        } catch (error) {
          logEvent(this.o.logger, 'zone.refresh-failed', { zone, error: (error as Error).message }, { level: 'error' });
        }
      });
    }
    return report;
  }

  /** Compacts every journal with changes in it (the timer does this every JOURNAL_COMPACT_INTERVAL_MS). */
  async compactJournals(): Promise<void> {
    for (const [zone, journal] of [...this.online.journals]) {
      await this.serialize(async () => {
        const entry = this.zones.get(zone);
        if (entry && journal.pending > 0 && this.online.journals.get(zone) === journal) await this.compactJournal(entry, journal);
      });
    }
  }

  private scheduleRefresh(): void {
    const interval = this.o.refreshIntervalMs ?? DEFAULT_REFRESH_INTERVAL_MS;
    if (this.online.stopped || interval <= 0) return;
    this.online.timer = setTimeout(() => {
      void (async () => {
        await this.refreshSignatures();
        if (this.o.clock.now() - this.online.lastCompaction >= JOURNAL_COMPACT_INTERVAL_MS) {
          this.online.lastCompaction = this.o.clock.now();
          await this.compactJournals();
        }
      })()
        .catch((error: Error) => logEvent(this.o.logger, 'zone.refresh-failed', { error: error.message }, { level: 'error' }))
        .finally(() => this.scheduleRefresh());
    }, interval);
    this.online.timer.unref();
  }

  /** Stops the refresh timer and closes the journals (every change in them is already on disk). */
  async stop(): Promise<void> {
    this.stopRollovers();
    this.online.stopped = true;
    if (this.online.timer) clearTimeout(this.online.timer);
    await this.serialize(async () => {
      for (const journal of this.online.journals.values()) await journal.close();
      await this.transfers.stop();
      await this.secondaries.stop();
    });
  }

  // ------------------------------------------------------------------------------------------
  // Key rollover (src/authority/rollover/): the engine on a timer for every zone this server is
  // the Key Master of, a full re-sign and a serial bump when the key set changes, CDS/CDNSKEY
  // and dsset-/keyset- from the signing above, the DS in a parent zone hosted here kept equal to
  // the child's, `zone roll` and `zone step-rollover`.
  // ------------------------------------------------------------------------------------------

  /** At start: warn about lowered timers, bring the DS of local children in local parents up to date. */
  private async startRolloverState(): Promise<void> {
    const lowered = loweredRolloverTimers(this.rollover.timers);
    if (lowered.length > 0)
      logDnssecEvent(this.o.logger, 'key.rollover-timers-lowered', { timers: Object.fromEntries(lowered.map((k) => [k, this.rollover.timers[k]])) }, { msg: `key rollover timers lowered below the RFC values (${lowered.join(', ')}): for test labs only` });
    for (const entry of [...this.zones.values()]) await this.syncParentDs(entry.name);
  }

  /** The zone as the rollover driver sees it, or undefined when it does not roll here (unsigned, or another Key Master). */
  private rolloverZone(entry: ZoneEntry): RolloverZone | undefined {
    if (!entry.policy || entry.unsigning || keyMasterChangeRefusal(entry.name.toString(), entry.keyMaster, this.serverName, true)) return undefined;
    const name = entry.name;
    const local = this.localParentOf(entry);
    return {
      name,
      policy: entry.policy,
      maxZoneTtl: maxZoneTtl(entry.unsigned.unsignedRecords(), entry.policy.dnskeyTtl),
      resign: () => this.resignForRollover(name),
      // A parent hosted here is read directly: its data is what this server answers.
      ...(local
        ? {
            dsAtParent: async () => {
              const ds = this.zones.get(local.name.toString())?.served.rrset(name, RRType.DS)?.records ?? [];
              return { ds: ds.map((r) => r.rdata), ttl: ds[0]?.ttl ?? 0 };
            },
          }
        : {}),
    };
  }

  /** Re-signs a zone whose key set changed, moves its serial on (secondaries must transfer it), and updates the DS at a local parent. */
  private async resignForRollover(name: Name): Promise<void> {
    const e = this.zones.get(name.toString());
    if (!e?.policy) return;
    const next: ZoneEntry = { ...e };
    await this.install(next, e.policy, 'key rollover'); // throws: nothing served changed, the driver undoes its writes; moves the serial on
    await this.syncDsAround(next);
  }

  /** Runs every zone's rollovers that are due at the clock's now; returns when to run again (ms). */
  async runRollovers(): Promise<number | undefined> {
    let wake: number | undefined;
    for (const zone of [...this.zones.keys()]) {
      const at = await this.serialize(async () => {
        const entry = this.zones.get(zone);
        if (entry?.unsigning)
          return continueUnsign(this.unsignHost, entry).catch((error: Error) => {
            logDnssecEvent(this.o.logger, 'key.rollover-error', { zone, error: error.message }, { msg: `unsigning ${zone} failed at this step; the zone is served as it was, retried later` });
            return this.o.clock.now() + ROLLOVER_RETRY_MS;
          });
        const rz = entry && this.rolloverZone(entry);
        if (!rz) return undefined;
        // A zone is looked at when the engine said, and at least hourly (its keys are read from disk).
        const due = this.rolloverDue.get(zone);
        if (due !== undefined && due > this.o.clock.now()) return due;
        try {
          const next = (await this.rollover.run(rz)).wakeAt;
          await this.purgeRetiredKeys(rz.name);
          this.rolloverDue.set(zone, Math.min(next ?? Infinity, this.o.clock.now() + ROLLOVER_RECHECK_MS));
          return next;
        } catch (error) {
          logDnssecEvent(this.o.logger, 'key.rollover-error', { zone, error: (error as Error).message }, { msg: `key rollover of ${zone} failed; keys and zone as they were, retried later` });
          return this.o.clock.now() + ROLLOVER_RETRY_MS;
        }
      });
      if (at !== undefined && (wake === undefined || at < wake)) wake = at;
    }
    return wake;
  }

  /** Deletes the zone's keys retired longer than `dnssec.rollover.retiredKeyRetention` (key-purge.ts), each logged. */
  private async purgeRetiredKeys(zone: Name): Promise<void> {
    for (const { metadata: m, error } of await purgeRetiredKeys(this.store, zone, this.o.clock.now(), this.rollover.timers.retiredKeyRetention)) {
      const fields = { zone: zone.toString(), ...keyLogFields(m), retiredAt: m.retired ?? null };
      if (error) logDnssecEvent(this.o.logger, 'zone.key-purge-failed', { ...fields, error }, { msg: `retired key ${m.keyTag} of ${zone.toString()} not deleted; tried again later` });
      else logDnssecEvent(this.o.logger, 'zone.key-purged', fields, { msg: `retired key ${m.keyTag} of ${zone.toString()} deleted after the retention period` });
    }
  }

  /** Runs the rollovers on a real-time timer (woken at the engine's next time, at least every minute); `dsAtParent` from the server's resolver. */
  startRollovers(options: { dsAtParent?: DsAtParent } = {}): void {
    if (options.dsAtParent) this.rollover.dsAtParent = options.dsAtParent;
    if (this.rolloverTimer.running) return;
    this.rolloverTimer.running = true;
    const schedule = (this.rolloverTimer.schedule = (delay: number) => {
      if (!this.rolloverTimer.running) return;
      if (this.rolloverTimer.timer) clearTimeout(this.rolloverTimer.timer);
      this.rolloverTimer.timer = setTimeout(() => {
        this.rolloverTimer.timer = undefined;
        this.rolloverTimer.inRun = true;
        void this.runRollovers()
          .catch(() => undefined)
          .then((wake) => {
            this.rolloverTimer.inRun = false;
            const again = this.rolloverTimer.again;
            this.rolloverTimer.again = false;
            schedule(again ? 0 : Math.min(ROLLOVER_MAX_SLEEP_MS, Math.max(10, (wake ?? Infinity) - this.o.clock.now())));
          });
      }, delay);
      this.rolloverTimer.timer.unref();
    });
    schedule(0);
  }

  /** Runs the rollovers again soon (a roll was asked for, a zone was signed: the next wake-up may be earlier). */
  private wakeRollovers(): void {
    this.rolloverDue.clear();
    if (this.rolloverTimer.inRun) this.rolloverTimer.again = true;
    else this.rolloverTimer.schedule?.(0);
  }

  stopRollovers(): void {
    this.rolloverTimer.running = false;
    if (this.rolloverTimer.timer) clearTimeout(this.rolloverTimer.timer);
    this.rolloverTimer.timer = undefined;
  }

  /** `zone roll ZONE KEY-ID` (Invoke-DnsServerSigningKeyRollover). */
  rollKey(zone: string, keyId: string): Promise<{ zone: string; keys: ZoneKeyView[] }> {
    return this.rolloverRequest(zone, keyId, (rz) => this.rollover.roll(rz, keyId));
  }

  /** `zone step-rollover ZONE KEY-ID` (Step-DnsServerSigningKeyRollover). */
  stepKeyRollover(zone: string, keyId: string): Promise<{ zone: string; keys: ZoneKeyView[] }> {
    return this.rolloverRequest(zone, keyId, (rz) => this.rollover.step(rz, keyId));
  }

  private async rolloverRequest(zone: string, keyId: string, work: (rz: RolloverZone) => Promise<unknown>): Promise<{ zone: string; keys: ZoneKeyView[] }> {
    await this.serialize(async () => {
      const e = this.entry(zone);
      const rz = this.rolloverZone(e);
      if (!rz) throw new ZoneError(e.policy ? 'not-key-master' : 'not-signed', `zone ${e.name.toString()} ${e.policy ? 'is not rolled by this server (not its Key Master)' : 'is not signed'}`);
      try {
        await work(rz);
      } catch (error) {
        if (error instanceof RolloverRequestError) throw new ZoneError(error.code, `zone ${e.name.toString()}: ${error.message}`);
        throw error;
      }
    });
    this.wakeRollovers();
    return this.keys(zone);
  }

  /** The zone hosted here that delegates `child` (its nearest enclosing local zone, with NS at the child). */
  private localParentOf(child: ZoneEntry): ZoneEntry | undefined {
    if (child.name.isRoot) return undefined;
    const parent = this.findZone(child.name.parent());
    return parent && parent.unsigned.rrset(child.name, RRType.NS) ? parent : undefined;
  }

  /** Updates the DS of `entry` in its local parent and of its local children in it. */
  private async syncDsAround(entry: ZoneEntry): Promise<void> {
    await this.syncParentDs(entry.name);
    for (const child of [...this.zones.values()]) if (!child.name.equals(entry.name) && this.localParentOf(child)?.name.equals(entry.name)) await this.syncParentDs(child.name);
  }

  /**
   * When the parent of a zone signed here is hosted here too, its DS RRset for the zone is made
   * the one the child asks for (its CDS: active and standby KSKs), journaled and re-signed like
   * a dynamic update, with a serial bump. An unsigned child gets no DS.
   */
  private async syncParentDs(childName: Name): Promise<void> {
    const child = this.zones.get(childName.toString());
    const parent = child && this.localParentOf(child);
    if (!child || !parent) return;
    const signedHere = child.policy !== undefined && !child.unsigning && !keyMasterChangeRefusal(child.name.toString(), child.keyMaster, this.serverName, true);
    const want = signedHere ? parentDsRecords(child.name, child.keys, child.policy!, parent.unsigned.zoneClass) : [];
    const current = parent.unsigned.rrset(child.name, RRType.DS)?.records ?? [];
    const same = current.length === want.length && want.every((w) => current.some((c) => c.ttl === w.ttl && Buffer.from(c.rdata).equals(Buffer.from(w.rdata))));
    if (same) return;
    const soa = parent.unsigned.soa;
    const serial = this.transfers.nextSerial(parent.name)(soaSerial(soa));
    try {
      await this.commitChange(parent, changeFromDiff(parent.unsigned, [...current, soa], [...want, withSerial(soa, serial)], serial));
      // A DS the parent's file or an old state had for a child served unsigned here would make it bogus: removed, with why.
      const why = signedHere ? {} : { reason: unsignedChildDsReason(child.name) };
      logDnssecEvent(this.o.logger, 'zone.parent-ds-updated', { zone: parent.name.toString(), child: child.name.toString(), serial, ds: want.map((r) => rdataToText(RRType.DS, r.rdata)), ...why }, { msg: `DS of ${child.name.toString()} in ${parent.name.toString()} updated`, ...(signedHere ? {} : { level: 'warn' as const }) });
    } catch (error) {
      logDnssecEvent(this.o.logger, 'key.rollover-error', { zone: child.name.toString(), parent: parent.name.toString(), error: (error as Error).message }, { msg: `could not update the DS of ${child.name.toString()} in ${parent.name.toString()}` });
    }
  }

  get size(): number {
    return this.zones.size;
  }
}


// ------------------------------------------------------------------------------------------------
// Online signing (dynamic update, journal, signature refresh): module-level parts.
// ------------------------------------------------------------------------------------------------

/** Key rollover: a failed run is tried again after this long; the timer wakes at least this often. */
const ROLLOVER_RETRY_MS = 5 * 60_000;
const ROLLOVER_MAX_SLEEP_MS = 60_000;
const ROLLOVER_RECHECK_MS = 3600_000;

/** Records one UPDATE may hold unless the zone's `update.maxRecords` says otherwise. */
const DEFAULT_MAX_UPDATE_RECORDS = 2000;

/** Compact a zone's journal into its snapshot after this many changes, and at least hourly when it has any. */
const JOURNAL_COMPACT_EVERY = 200;
const JOURNAL_COMPACT_INTERVAL_MS = 3600_000;
/** How often the refresh timer looks for signatures that fall due. */
const DEFAULT_REFRESH_INTERVAL_MS = 5 * 60_000;
/** Signatures due but not urgent that one refresh pass remakes per zone (urgent ones are always remade). */
const REFRESH_BATCH = 2000;

interface OnlineState {
  readonly journals: Map<string, ZoneJournal>;
  readonly access: {
    /** Every configured TSIG key, by name. */
    readonly keyring: Map<string, TsigKey>;
    /** Per zone: the key names allowed to update it, the client prefixes (empty: any), the most records one UPDATE may hold. */
    readonly perZone: Map<string, { readonly keys: Set<string>; readonly allow: readonly CidrPrefix[]; readonly maxRecords: number }>;
  };
  /** When a zone's next signature falls due, computed for the served data it was computed from. */
  readonly nextRefresh: Map<string, { readonly served: ZoneData; readonly at: number }>;
  timer: NodeJS.Timeout | undefined;
  stopped: boolean;
  lastCompaction: number;
}

/** A record as `zone record add|remove` gives it: presentation text, names relative to the zone unless they end in a dot. */
export interface RecordRequest {
  readonly name: string;
  readonly type: string;
  /** Required to add; to remove, absent means the whole RRset. */
  readonly rdata?: string;
  readonly ttl?: number;
}

export interface RecordChangeSummary {
  readonly zone: string;
  readonly serial: number;
  /** False when the record was already there (add). */
  readonly changed: boolean;
  readonly removed: readonly string[];
  readonly added: readonly string[];
  /** Signatures made for the change. */
  readonly signatures: number;
}

function tsigErrorName(error: number): string {
  return error === TsigError.BADSIG ? 'BADSIG' : error === TsigError.BADKEY ? 'BADKEY' : error === TsigError.BADTIME ? 'BADTIME' : rcodeToString(error);
}

/** FORMERR to an UPDATE that does not parse: its ID and opcode, no sections (RFC 2136 §3.8 allows empty sections). */
function updateFormerr(wire: Uint8Array): Uint8Array {
  const out = new Uint8Array(12);
  out[0] = wire[0] ?? 0;
  out[1] = wire[1] ?? 0;
  out[2] = 0x80 | (Opcode.UPDATE << 3);
  out[3] = Rcode.FORMERR;
  return out;
}

/** `www` is relative to the zone; `www.lab.example` (inside the zone) and `www.lab.example.` are absolute; `@` is the apex. */
function recordOwner(text: string, origin: Name): Name {
  const t = text.trim();
  if (t === '@') return origin;
  if (t.endsWith('.')) return Name.parse(t);
  const absolute = Name.parse(`${t}.`);
  return absolute.isSubdomainOf(origin) ? absolute : Name.parse(t, origin);
}

/** A `zone record` request as the update RR that does it (RFC 2136 §2.5: class IN adds, NONE deletes a record, ANY an RRset). */
function parseRecordRequest(entry: ZoneEntry, r: RecordRequest, adding: boolean): ResourceRecord {
  const origin = entry.name;
  const bad = (field: string, message: string) => new ZoneError('bad-record', `${field}: ${message}`);
  let name: Name;
  try {
    name = recordOwner(r.name, origin).lowercase();
  } catch (error) {
    throw bad('name', `"${r.name}" is not a domain name: ${(error as Error).message}`);
  }
  if (!name.isSubdomainOf(origin)) throw new ZoneError('not-in-zone', `${name.toString()} is not in zone ${origin.toString()}`);
  const type = tryParseType(r.type);
  if (type === undefined || isMetaType(type)) throw bad('type', `"${r.type}" is not a record type`);
  if (isSignerType(type)) throw bad('type', `${typeToString(type)} records are made by the Key Master when it signs the zone`);
  if (type === RRType.SOA) throw bad('type', 'the SOA is not edited record by record; its serial goes up by itself with every change');
  const rdataText = r.rdata?.trim() ?? '';
  if (!adding && rdataText === '') return { name, type, class: RRClass.ANY, ttl: 0, rdata: new Uint8Array(0) };
  if (rdataText === '') throw bad('rdata', `RDATA is needed to add a ${typeToString(type)} record`);
  let rdata: Uint8Array;
  try {
    rdata = rdataFromText(type, tokenizeRdata(rdataText), origin);
  } catch (error) {
    throw bad('rdata', `${typeToString(type)} "${rdataText}": ${(error as Error).message}`);
  }
  if (!adding) return { name, type, class: RRClass.NONE, ttl: 0, rdata };
  const ttl = r.ttl ?? entry.unsigned.rrset(name, type)?.records[0]?.ttl ?? entry.unsigned.soa.ttl;
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > 0x7fffffff) throw bad('ttl', `must be 0..2147483647 seconds, got ${ttl}`);
  return { name, type, class: entry.unsigned.zoneClass, ttl, rdata };
}
