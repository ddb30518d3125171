import type { Clock } from '../clock.js';
import { logEvent, type Logger } from '../logging/logger.js';
import type { JobHandle, Scheduler } from '../scheduler.js';
import type { DocumentStore } from '../store/document-store.js';
import { defaultEdns } from '../wire/edns.js';
import { encodeMessage } from '../wire/message-encoder.js';
import { type Message, Opcode, Rcode, type ResourceRecord, newMessage } from '../wire/message.js';
import { Name } from '../wire/name.js';
import { decodeRdata } from '../wire/rdata-codec.js';
import { RRType } from '../wire/rr-type.js';
import { type AddedSecondary, SecondaryStore } from './secondary-store.js';
import { serialGreater } from './soa-serial.js';
import { type PrimaryAddress, TransferError, fetchTransfer } from './transfer-client.js';
import { applyVersions, TransferFormatError, type TransferOutcome } from './transfer-response.js';
import type { TransferSources } from './transfer-source.js';
import { extractTsig, signTsigResponse, type TsigKey, type TsigVerification, verifyTsig } from './tsig.js';
import { keyFinder } from './tsig-keyring.js';
import { ZoneData } from './zone-db.js';
import { plainRefusalLog, type RefusalLog, type RefusalLogFactory } from './refusal-log.js';
import { parseCidr } from '../config/cidr.js';
import type { ZoneConfig } from '../config/schema.js';
import { DEFAULT_PRIMARY_TRANSFER, type PrimaryTransfers, transferConfigOf } from './primary-transfers.js';

/** A secondary zone as configured (`zones[].primary`) or added (`zone add --primary`). */
export interface SecondaryZoneConfig {
  readonly name: Name;
  readonly primaries: readonly PrimaryAddress[];
  /** Key name (in the keyring) for transfers and for the NOTIFYs the primaries send. */
  readonly tsig?: string;
  readonly source: 'config' | 'added';
  /** Added zones: the CIDR prefixes that may transfer the copy on (config zones use `allowTransfer`). */
  readonly allowTransfer?: readonly string[];
}

export type SecondaryState = 'loading' | 'ok' | 'retrying' | 'expired';

interface SecondaryZone {
  readonly config: SecondaryZoneConfig;
  data: ZoneData | undefined;
  lastRefresh: number | undefined;
  expiresAt: number | undefined;
  nextCheck: number;
  state: SecondaryState;
  lastError: string | undefined;
  lastTransfer: string | undefined;
  running: Promise<void> | undefined;
  again: boolean;
  removed: boolean;
}

/** `zone list` / `zone show` of a secondary zone. */
export interface SecondaryView {
  readonly name: string;
  readonly type: 'secondary';
  readonly source: 'config' | 'added';
  readonly primaries: readonly string[];
  readonly tsig: string | null;
  readonly allowTransfer: readonly string[];
  readonly serial: number | null;
  readonly state: SecondaryState;
  readonly lastRefresh: string | null;
  readonly expires: string | null;
  readonly nextCheck: string;
  readonly lastTransfer: string | null;
  readonly lastError: string | null;
  readonly names: number;
  readonly records: number;
  readonly signed: boolean;
}

export interface SecondaryZonesOptions {
  readonly stateDir: string;
  readonly keyring: ReadonlyMap<string, TsigKey>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly sources?: TransferSources;
  /** Told when a zone's served copy changes (caches flush). */
  readonly onZoneChanged?: (zone: Name) => void;
  /** Where the added zones, the copies and their times are kept (store/document-store.ts). */
  readonly documents: DocumentStore;
  /** Runs the checks when they fall due (src/scheduler.ts); in tests, `mode: 'manual'` and `tick()`. */
  readonly scheduler: Scheduler;
  readonly transferTimeoutMs?: number;
  /** The primary side, which answers AXFR/IXFR of the copies on (a chain of secondaries). */
  readonly transfers?: PrimaryTransfers;
  /** How refused NOTIFYs are logged (throttled by the server). */
  readonly refusals?: RefusalLogFactory;
}

