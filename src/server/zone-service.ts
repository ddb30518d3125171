import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import { answerFromZone } from '../authority/authoritative-answer.js';
import { KeyMaster, type ManagedKey, isPublished, keyMasterChangeRefusal, parentFilesText, writeParentFiles, zoneSigningKeys } from '../authority/key-master.js';
import { KeyStore, type KeyMetadata } from '../authority/key-store.js';
import { DEFAULT_SIGNING_POLICY, type SigningPolicy, normalizeSigningPolicy, parseDsDigest, parseSigningAlgorithm } from '../authority/signing-options.js';
import { ZoneData } from '../authority/zone-db.js';
import { signZoneInParallel } from '../authority/parallel-signer.js';
import { type PersistedZone, ZoneStateStore } from '../authority/zone-state-store.js';
import { axfrMessages, transferRefusal } from '../authority/zone-transfer.js';
import type { Clock } from '../clock.js';
import { type CidrPrefix, cidrContains, parseCidr } from '../config/cidr.js';
import type { KeymasterConfig, SigningOptions, ZoneConfig } from '../config/schema.js';
import { EdeCode } from '../wire/edns.js';
import { type Message, Rcode } from '../wire/message.js';
import { Name } from '../wire/name.js';
import { RRClass, RRType } from '../wire/rr-type.js';
import { readZoneFile } from '../wire/zone-file-reader.js';
import { logDnssecEvent, logEvent, type Logger } from './logger.js';
import type { ClientInfo } from './query-handler.js';
import type { LocalZoneResponse, LocalZones } from './query-pipeline.js';

