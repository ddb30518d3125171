import type { Clock } from '../clock.js';
import { type CidrPrefix, cidrContains } from '../config/cidr.js';
import type { TsigKeyConfig, ZoneConfig } from '../config/schema.js';
import { logEvent, type Logger } from '../logging/logger.js';
import { EdeCode, defaultEdns, edeOption } from '../wire/edns.js';
import { encodeMessage } from '../wire/message-encoder.js';
import { Opcode, Rcode, type ResourceRecord, newMessage, rcodeToString } from '../wire/message.js';
import { Name } from '../wire/name.js';
import { recordToText } from '../wire/record-text.js';
import { RRType } from '../wire/rr-type.js';
import { unsignedChildDsReason } from './ds-placement.js';
import { type UpdateOutcome, type UpdateRequest, applyUpdate } from './dynamic-update.js';
import type { JournalFollower } from './journal-follower.js';
import { JournalWriteRefused } from './zone-journal.js';
import type { PrimaryTransfers } from './primary-transfers.js';
import { type RecordChangeSummary, type RecordRequest, parseRecordRequest } from './record-request.js';
import type { RefusalLog, RefusalLogFactory } from './refusal-log.js';
import { DEFAULT_FUDGE, type SignedMessage, TsigError, type TsigKey, type TsigVerification, extractTsig, signTsigResponse, verifyTsig } from './tsig.js';
import { buildKeyring } from './tsig-keyring.js';
import { TsigReplayGuard } from './tsig-replay-guard.js';
import { type UpdateMessage, decodeUpdateMessage } from './update-message.js';
import type { ZoneCatalog } from './zone-catalog.js';
import { ZoneDataError } from './zone-db.js';
import { StoreError } from '../store/document-store.js';
import type { ZoneEntry } from './zone-entry.js';
import { ZoneError } from './zone-error.js';
import type { ChangeStats, ZoneSigning } from './zone-signing.js';

/** Records one UPDATE may hold unless the zone's `update.maxRecords` says otherwise. */
const DEFAULT_MAX_UPDATE_RECORDS = 2000;

export interface UpdateAccess {
  /** Every configured TSIG key, by name. */
  readonly keyring: Map<string, TsigKey>;
  /** Per zone: the key names allowed to update it, the client prefixes (empty: any), the most records one UPDATE may hold. */
  readonly perZone: Map<string, { readonly keys: Set<string>; readonly allow: readonly CidrPrefix[]; readonly maxRecords: number }>;
}