/** Bounds on the SOA timers a primary sets (BIND's min/max-refresh-time and min/max-retry-time are alike). */
const REFRESH_BOUNDS = [60, 28 * 86400] as const;
const RETRY_BOUNDS = [15, 86400] as const;
/** How long `zone add --primary` waits for the first transfer before answering. */
const ADD_WAIT_MS = 5000;
/** A check asked for by NOTIFYs during the one before waits this long. */
const AGAIN_DELAY_MS = 1000;
/** The check job sleeps at most this long with nothing due. */
const IDLE_WAKE_MS = 3600_000;
/** Before the first copy: how soon to try again. */
const INITIAL_RETRY_S = 30;

function clamp(v: number, [lo, hi]: readonly [number, number]): number {
  return Math.min(hi, Math.max(lo, v));
}

function soaTimers(soa: ResourceRecord): { refresh: number; retry: number; expire: number } {
  const f = decodeRdata(RRType.SOA, soa.rdata);
  const refresh = clamp(f['refresh'] as number, REFRESH_BOUNDS);
  const retry = clamp(f['retry'] as number, RETRY_BOUNDS);
  return { refresh, retry, expire: Math.max(f['expire'] as number, refresh + retry) };
}

/**
 * Keymaster as a secondary (RFC 1034 §4.3.5, RFC 1995, RFC 1996): each zone's copy is checked at
 * the SOA's refresh interval (retry after a failure) on the injectable clock, and at once when
 * one of its primaries sends a NOTIFY (TSIG-checked when the zone has a key); IXFR first, AXFR
 * when there is no copy or the increments do not apply; each new copy is checked as a zone,
 * written to the state dir atomically and only then served, as transferred (DNSSEC records
 * included, never re-signed). A copy not refreshed for the SOA's expire time is no longer
 * served: SERVFAIL, as RFC 1035 wants.
 */
export class SecondaryZones {
  private readonly zones = new Map<string, SecondaryZone>();
  private readonly store: SecondaryStore;
  private job: JobHandle | undefined;
  private stopped = false;
  private readonly refused: RefusalLog;

  private constructor(private readonly o: SecondaryZonesOptions) {
    this.store = new SecondaryStore(o.stateDir, o.documents, (from, to) => logEvent(o.logger, 'store.migrated', { from, to }, { msg: 'secondary zone state of an earlier release moved into the store' }));
    this.refused = (o.refusals ?? plainRefusalLog(o.logger))('zone.notify-refused');
  }

  /** The config's secondary zones (those with `primary`) and the added ones, with their ACLs for transfers on. */
  static startFromConfig(o: SecondaryZonesOptions, zones: readonly ZoneConfig[]): Promise<SecondaryZones> {
    const configured = zones.filter((zc) => zc.primary);
    for (const zc of configured) o.transfers?.configure(Name.parse(zc.name).lowercase(), transferConfigOf(zc), 0);
    return SecondaryZones.start(o, configured.map((zc) => ({ name: Name.parse(zc.name).lowercase(), primaries: zc.primary!, ...(zc.tsig ? { tsig: zc.tsig } : {}), source: 'config' as const })));
  }

  /** Loads every stored copy (a restart serves them at once) and schedules a check of each now. */
  static async start(o: SecondaryZonesOptions, configured: readonly SecondaryZoneConfig[]): Promise<SecondaryZones> {
    const zones = new SecondaryZones(o);
    const added = await zones.store.loadAdded();
    for (const c of configured) await zones.load(c);
    for (const a of added) if (!zones.zones.has(Name.parse(a.name).key)) await zones.load(zones.fromAdded(a));
    zones.job = o.scheduler.schedule('zone.secondary-checks', o.clock.now(), async () => {
      await zones.tick();
      return zones.wakeAt();
    });
    void zones.tick();
    return zones;
  }

  /** When the job is next needed: the soonest check due or copy expiring; at the latest an hour on (a zone added meanwhile wakes it). */
  private wakeAt(): number {
    let at = this.o.clock.now() + IDLE_WAKE_MS;
    for (const z of this.zones.values()) {
      if (!z.running) at = Math.min(at, z.nextCheck);
      if (z.state !== 'expired' && z.expiresAt !== undefined) at = Math.min(at, z.expiresAt);
    }
    return at;
  }

