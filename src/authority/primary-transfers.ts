import { cidrContains } from '../config/cidr.js';
import type { TransferAclEntry, ZoneConfig } from '../config/schema.js';
import { EdeCode, defaultEdns, edeOption } from '../wire/edns.js';
import { encodeMessage } from '../wire/message-encoder.js';
import { type Message, Rcode, newMessage, rcodeToString } from '../wire/message.js';
import { Name } from '../wire/name.js';
import { decodeRdata } from '../wire/rdata-codec.js';
import { RRType } from '../wire/rr-type.js';
import { logEvent, type Logger } from '../logging/logger.js';
import type { Clock } from '../clock.js';
import type { DocumentStore } from '../store/document-store.js';
import { IxfrJournal, type JournalBounds } from './ixfr-journal.js';
import { NotifySender, type NotifyTarget } from './notify-sender.js';
import { type SerialScheme, type SerialSchemeConfig, advanceSerial, resolveSerialScheme, soaSerial } from './soa-serial.js';
import { extractTsig, type TsigKey, type TsigVerification, signTsigResponse, TsigFormatError, verifyTsig } from './tsig.js';
import { keyFinder } from './tsig-keyring.js';
import type { TransferSources } from './transfer-source.js';
import { plainRefusalLog, type RefusalLog, type RefusalLogFactory } from './refusal-log.js';
import { signMessageStream } from './tsig-stream.js';
import { type ZoneData } from './zone-db.js';
import { diffZones } from './zone-diff.js';
import { axfrMessages, ixfrMessages, transferMessages } from './zone-transfer.js';

/** A primary zone's transfer settings (config `zones[]`, or a zone added by command). */
export interface PrimaryTransferConfig {
  readonly allowTransfer: readonly TransferAclEntry[];
  readonly notify: readonly (NotifyTarget | 'ns')[];
  /** Name of the TSIG key that signs NOTIFYs. */
  readonly tsig?: string;
  readonly serial: SerialSchemeConfig;
  readonly journal: JournalBounds;
}

interface ZoneTransferState {
  readonly name: Name;
  readonly config: PrimaryTransferConfig;
  readonly journal: IxfrJournal;
  scheme: SerialScheme;
  /** NOTIFY pacing: when the last went out, and the newest version waiting for the next. */
  lastNotify: number;
  waiting: { timer: NodeJS.Timeout; served: ZoneData } | undefined;
}

/** At most one NOTIFY per zone per second (BIND's notify-delay is alike): a burst of changes is told once, with its last serial. */
const NOTIFY_DELAY_MS = 1000;

export interface PrimaryTransfersOptions {
  readonly journalDir: string;
  /** Where the IXFR histories are kept (ixfr-journal.ts). */
  readonly documents: DocumentStore;
  readonly keyring: ReadonlyMap<string, TsigKey>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly notify?: { readonly backoffMs?: readonly number[]; readonly timeoutMs?: number };
  readonly sources?: TransferSources;
  /** How refused transfers are logged (throttled by the server). */
  readonly refusals?: RefusalLogFactory;
}

export interface TransferClient {
  readonly address: string;
  readonly transport: 'udp' | 'tcp';
}

export const DEFAULT_PRIMARY_TRANSFER: PrimaryTransferConfig = { allowTransfer: [], notify: [], serial: 'keep', journal: { maxVersions: 1000, maxSize: 16 * 1024 * 1024 } };

/** A config zone's transfer settings (keys a hand-made config may leave out take their defaults). */
export function transferConfigOf(zc: Partial<Pick<ZoneConfig, 'allowTransfer' | 'notify' | 'serial' | 'journal' | 'tsig'>>): PrimaryTransferConfig {
  const d = DEFAULT_PRIMARY_TRANSFER;
  return { allowTransfer: zc.allowTransfer ?? d.allowTransfer, notify: zc.notify ?? d.notify, serial: zc.serial ?? d.serial, journal: zc.journal ?? d.journal, ...(zc.tsig ? { tsig: zc.tsig } : {}) };
}