export interface ZoneUpdatesOptions {
  readonly catalog: ZoneCatalog;
  readonly signing: ZoneSigning;
  readonly transfers: PrimaryTransfers;
  readonly access: UpdateAccess;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Where refused UPDATEs are logged (the server's is throttled: an unsigned flood writes no line per packet). */
  readonly refusals: RefusalLogFactory;
  /** Cluster mode: the shared journal's follower, which catches up before a change that lost its number is tried again. */
  readonly follower?: JournalFollower | undefined;
}

/** The EDE of an UPDATE refused because the cluster's store (etcd) cannot be reached. */
export const UPDATE_UNAVAILABLE_EDE = { code: EdeCode.NOT_READY, text: 'the cluster store (etcd) cannot be reached: the change was not committed' } as const;

/** The TSIG keys (`tsigKeys` and every zone's update keys: one keyring) and client prefixes of each zone's `update:` config. */
export function updateAccess(zones: readonly ZoneConfig[], tsigKeys: readonly TsigKeyConfig[]): UpdateAccess {
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

/**
 * Changes to primary zones by RFC 2136 UPDATE (TSIG, RFC 8945) and by `zone record add|remove`:
 * re-signed incrementally and journaled before they are acknowledged (zone-signing.ts).
 */
export class ZoneUpdates {
  /** UPDATE hardening: TSIG replays refused (RFC 8945 §5.2.3), refusals logged at a bounded rate. */
  private readonly guards: { readonly replay: TsigReplayGuard; readonly refusedLog: RefusalLog };

  /** What every change must respect beyond RFC 2136: no DS for a child hosted here unsigned. */
  private readonly updateOptions = {
    dsRefusal: (owner: Name) => {
      const child = this.o.catalog.zones.get(owner.lowercase().toString());
      return child && (!child.policy || child.unsigning) ? unsignedChildDsReason(child.name) : undefined;
    },
  };

  constructor(private readonly o: ZoneUpdatesOptions) {
    this.guards = { replay: new TsigReplayGuard(DEFAULT_FUDGE), refusedLog: o.refusals('zone.update-refused') };
  }

  /**
   * An RFC 2136 UPDATE, from the query path. TSIG is checked first (RFC 8945 §5.2: NOTAUTH with
   * BADKEY, BADSIG or BADTIME), then the zone section (FORMERR, NOTAUTH for a zone not hosted
   * here), then who may update (REFUSED: unsigned, a key not allowed for the zone, an address
   * outside `allow`), then the prerequisites and the update itself. The answer to a signed
   * request is signed. NOERROR is sent only after the change is in the journal on disk.
   */
  async update(wire: Uint8Array, client: { readonly address: string }): Promise<Uint8Array> {
    const now = Math.floor(this.o.clock.now() / 1000);
    // An unsigned flood must not write a log line per packet: throttled, with the count suppressed.
    const log = (rcode: number, reason: string, fields: Record<string, unknown> = {}) => this.guards.refusedLog({ client: client.address, rcode: rcodeToString(rcode), reason, ...fields });
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
    const respond = (rcode: number, ede?: { code: number; text: string }): Uint8Array => {
      const edns = message.edns ? defaultEdns({ udpSize: 1232, ...(ede ? { options: [edeOption(ede.code, ede.text)] } : {}) }) : undefined;
      const response = encodeMessage(newMessage({ id, qr: true, opcode: Opcode.UPDATE, rcode, question: [...message.zone], ...(edns ? { edns } : {}) }));
      return verification ? signTsigResponse(response, verification, now) : response;
    };
    const keyName = signed?.keyName.toString();
    if (signed) {
      verification = verifyTsig(signed, (n) => this.o.access.keyring.get(n.lowercase().key), now, { replay: this.guards.replay });
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
    const target = this.o.catalog.zones.get(zone);
    if (!target || zq!.class !== target.unsigned.zoneClass) {
      log(Rcode.NOTAUTH, `not authoritative for ${zone}`, { zone, key: keyName });
      return respond(Rcode.NOTAUTH);
    }
    const access = this.o.access.perZone.get(zone);
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
    return this.o.catalog.serialize(async () => {
      const entry = this.o.catalog.zones.get(zone);
      if (!entry) return respond(Rcode.NOTAUTH);
      try {
        // Prerequisites are checked against the committed state: again after every catch-up.
        const { outcome, stats } = await this.commitAgreed(entry, () => applyUpdate(entry.unsigned, message, { ...this.updateOptions, nextSerial: this.o.transfers.nextSerial(entry.name) }));
        if (outcome.rcode !== Rcode.NOERROR) {
          log(outcome.rcode, 'reason' in outcome ? outcome.reason : '', { zone, key: keyName });
          return respond(outcome.rcode);
        }
        const change = 'change' in outcome ? outcome.change : undefined;
        if (change) logEvent(this.o.logger, 'zone.updated', { zone, serial: change.serial, client: client.address, key: keyName, removed: change.removed.length, added: change.added.length, ...stats });
        return respond(Rcode.NOERROR);
      } catch (error) {
        if (error instanceof JournalWriteRefused && error.code === 'unavailable') {
          log(Rcode.REFUSED, UPDATE_UNAVAILABLE_EDE.text, { zone, key: keyName });
          return respond(Rcode.REFUSED, UPDATE_UNAVAILABLE_EDE);
        }
        logEvent(this.o.logger, 'zone.update-failed', { zone, client: client.address, error: (error as Error).message }, { level: 'error', msg: 'update not applied' });
        return respond(Rcode.SERVFAIL);
      }
    });
  }

  /** `zone record add`: one record, its TTL that of its RRset (or the SOA's) unless given. */
  addRecord(zone: string, record: RecordRequest): Promise<RecordChangeSummary> {
    return this.o.catalog.serialize(async () => {
      const entry = this.o.catalog.entry(zone);
      const rr = parseRecordRequest(entry, record, true);
      return this.applyRecordChange(entry, { prerequisites: [], updates: [rr] }, 'zone record add');
    });
  }

  /** `zone record remove`: one record, or with no RDATA the whole RRset. */
  removeRecord(zone: string, record: RecordRequest): Promise<RecordChangeSummary> {
    return this.o.catalog.serialize(async () => {
      const entry = this.o.catalog.entry(zone);
      const rr = parseRecordRequest(entry, record, false);
      const summary = await this.applyRecordChange(entry, { prerequisites: [], updates: [rr] }, 'zone record remove');
      if (!summary.changed) throw new ZoneError('no-such-record', `${record.name} ${record.type}${record.rdata ? ` ${record.rdata}` : ''} is not in ${entry.name.toString()}`);
      return summary;
    });
  }

  private async applyRecordChange(entry: ZoneEntry, request: UpdateRequest, why: string): Promise<RecordChangeSummary> {
    const zone = entry.name.toString();
    let committed: { outcome: UpdateOutcome; stats?: ChangeStats };
    try {
      committed = await this.commitAgreed(entry, () => applyUpdate(entry.unsigned, request, { ...this.updateOptions, nextSerial: this.o.transfers.nextSerial(entry.name) }));
    } catch (error) {
      if (error instanceof ZoneDataError) throw new ZoneError('bad-record', error.message);
      if (error instanceof JournalWriteRefused && error.code === 'unavailable') throw new StoreError('unavailable', zone, `${error.message}; nothing was changed`);
      throw new ZoneError('change-failed', `${why} on ${zone} failed, nothing changed: ${(error as Error).message}`);
    }
    const { outcome, stats } = committed;
    if (outcome.rcode !== Rcode.NOERROR) throw new ZoneError('bad-record', 'reason' in outcome ? outcome.reason : rcodeToString(outcome.rcode));
    const change = 'change' in outcome ? outcome.change : undefined;
    if (!change || !stats) return { zone, serial: entry.unsigned.serial, changed: false, removed: [], added: [], signatures: 0 };
    logEvent(this.o.logger, 'zone.updated', { zone, serial: change.serial, via: why, removed: change.removed.length, added: change.added.length, ...stats });
    const text = (rs: readonly ResourceRecord[]) => rs.filter((r) => r.type !== RRType.SOA).map(recordToText);
    return { zone, serial: change.serial, changed: true, removed: text(change.removed), added: text(change.added), signatures: stats.signatures };
  }

  /**
   * Plans the change on the zone as this server has it and commits it. With a shared journal
   * (cluster mode), a change number another primary took first is not a failure: the changes it
   * committed are applied here, and the change is planned again on the new state (an UPDATE's
   * prerequisites checked again: they may now fail, and are answered as RFC 2136 says).
   */
  private async commitAgreed(entry: ZoneEntry, plan: () => UpdateOutcome): Promise<{ outcome: UpdateOutcome; stats?: ChangeStats }> {
    const attempt = async () => {
      const outcome = plan();
      const change = outcome.rcode === Rcode.NOERROR && 'change' in outcome ? outcome.change : undefined;
      return change ? { outcome, stats: await this.o.signing.commitChange(entry, change) } : { outcome };
    };
    return this.o.follower ? this.o.follower.commitAgreed(entry, attempt) : attempt();
  }

}