  /** A check's time changed outside the job (a check ended, a NOTIFY came, a zone was added). */
  private rearm(): void {
    if (!this.stopped) this.job?.reschedule(this.wakeAt());
  }

  private fromAdded(a: AddedSecondary): SecondaryZoneConfig {
    this.o.transfers?.configure(Name.parse(a.name).lowercase(), { ...DEFAULT_PRIMARY_TRANSFER, allowTransfer: (a.allowTransfer ?? []).map(parseCidr) }, 0);
    return { name: Name.parse(a.name).lowercase(), primaries: a.primaries.map(parsePrimary), ...(a.tsig ? { tsig: a.tsig } : {}), source: 'added', allowTransfer: a.allowTransfer ?? [] };
  }

  private async load(config: SecondaryZoneConfig): Promise<SecondaryZone> {
    const now = this.o.clock.now();
    const zone: SecondaryZone = { config, data: undefined, lastRefresh: undefined, expiresAt: undefined, nextCheck: now, state: 'loading', lastError: undefined, lastTransfer: undefined, running: undefined, again: false, removed: false };
    try {
      const stored = await this.store.load(config.name);
      if (stored) {
        zone.data = ZoneData.fromRecords(config.name, stored.records);
        zone.lastRefresh = stored.times?.lastRefresh;
        // No times: expired unless a check succeeds (we cannot know how old the copy is).
        zone.expiresAt = stored.times?.expiresAt ?? now;
        zone.state = zone.expiresAt > now ? 'ok' : 'expired';
        logEvent(this.o.logger, 'zone.secondary-loaded', { zone: config.name.toString(), serial: zone.data.serial, expires: new Date(zone.expiresAt).toISOString(), state: zone.state });
      }
    } catch (error) {
      logEvent(this.o.logger, 'zone.secondary-load-failed', { zone: config.name.toString(), error: (error as Error).message }, { level: 'error', msg: 'stored copy not usable: transferred again' });
    }
    this.zones.set(config.name.key, zone);
    this.rearm();
    return zone;
  }

  has(name: Name): boolean {
    return this.zones.has(name.lowercase().key);
  }

  /** The secondary zone that holds `name` (the longest match), if any. */
  find(name: Name): Name | undefined {
    for (let n = name; ; n = n.parent()) {
      const z = this.zones.get(n.lowercase().key);
      if (z) return z.config.name;
      if (n.isRoot) return undefined;
    }
  }

  /** The copy served now, or undefined (none yet, or expired). */
  served(name: Name): ZoneData | undefined {
    const z = this.zones.get(name.key);
    if (!z?.data || z.expiresAt === undefined || z.expiresAt <= this.o.clock.now()) return undefined;
    return z.data;
  }

  /** Runs the checks that are due (the scheduler's job calls it; tests call it after moving a ManualClock). */
  async tick(): Promise<void> {
    if (this.stopped) return;
    const now = this.o.clock.now();
    const runs: Promise<void>[] = [];
    for (const z of this.zones.values()) {
      if (z.data && z.state !== 'expired' && z.expiresAt !== undefined && z.expiresAt <= now) {
        z.state = 'expired';
        logEvent(this.o.logger, 'zone.secondary-expired', { zone: z.config.name.toString(), serial: z.data.serial, lastRefresh: z.lastRefresh === undefined ? null : new Date(z.lastRefresh).toISOString() }, { level: 'error', msg: 'no primary reached within the SOA expire time: the zone answers SERVFAIL' });
        this.o.onZoneChanged?.(z.config.name);
      }
      // A check under way is waited for, not asked again (only a NOTIFY asks for one more).
      if (z.running) runs.push(z.running);
      else if (z.nextCheck <= now) runs.push(this.check(z));
    }
    await Promise.all(runs);
  }