/** A zone request that cannot be done; `code` and `status` map onto the control API's errors. */
export class ZoneServiceError extends Error {
  override readonly name = 'ZoneServiceError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** How `zone sign` chooses its parameters: the wizard's three choices. */
export type SignRequest =
  | { readonly mode: 'defaults' }
  | { readonly mode: 'like'; readonly zone: string }
  | { readonly mode: 'options'; readonly options: Partial<SigningPolicy> };

interface ZoneEntry {
  readonly name: Name;
  readonly file: string;
  readonly source: 'config' | 'added';
  readonly allowTransfer: readonly CidrPrefix[];
  /** The zone as its file says, without anything DNSSEC adds. */
  unsigned: ZoneData;
  /** What is served: `unsigned`, or the signed zone. */
  served: ZoneData;
  policy: SigningPolicy | undefined;
  keys: ManagedKey[];
  signedAt: number | undefined;
  keyMaster: string;
  /** From `zone sign`/`unsign`; undefined: the config's `signing` decides. */
  signedByCommand: boolean | undefined;
}

export interface ZoneSummary {
  readonly name: string;
  readonly file: string;
  readonly source: 'config' | 'added';
  readonly serial: number;
  readonly names: number;
  readonly records: number;
  readonly signed: boolean;
  readonly denial: 'nsec' | 'nsec3' | null;
  readonly keyMaster: string;
  readonly allowTransfer: readonly string[];
  readonly signedAt: string | null;
}

/** A key as `zone keys` shows it (Get-DnsServerSigningKey); never the private key. */
export interface ZoneKeyView {
  readonly keyId: string;
  readonly keyType: 'KeySigningKey' | 'ZoneSigningKey';
  readonly role: 'ksk' | 'zsk';
  readonly keyTag: number;
  readonly algorithm: number;
  readonly keyLength: number;
  readonly state: string;
  readonly created: string;
  readonly activated: string | null;
  readonly retired: string | null;
  readonly nextRolloverTime: string | null;
  readonly rolloverType: 'DoubleSignature' | 'PrePublish';
}

export interface ZoneServiceOptions {
  readonly config: Pick<KeymasterConfig, 'stateDir' | 'zones' | 'dnssec'>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** This server's name, as `zone key-master` shows it. Default: the host name. */
  readonly serverName?: string;
  /** Told when a zone is added, changed or removed (the pipeline flushes its caches for it). */
  readonly onZoneChanged?: (zone: Name) => void;
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

function zoneName(text: string): Name {
  try {
    return Name.parse(text.endsWith('.') ? text : `${text}.`).lowercase();
  } catch (error) {
    throw new ZoneServiceError(400, 'bad-zone-name', `"${text}" is not a zone name: ${(error as Error).message}`);
  }
}

async function loadZoneFile(name: Name, file: string): Promise<ZoneData> {
  try {
    const parsed = await readZoneFile(file, name);
    return ZoneData.fromRecords(name, parsed.records, parsed.sources);
  } catch (error) {
    throw new ZoneServiceError(400, 'bad-zone-file', (error as Error).message);
  }
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

  private constructor(private readonly o: ZoneServiceOptions) {
    this.store = new KeyStore(o.config.stateDir);
    this.keyMaster = new KeyMaster(this.store, o.clock);
    this.state = new ZoneStateStore(o.config.stateDir);
    this.serverName = o.serverName ?? hostname();
    this.dnssecEnabled = o.config.dnssec.enable;
  }

  /**
   * Loads every zone and signs those that are signed, with the keys already in the store (a
   * restart generates no keys). A bad config zone file stops the start with its file and
   * line; a zone added by command whose file went bad is logged and left out.
   */
  static async start(o: ZoneServiceOptions): Promise<ZoneService> {
    const service = new ZoneService(o);
    const persisted = await service.state.load();
    service.persisted = new Map(persisted.map((z) => [z.name, z]));
    for (const zc of o.config.zones) await service.loadConfigZone(zc);
    for (const p of persisted) {
      if (!p.file || service.zones.has(p.name)) continue;
      try {
        await service.loadAddedZone(p);
      } catch (error) {
        logEvent(o.logger, 'zone.load-failed', { zone: p.name, file: p.file, error: (error as Error).message }, { level: 'error', msg: 'zone not loaded' });
      }
    }
    return service;
  }

  private async loadConfigZone(zc: ZoneConfig): Promise<void> {
    const name = zoneName(zc.name);
    const data = await loadZoneFile(name, zc.file).catch((error: Error) => {
      throw new Error(`zone ${zc.name}: ${error.message}`);
    });
    const p = this.persisted.get(name.toString());
    const entry = this.newEntry(name, zc.file, 'config', zc.allowTransfer, data, p);
    const sign = p?.signed ?? zc.signing !== undefined;
    const policy = p?.policy ? normalizeSigningPolicy(p.policy) : zc.signing ? policyFromConfig(zc.signing) : undefined;
    await this.install(entry, sign ? policy ?? DEFAULT_SIGNING_POLICY : undefined, 'start');
  }

  private async loadAddedZone(p: PersistedZone): Promise<void> {
    const name = zoneName(p.name);
    const data = await loadZoneFile(name, p.file!);
    const allow = (p.allowTransfer ?? []).map(parseCidr);
    const entry = this.newEntry(name, p.file!, 'added', allow, data, p);
    await this.install(entry, p.signed ? normalizeSigningPolicy(p.policy ?? DEFAULT_SIGNING_POLICY) : undefined, 'start');
  }

  private newEntry(name: Name, file: string, source: 'config' | 'added', allow: readonly CidrPrefix[], data: ZoneData, p: PersistedZone | undefined): ZoneEntry {
    return {
      name,
      file,
      source,
      allowTransfer: allow,
      unsigned: data,
      served: data,
      policy: undefined,
      keys: [],
      signedAt: undefined,
      keyMaster: p?.keyMaster ?? this.serverName,
      signedByCommand: p?.signed,
    };
  }

  /** Signs (or not) and swaps the zone in. Throws without changing what is served. */
  private async install(entry: ZoneEntry, policy: SigningPolicy | undefined, why: string): Promise<void> {
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
    this.zones.set(entry.name.toString(), entry);
    logEvent(this.o.logger, 'zone.loaded', { zone: entry.name.toString(), file: entry.file, serial: entry.served.serial, names: entry.served.nameCount, signed: policy !== undefined, reason: why });
    this.o.onZoneChanged?.(entry.name);
  }

  private async signEntry(entry: ZoneEntry, policy: SigningPolicy, why: string): Promise<{ data: ZoneData; keys: ManagedKey[] }> {
    const zone = entry.name.toString();
    const refusal = keyMasterChangeRefusal(zone, entry.keyMaster, this.serverName, true);
    if (refusal) throw new ZoneServiceError(409, 'not-key-master', `this server is not the Key Master of ${zone} (${entry.keyMaster}); only the Key Master signs`);
    const { logger } = this.o;
    logDnssecEvent(logger, 'zone.signing-started', { zone, reason: why, algorithm: policy.algorithm, denial: policy.denial, names: entry.unsigned.nameCount }, { msg: `signing ${zone}` });
    const started = Date.now();
    try {
      const change = await this.keyMaster.keysFor(entry.name, policy);
      if (change.generated.length > 0)
        logDnssecEvent(logger, 'zone.keys-generated', { zone, keys: change.generated.map(keyLogFields) }, { msg: `generated ${change.generated.length} keys for ${zone}` });
      for (const m of change.retired) logDnssecEvent(logger, 'zone.key-retired', { zone, ...keyLogFields(m) });
      const now = Math.floor(this.o.clock.now() / 1000);
      const inception = now - policy.signatureInception;
      const salt = policy.denial === 'nsec3' ? this.saltFor(entry, policy) : new Uint8Array(0);
      const records = await signZoneInParallel(entry.unsigned.unsignedRecords(), {
        zone: entry.name,
        keys: zoneSigningKeys(entry.name, change.keys),
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
      const data = ZoneData.fromRecords(entry.name, records);
      const files = await writeParentFiles(this.o.config.stateDir, entry.name, parentFilesText(entry.name, change.keys, policy));
      logDnssecEvent(
        logger,
        'zone.signed',
        { zone, serial: data.serial, records: data.recordCount, ms: Date.now() - started, keys: change.keys.filter((k) => isPublished(k.metadata.state)).map((k) => keyLogFields(k.metadata)), dsset: files.dsset, keyset: files.keyset },
        { msg: `zone ${zone} signed` },
      );
      return { data, keys: change.keys };
    } catch (error) {
      logDnssecEvent(logger, 'zone.signing-failed', { zone, error: (error as Error).message }, { msg: `signing ${zone} failed; nothing changed` });
      if (error instanceof ZoneServiceError) throw error;
      throw new ZoneServiceError(500, 'signing-failed', `signing ${zone} failed, nothing changed: ${(error as Error).message}`);
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
    if (!entry) throw new ZoneServiceError(404, 'no-such-zone', `no local zone ${name.toString()}`);
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

  answer(request: Message, client: ClientInfo): LocalZoneResponse | undefined {
    const q = request.question[0];
    if (!q || q.class !== RRClass.IN || this.zones.size === 0) return undefined;
    const entry = this.findZone(q.name);
    if (!entry) return undefined;
    if (q.type === RRType.AXFR || q.type === RRType.IXFR) return this.transfer(entry, request, client);
    const dnssec = this.dnssecEnabled && (request.edns?.dnssecOk ?? false);
    const a = answerFromZone(entry.served, q.name, q.type, dnssec);
    return { kind: 'answer', ...a };
  }

  private transfer(entry: ZoneEntry, request: Message, client: ClientInfo): LocalZoneResponse {
    const q = request.question[0]!;
    const zone = entry.name.toString();
    const refuse = (rcode: number, code: number, text: string): LocalZoneResponse => ({ kind: 'answer', rcode, aa: false, answer: [], authority: [], additional: [], ede: [[code, text]] });
    if (!q.name.equals(entry.name)) return refuse(Rcode.NOTAUTH, EdeCode.NOT_AUTHORITATIVE, `${q.name.toString()} is not a zone apex here`);
    if (!entry.allowTransfer.some((p) => cidrContains(p, client.address))) {
      logEvent(this.o.logger, 'zone.transfer-refused', { zone, client: client.address }, { level: 'warn' });
      return refuse(Rcode.REFUSED, EdeCode.PROHIBITED, `zone transfer of ${zone} is not allowed for ${client.address}`);
    }
    if (client.transport !== 'tcp') {
      // RFC 5936 §4.2: AXFR only over TCP. RFC 1995 §2: an IXFR over UDP that does not fit gets the SOA alone.
      if (q.type === RRType.IXFR) return { kind: 'answer', rcode: Rcode.NOERROR, aa: true, answer: [entry.served.soa], authority: [], additional: [] };
      return refuse(Rcode.REFUSED, EdeCode.NOT_SUPPORTED, 'AXFR is only served over TCP');
    }
    const messages = axfrMessages(entry.served, request);
    if (request.edns) for (const m of messages) m.edns = { udpSize: 1232, version: 0, dnssecOk: request.edns.dnssecOk, zFlags: 0, options: [] };
    logEvent(this.o.logger, 'zone.transferred', { zone, client: client.address, serial: entry.served.serial, messages: messages.length, type: q.type === RRType.AXFR ? 'AXFR' : 'IXFR' });
    return { kind: 'transfer', messages };
  }

  // ------------------------------------------------------------------------------------------
  // Management (control API)
  // ------------------------------------------------------------------------------------------

  list(): ZoneSummary[] {
    return [...this.zones.values()].sort((a, b) => a.name.compareCanonical(b.name)).map((e) => this.summary(e));
  }

  show(zone: string): ZoneSummary & { policy: SigningPolicy | null } {
    const e = this.entry(zone);
    return { ...this.summary(e), policy: e.policy ?? null };
  }

  private summary(e: ZoneEntry): ZoneSummary {
    return {
      name: e.name.toString(),
      file: e.file,
      source: e.source,
      serial: e.served.serial,
      names: e.served.nameCount,
      records: e.served.recordCount,
      signed: e.policy !== undefined,
      denial: e.policy?.denial ?? null,
      keyMaster: e.keyMaster,
      allowTransfer: e.allowTransfer.map((a) => a.text),
      signedAt: e.signedAt === undefined ? null : new Date(e.signedAt).toISOString(),
    };
  }

  add(zone: string, file: string, allowTransfer: readonly string[] = []): Promise<ZoneSummary> {
    return this.serialize(async () => {
      const name = zoneName(zone);
      if (this.zones.has(name.toString())) throw new ZoneServiceError(409, 'zone-exists', `zone ${name.toString()} is already hosted here`);
      const allow = allowTransfer.map((text) => {
        try {
          return parseCidr(text);
        } catch (error) {
          throw new ZoneServiceError(400, 'bad-prefix', `allowTransfer "${text}": ${(error as Error).message}`);
        }
      });
      const path = resolvePath(file);
      const data = await loadZoneFile(name, path);
      const entry = this.newEntry(name, path, 'added', allow, data, undefined);
      entry.keyMaster = this.serverName;
      await this.persist(entry, name.toString());
      await this.install(entry, undefined, 'added');
      return this.summary(entry);
    });
  }

  remove(zone: string): Promise<{ name: string }> {
    return this.serialize(async () => {
      const e = this.entry(zone);
      if (e.source === 'config') throw new ZoneServiceError(409, 'config-zone', `zone ${e.name.toString()} comes from the config file; remove it there`);
      await this.persist(undefined, e.name.toString(), true);
      this.zones.delete(e.name.toString());
      logEvent(this.o.logger, 'zone.removed', { zone: e.name.toString() });
      this.o.onZoneChanged?.(e.name);
      return { name: e.name.toString() };
    });
  }

  /** The policy a sign request asks for: defaults, another zone's, or defaults with options over them. */
  resolvePolicy(request: SignRequest): SigningPolicy {
    if (request.mode === 'defaults') return normalizeSigningPolicy(DEFAULT_SIGNING_POLICY);
    if (request.mode === 'like') {
      const other = this.entry(request.zone);
      if (!other.policy) throw new ZoneServiceError(409, 'not-signed', `zone ${other.name.toString()} is not signed, so it has no parameters to copy`);
      return other.policy;
    }
    const options = { ...request.options };
    if (options.algorithm !== undefined) options.algorithm = parseSigningAlgorithm(options.algorithm);
    return normalizeSigningPolicy({ ...DEFAULT_SIGNING_POLICY, ...options });
  }

  sign(zone: string, request: SignRequest): Promise<ZoneSummary & { policy: SigningPolicy; keys: ZoneKeyView[] }> {
    return this.serialize(async () => {
      const e = this.entry(zone);
      let policy: SigningPolicy;
      try {
        policy = this.resolvePolicy(request);
      } catch (error) {
        if (error instanceof ZoneServiceError) throw error;
        throw new ZoneServiceError(400, 'bad-signing-options', (error as Error).message);
      }
      const next: ZoneEntry = { ...e, signedByCommand: true };
      await this.install(next, policy, 'zone sign');
      try {
        await this.persist(next, e.name.toString());
      } catch (error) {
        this.zones.set(e.name.toString(), e); // serve what was served before
        this.o.onZoneChanged?.(e.name);
        throw new ZoneServiceError(500, 'state-not-written', `zone ${e.name.toString()} not signed: ${(error as Error).message}`);
      }
      return { ...this.summary(next), policy, keys: sortKeys(next.keys).map(keyView) };
    });
  }

  unsign(zone: string): Promise<ZoneSummary> {
    return this.serialize(async () => {
      const e = this.entry(zone);
      if (!e.policy) throw new ZoneServiceError(409, 'not-signed', `zone ${e.name.toString()} is not signed`);
      const next: ZoneEntry = { ...e, signedByCommand: false };
      await this.persist({ ...next, policy: undefined }, e.name.toString());
      await this.install(next, undefined, 'zone unsign');
      logDnssecEvent(this.o.logger, 'zone.unsigned', { zone: e.name.toString(), serial: next.served.serial }, { msg: `zone ${e.name.toString()} unsigned` });
      return this.summary(next);
    });
  }

  async keys(zone: string): Promise<{ zone: string; keys: ZoneKeyView[] }> {
    const e = this.entry(zone);
    const keys = await this.keyMaster.keys(e.name);
    return { zone: e.name.toString(), keys: sortKeys(keys).map(keyView) };
  }

  async exportKeys(zone: string, digest?: string): Promise<{ zone: string; dsset: string; keyset: string }> {
    const e = this.entry(zone);
    if (!e.policy) throw new ZoneServiceError(409, 'not-signed', `zone ${e.name.toString()} is not signed: it has no keys for the parent`);
    let digestType: number;
    try {
      digestType = digest === undefined ? e.policy.dsDigest : parseDsDigest(digest);
    } catch (error) {
      throw new ZoneServiceError(400, 'bad-digest', (error as Error).message);
    }
    const files = parentFilesText(e.name, e.keys, e.policy, digestType);
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
      if (refusal) throw new ZoneServiceError(409, 'key-master-fixed', refusal);
      return this.keyMasterOf(zone);
    });
  }

  get size(): number {
    return this.zones.size;
  }
}

const STATE_ORDER = ['active', 'standby', 'next', 'retired'];

/** KSKs before ZSKs, active before standby/next before retired, then oldest first: the order Get-DnsServerSigningKey reads best in. */
function sortKeys<K extends { metadata: KeyMetadata }>(keys: readonly K[]): K[] {
  return [...keys].sort(
    (a, b) =>
      (a.metadata.role === b.metadata.role ? 0 : a.metadata.role === 'ksk' ? -1 : 1) ||
      STATE_ORDER.indexOf(a.metadata.state) - STATE_ORDER.indexOf(b.metadata.state) ||
      a.metadata.created.localeCompare(b.metadata.created),
  );
}

function keyLogFields(m: KeyMetadata): Record<string, unknown> {
  return { keyId: m.id, role: m.role, keyTag: m.keyTag, algorithm: m.algorithm, state: m.state };
}

function keyView(k: ManagedKey | { metadata: KeyMetadata }): ZoneKeyView {
  const m = k.metadata;
  const ksk = m.role === 'ksk';
  return {
    keyId: m.id,
    keyType: ksk ? 'KeySigningKey' : 'ZoneSigningKey',
    role: m.role,
    keyTag: m.keyTag,
    algorithm: m.algorithm,
    keyLength: m.bits,
    state: m.state[0]!.toUpperCase() + m.state.slice(1),
    created: m.created,
    activated: m.activated ?? null,
    retired: m.retired ?? null,
    nextRolloverTime: m.nextRollover ?? null,
    rolloverType: ksk ? 'DoubleSignature' : 'PrePublish',
  };
}