/**
 * The primary side of zone transfers for the zones signed and served here: serials moved on in
 * each zone's scheme, the IXFR history of what is served, NOTIFY to the secondaries on every
 * serial change, and AXFR/IXFR answered to clients the zone's ACL admits (by address or TSIG
 * key), every message signed when the request was.
 */
export class PrimaryTransfers {
  private readonly zones = new Map<string, ZoneTransferState>();
  private readonly sender: NotifySender;
  private readonly refused: RefusalLog;

  constructor(private readonly o: PrimaryTransfersOptions) {
    this.refused = (o.refusals ?? plainRefusalLog(o.logger))('zone.transfer-refused');
    this.sender = new NotifySender({ logger: o.logger, now: () => Math.floor(o.clock.now() / 1000), ...o.notify, ...(o.sources ? { sources: o.sources } : {}) });
  }

  /**
   * Starts following a zone as it is now served: its IXFR history is kept only when `tie`
   * (what the served data was built from) is the one the history was made from and it ends at
   * this serial; its secondaries are told.
   */
  async open(name: Name, served: ZoneData, tie: string, keepHistory: boolean): Promise<void> {
    const state = this.zones.get(name.key) ?? this.configure(name, DEFAULT_PRIMARY_TRANSFER, served.serial);
    const journal = state.journal;
    let versions = 0;
    try {
      versions = await journal.open(served.serial, tie, keepHistory, served.isSigned);
    } catch (error) {
      logEvent(this.o.logger, 'zone.ixfr-journal-failed', { zone: name.toString(), error: (error as Error).message }, { level: 'error', msg: 'IXFR history unavailable: secondaries get AXFR' });
    }
    logEvent(this.o.logger, 'zone.transfer-ready', { zone: name.toString(), serial: served.serial, serialScheme: state.scheme, ixfrVersions: versions });
    this.sendNotify(state, served);
  }

  /** A zone's settings, before it is first served (the serial scheme is needed to move a serial at start). */
  configure(name: Name, config: PrimaryTransferConfig, serial: number): ZoneTransferState {
    const old = this.zones.get(name.key);
    void old?.journal.close();
    if (old?.waiting) clearTimeout(old.waiting.timer);
    const state: ZoneTransferState = { name, config, journal: new IxfrJournal(this.o.documents, this.o.journalDir, name, config.journal), scheme: resolveSerialScheme(config.serial, serial, this.o.clock.now()), lastNotify: 0, waiting: undefined };
    this.zones.set(name.key, state);
    return state;
  }

  /** Whether the zone was served signed before this start (its IXFR history says): unsigned now, it needs a new serial. */
  async previouslySigned(name: Name): Promise<boolean> {
    return (await (this.zones.get(name.key)?.journal ?? new IxfrJournal(this.o.documents, this.o.journalDir, name, DEFAULT_PRIMARY_TRANSFER.journal)).lastSigned()) === true;
  }

  /** The serial after `current` in the zone's scheme (soa-serial.ts): every path that changes served data takes it from here. */
  nextSerial(name: Name): (current: number) => number {
    return (current) => advanceSerial(current, this.zones.get(name.key)?.scheme ?? 'increment', this.o.clock.now());
  }

  /**
   * What is served changed from `before` to `after`: the difference goes into the IXFR history
   * (in memory before this first yields, so call it just before swapping `after` in) and the
   * secondaries are told.
   */
  async changed(name: Name, before: ZoneData, after: ZoneData): Promise<void> {
    const state = this.zones.get(name.key);
    if (!state || before === after) return;
    const zone = name.toString();
    try {
      if (before.serial === after.serial) {
        // Served data changed under the same serial (nothing here does that on purpose): no diff can describe it to a secondary.
        await state.journal.reset();
        logEvent(this.o.logger, 'zone.ixfr-history-reset', { zone, serial: after.serial, reason: 'served data changed without a serial change' }, { level: 'warn' });
        return;
      }
      const delta = diffZones(before, after);
      const r = await state.journal.record(before.soa, after.soa, before.serial, after.serial, delta, after.isSigned);
      logEvent(this.o.logger, 'zone.ixfr-recorded', { zone, from: before.serial, to: after.serial, removed: delta.removed.length, added: delta.added.length, versions: r.versions, dropped: r.dropped }, { level: 'debug' });
      if (r.dropped > 0) logEvent(this.o.logger, 'zone.journal-compacted', { zone, kind: 'ixfr', dropped: r.dropped, ...state.journal.size });
    } catch (error) {
      logEvent(this.o.logger, 'zone.ixfr-journal-failed', { zone, error: (error as Error).message }, { level: 'error', msg: 'IXFR history not written: secondaries get AXFR' });
      await state.journal.reset().catch(() => undefined);
    }
    this.sendNotify(state, after);
  }