  /** Checks one zone now (one check at a time per zone; a NOTIFY during one makes another follow). */
  private check(z: SecondaryZone): Promise<void> {
    if (z.running) {
      z.again = true;
      return z.running;
    }
    z.running = this.refresh(z).finally(() => {
      z.running = undefined;
      // NOTIFYs during a check ask for one more, a second later at the earliest (the job runs
      // it): a NOTIFY flood, spoofed or not, costs at most about one check a second.
      if (z.again && !z.removed) z.nextCheck = Math.min(z.nextCheck, this.o.clock.now() + AGAIN_DELAY_MS);
      z.again = false;
      this.rearm();
    });
    return z.running;
  }

  private async refresh(z: SecondaryZone): Promise<void> {
    const zone = z.config.name.toString();
    const key = z.config.tsig === undefined ? undefined : this.o.keyring.get(Name.parse(z.config.tsig).lowercase().key);
    const errors: string[] = [];
    for (const primary of z.config.primaries) {
      const where = `${primary.host}#${primary.port}`;
      try {
        // A primary that does not do IXFR (NOTIMP, FORMERR…) is asked for AXFR, as BIND does.
        let outcome = await this.fetch(z, primary, key, z.data?.soa).catch((error: unknown) => {
          if (!z.data || !(error instanceof TransferError) || error.rcode === undefined) throw error;
          logEvent(this.o.logger, 'zone.secondary-ixfr-unusable', { zone, primary: where, error: error.message }, { level: 'warn', msg: 'IXFR refused: AXFR' });
          return this.fetch(z, primary, key, undefined);
        });
        let records: ResourceRecord[] | undefined;
        if (outcome.kind === 'incremental') {
          try {
            records = applyVersions(z.data!.records(), z.data!.serial, outcome.versions);
          } catch (error) {
            if (!(error instanceof TransferFormatError)) throw error;
            logEvent(this.o.logger, 'zone.secondary-ixfr-unusable', { zone, primary: where, error: error.message }, { level: 'warn', msg: 'the increments do not apply to our copy: AXFR' });
            outcome = await this.fetch(z, primary, key, undefined);
          }
        }
        if (outcome.kind === 'full') records = [outcome.soa, ...outcome.records];
        await this.accept(z, outcome, records, where);
        return;
      } catch (error) {
        errors.push(error instanceof TransferError ? error.message : `${where}: ${(error as Error).message}`);
      }
    }
    if (z.removed) return;
    const retry = z.data ? soaTimers(z.data.soa).retry : INITIAL_RETRY_S;
    z.nextCheck = this.o.clock.now() + retry * 1000;
    z.lastError = errors.join('; ');
    if (z.state === 'ok') z.state = 'retrying';
    logEvent(this.o.logger, 'zone.secondary-refresh-failed', { zone, errors, retryIn: retry, expires: z.expiresAt === undefined ? null : new Date(z.expiresAt).toISOString() }, { level: 'warn' });
  }

  private fetch(z: SecondaryZone, primary: PrimaryAddress, key: TsigKey | undefined, have: ResourceRecord | undefined): Promise<TransferOutcome> {
    return fetchTransfer(primary, {
      zone: z.config.name,
      ...(have ? { have } : {}),
      ...(key ? { key } : {}),
      now: () => Math.floor(this.o.clock.now() / 1000),
      ...(this.o.sources ? { sources: this.o.sources } : {}),
      ...(this.o.transferTimeoutMs ? { timeoutMs: this.o.transferTimeoutMs } : {}),
    });
  }

  /** A good answer: the new copy checked as a zone, stored, then served; the timers start again. */
  private async accept(z: SecondaryZone, outcome: TransferOutcome, records: ResourceRecord[] | undefined, where: string): Promise<void> {
    const zone = z.config.name.toString();
    const now = this.o.clock.now();
    if (z.removed) return;
    let data = z.data;
    if (records) {
      const next = ZoneData.fromRecords(z.config.name, records);
      if (data && !serialGreater(next.serial, data.serial) && next.serial !== data.serial) throw new Error(`offered serial ${next.serial}, older than ours (${data.serial})`);
      await this.store.saveCopy(z.config.name, next.records());
      data = next;
    } else if (!data) throw new Error('answered "current" but we have no copy');
    const timers = soaTimers(data.soa);
    const times = { lastRefresh: now, expiresAt: now + timers.expire * 1000 };
    await this.store.saveTimes(z.config.name, times);
    const changed = data !== z.data;
    const wasExpired = z.state === 'expired';
    z.data = data;
    z.lastRefresh = times.lastRefresh;
    z.expiresAt = times.expiresAt;
    z.nextCheck = now + timers.refresh * 1000;
    z.state = 'ok';
    z.lastError = undefined;
    z.lastTransfer = outcome.kind === 'current' ? z.lastTransfer : outcome.kind === 'incremental' ? 'IXFR' : 'AXFR';
    if (changed || wasExpired) this.o.onZoneChanged?.(z.config.name);
    if (changed)
      logEvent(this.o.logger, 'zone.secondary-transferred', { zone, primary: where, serial: data.serial, type: z.lastTransfer, records: data.recordCount, ...(outcome.kind === 'incremental' ? { versions: outcome.versions.length } : {}) });
    else logEvent(this.o.logger, 'zone.secondary-current', { zone, primary: where, serial: data.serial }, { level: 'debug' });
  }

  /**
   * A NOTIFY (RFC 1996 §3.7): accepted only from one of the zone's primaries, and when the zone
   * has a key only signed with it (RFC 8945); answered (signed when the request was), then the
   * zone is checked at once.
   */
  notify(wire: Uint8Array, request: Message, client: { readonly address: string }): Uint8Array {
    const q = request.question[0];
    const now = Math.floor(this.o.clock.now() / 1000);
    let verification: TsigVerification | undefined;
    try {
      const signed = extractTsig(new Uint8Array(wire));
      if (signed) verification = verifyTsig(signed, keyFinder(this.o.keyring), now);
    } catch {
      return this.notifyAnswer(request, Rcode.FORMERR, undefined, now);
    }
    const z = q && q.type === RRType.SOA ? this.zones.get(q.name.lowercase().key) : undefined;
    const refuse = (rcode: number, reason: string) => {
      this.refused({ zone: q?.name.toString() ?? null, client: client.address, reason });
      return this.notifyAnswer(request, rcode, verification, now);
    };
    if (!z) return refuse(Rcode.NOTAUTH, 'not a secondary zone here');
    if (!z.config.primaries.some((p) => p.host === client.address)) return refuse(Rcode.REFUSED, `${client.address} is not a primary of the zone`);
    if (verification && !verification.ok) return refuse(Rcode.NOTAUTH, `TSIG: ${verification.reason}`);
    const wanted = z.config.tsig === undefined ? undefined : Name.parse(z.config.tsig).lowercase();
    if (wanted && !(verification?.ok && verification.key.name.equals(wanted))) return refuse(Rcode.REFUSED, `the NOTIFY is not signed with key ${wanted.toString()}`);
    const soa = request.answer.find((r) => r.type === RRType.SOA);
    logEvent(this.o.logger, 'zone.notify-received', { zone: z.config.name.toString(), client: client.address, serial: soa ? (decodeRdata(RRType.SOA, soa.rdata)['serial'] as number) : null, ours: z.data?.serial ?? null });
    z.nextCheck = this.o.clock.now();
    void this.check(z);
    return this.notifyAnswer(request, Rcode.NOERROR, verification, now);
  }

  private notifyAnswer(request: Message, rcode: number, verification: TsigVerification | undefined, now: number): Uint8Array {
    const m = newMessage({ id: request.id, qr: true, aa: rcode === Rcode.NOERROR, opcode: Opcode.NOTIFY, rcode, question: request.question });
    if (request.edns) m.edns = defaultEdns();
    const bytes = encodeMessage(m);
    return verification ? signTsigResponse(bytes, verification, now) : bytes;
  }