  private sendNotify(state: ZoneTransferState, served: ZoneData): void {
    const delay = NOTIFY_DELAY_MS - (Date.now() - state.lastNotify);
    if (state.waiting) state.waiting.served = served;
    else if (delay > 0) {
      const timer = setTimeout(() => {
        const latest = state.waiting!.served;
        state.waiting = undefined;
        if (this.zones.get(state.name.key) === state) this.sendNotify(state, latest);
      }, delay);
      timer.unref();
      state.waiting = { timer, served };
    }
    if (state.waiting) return;
    state.lastNotify = Date.now();
    const targets = this.notifyTargets(state, served);
    if (targets.length === 0) return;
    const key = state.config.tsig === undefined ? undefined : this.o.keyring.get(Name.parse(state.config.tsig).lowercase().key);
    logEvent(this.o.logger, 'zone.notify-sent', { zone: state.name.toString(), serial: served.serial, targets: targets.map((t) => `${t.host}#${t.port}`), ...(key ? { key: key.name.toString() } : {}) });
    this.sender.notify(state.name, served.soa, targets, key);
  }

  /** The configured addresses, and for "ns" the in-zone addresses of the apex NS names other than the SOA MNAME (the primary). */
  private notifyTargets(state: ZoneTransferState, served: ZoneData): NotifyTarget[] {
    const out = new Map<string, NotifyTarget>();
    for (const t of state.config.notify) {
      if (t !== 'ns') {
        out.set(`${t.host}#${t.port}`, { host: t.host, port: t.port });
        continue;
      }
      const mname = decodeRdata(RRType.SOA, served.soa.rdata)['mname'] as Name;
      for (const ns of served.rrset(served.origin, RRType.NS)?.records ?? []) {
        const target = decodeRdata(RRType.NS, ns.rdata)['nsdname'] as Name;
        if (target.equals(mname)) continue;
        for (const type of [RRType.A, RRType.AAAA])
          for (const a of served.rrset(target, type)?.records ?? []) {
            const host = decodeRdata(type, a.rdata)['address'] as string;
            out.set(`${host}#53`, { host, port: 53 });
          }
      }
    }
    return [...out.values()];
  }