  /** `zone add ZONE --primary ADDR[,ADDR...] [--tsig KEY]`: remembered in the state dir, transferred at once. */
  async add(name: Name, primaries: readonly string[], tsig: string | undefined, allowTransfer: readonly string[] = []): Promise<SecondaryView> {
    if (this.zones.has(name.key)) throw new Error(`zone ${name.toString()} is already a secondary zone here`);
    if (primaries.length === 0) throw new Error('a secondary zone needs at least one primary');
    if (tsig !== undefined && !this.o.keyring.has(Name.parse(tsig).lowercase().key)) throw new Error(`TSIG key ${tsig} is not defined (tsigKeys or an update key)`);
    const config = this.fromAdded({ name: name.toString(), primaries, ...(tsig ? { tsig } : {}), allowTransfer });
    await this.store.saveAdded([...this.addedList(), toAdded(config)]);
    await this.store.delete(name);
    const z = await this.load(config);
    // The first transfer is waited for a little (the command then shows its outcome), not for as
    // long as a silent primary could hold it: it goes on, and `zone show` tells.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.check(z), new Promise((r) => (timer = setTimeout(r, ADD_WAIT_MS)))]);
    clearTimeout(timer);
    return this.view(z);
  }

  async remove(name: Name): Promise<void> {
    const z = this.zones.get(name.key);
    if (!z) return;
    if (z.config.source === 'config') throw new Error(`zone ${name.toString()} comes from the config file; remove it there`);
    z.removed = true;
    this.zones.delete(name.key);
    await this.store.saveAdded(this.addedList());
    await z.running?.catch(() => undefined);
    await this.store.delete(name);
    await this.o.transfers?.remove(name);
    logEvent(this.o.logger, 'zone.removed', { zone: name.toString(), type: 'secondary' });
    this.o.onZoneChanged?.(name);
  }

  private addedList(): AddedSecondary[] {
    return [...this.zones.values()].filter((z) => z.config.source === 'added').map((z) => toAdded(z.config));
  }

  list(): SecondaryView[] {
    return [...this.zones.values()].map((z) => this.view(z));
  }

  show(name: Name): SecondaryView | undefined {
    const z = this.zones.get(name.key);
    return z && this.view(z);
  }

  private view(z: SecondaryZone): SecondaryView {
    const iso = (t: number | undefined) => (t === undefined ? null : new Date(t).toISOString());
    const expired = z.data !== undefined && z.expiresAt !== undefined && z.expiresAt <= this.o.clock.now();
    return {
      name: z.config.name.toString(),
      type: 'secondary',
      source: z.config.source,
      primaries: z.config.primaries.map((p) => `${p.host}#${p.port}`),
      tsig: z.config.tsig ?? null,
      allowTransfer: z.config.allowTransfer ?? [],
      serial: z.data?.serial ?? null,
      state: expired ? 'expired' : z.state,
      lastRefresh: iso(z.lastRefresh),
      expires: iso(z.expiresAt),
      nextCheck: new Date(z.nextCheck).toISOString(),
      lastTransfer: z.lastTransfer ?? null,
      lastError: z.lastError ?? null,
      names: z.data?.nameCount ?? 0,
      records: z.data?.recordCount ?? 0,
      signed: z.data?.isSigned ?? false,
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.job?.cancel();
    await Promise.all([...this.zones.values()].map((z) => z.running?.catch(() => undefined)));
  }
}

function toAdded(c: SecondaryZoneConfig): AddedSecondary {
  return { name: c.name.toString(), primaries: c.primaries.map((p) => (p.host.includes(':') ? `[${p.host}]:${p.port}` : `${p.host}:${p.port}`)), ...(c.tsig ? { tsig: c.tsig } : {}), allowTransfer: c.allowTransfer ?? [] };
}

/** `ADDR`, `ADDR:PORT`, `[V6]:PORT` or a bare IPv6 address; port 53 by default. */
export function parsePrimary(text: string): PrimaryAddress {
  const t = text.trim();
  const bracket = /^\[([^\]]+)\](?::([0-9]+))?$/.exec(t);
  const v4 = /^([0-9.]+)(?::([0-9]+))?$/.exec(t);
  const host = bracket?.[1] ?? v4?.[1] ?? (t.includes(':') ? t : undefined);
  const port = Number(bracket?.[2] ?? v4?.[2] ?? 53);
  if (!host || !/^[0-9a-f:.]+$/i.test(host) || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`"${text}" is not ADDR[:PORT]`);
  return { host, port };
}