  /**
   * Answers an AXFR or IXFR for `served` (the request's question is the zone's apex): TSIG
   * first (RFC 8945: a bad signature is NOTAUTH whatever the ACL says), then the ACL, then the
   * transfer. IXFR over UDP gets the SOA alone (RFC 1995 §2: the client then asks over TCP).
   */
  respond(name: Name, served: ZoneData, wire: Uint8Array, request: Message, client: TransferClient): { messages: Uint8Array[]; stream: boolean } {
    const state = this.zones.get(name.key);
    const config = state?.config ?? DEFAULT_PRIMARY_TRANSFER;
    const zone = name.toString();
    const q = request.question[0]!;
    const type = q.type === RRType.AXFR ? 'AXFR' : 'IXFR';
    const now = Math.floor(this.o.clock.now() / 1000);
    let verification: TsigVerification | undefined;
    try {
      const signed = extractTsig(new Uint8Array(wire));
      if (signed) verification = verifyTsig(signed, keyFinder(this.o.keyring), now);
    } catch (error) {
      if (!(error instanceof TsigFormatError)) throw error;
      return { messages: [this.refusal(request, Rcode.FORMERR, undefined, now, EdeCode.OTHER, error.message)], stream: false };
    }
    const keyName = verification?.request.keyName.lowercase().toString();
    const refuse = (rcode: number, ede: number, reason: string): { messages: Uint8Array[]; stream: boolean } => {
      this.refused({ zone, client: client.address, type, rcode: rcodeToString(rcode), reason, ...(keyName ? { key: keyName } : {}) });
      return { messages: [this.refusal(request, rcode, verification, now, ede, reason)], stream: false };
    };
    if (verification && !verification.ok) return refuse(Rcode.NOTAUTH, EdeCode.PROHIBITED, `TSIG: ${verification.reason}`);
    const verifiedKey = verification?.ok ? keyName : undefined;
    const allowed = config.allowTransfer.some((e) => ('key' in e ? e.key === verifiedKey && (!e.address || cidrContains(e.address, client.address)) : cidrContains(e, client.address)));
    if (!allowed) return refuse(Rcode.REFUSED, EdeCode.PROHIBITED, `zone transfer of ${zone} is not allowed for ${client.address}${verifiedKey ? ` with key ${verifiedKey}` : ''}`);

    let messages: Message[];
    let kind: string;
    if (q.type === RRType.IXFR) {
      const theirs = request.authority.find((r) => r.type === RRType.SOA);
      if (!theirs) return refuse(Rcode.FORMERR, EdeCode.OTHER, 'IXFR without the client\'s SOA in the authority section (RFC 1995 §3)');
      const plan = client.transport === 'udp' ? { kind: 'current' as const } : state ? state.journal.plan(soaSerial(theirs), served.serial) : { kind: 'full' as const };
      kind = plan.kind === 'incremental' ? 'IXFR' : plan.kind === 'current' ? 'SOA' : 'AXFR-style IXFR';
      messages = plan.kind === 'incremental' ? ixfrMessages(served.soa, plan.versions, request) : plan.kind === 'current' ? transferMessages([served.soa], request) : axfrMessages(served, request);
    } else {
      if (client.transport !== 'tcp') return refuse(Rcode.REFUSED, EdeCode.NOT_SUPPORTED, 'AXFR is only served over TCP');
      kind = 'AXFR';
      messages = axfrMessages(served, request);
    }
    if (request.edns) for (const m of messages) m.edns = defaultEdns({ dnssecOk: request.edns.dnssecOk });
    let out = messages.map((m) => encodeMessage(m));
    if (verification?.ok) out = signMessageStream(out, verification, now);
    logEvent(this.o.logger, 'zone.transferred', { zone, client: client.address, serial: served.serial, messages: out.length, type, sent: kind, ...(verifiedKey ? { key: verifiedKey } : {}) });
    return { messages: out, stream: kind !== 'SOA' };
  }

  private refusal(request: Message, rcode: number, verification: TsigVerification | undefined, now: number, ede: number, text: string): Uint8Array {
    const m = newMessage({ id: request.id, qr: true, opcode: request.opcode, rcode, question: request.question });
    if (request.edns) m.edns = defaultEdns({ options: [edeOption(ede, text)] });
    const wire = encodeMessage(m);
    return verification ? signTsigResponse(wire, verification, now) : wire;
  }

  /** Forgets a zone (removed): its history goes too. */
  async remove(name: Name): Promise<void> {
    const state = this.zones.get(name.key);
    this.zones.delete(name.key);
    await (state?.journal ?? new IxfrJournal(this.o.documents, this.o.journalDir, name, DEFAULT_PRIMARY_TRANSFER.journal)).delete();
  }

  /** The zone's transfer view for `zone show`. */
  view(name: Name): { serialScheme: SerialScheme; ixfrVersions: number; ixfrBytes: number; ixfrOldestSerial: number | null } | undefined {
    const state = this.zones.get(name.key);
    if (!state) return undefined;
    const size = state.journal.size;
    return { serialScheme: state.scheme, ixfrVersions: size.versions, ixfrBytes: size.bytes, ixfrOldestSerial: size.oldest ?? null };
  }

  async stop(): Promise<void> {
    for (const state of this.zones.values()) if (state.waiting) clearTimeout(state.waiting.timer);
    this.sender.stop();
    for (const state of this.zones.values()) await state.journal.close();
  }
}

