import { canonicalRdata } from '../wire/canonical.js';
import { Rcode, type ResourceRecord } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import { validateRdata } from '../wire/rdata-codec.js';
import { RRClass, RRType, isMetaType, typeToString } from '../wire/rr-type.js';
import { misplacedDsReason } from './ds-placement.js';
import { nextSerial, serialGreater, soaSerial, withSerial } from './soa-serial.js';
import { type ZoneData, isSignerType } from './zone-db.js';

/**
 * RFC 2136 dynamic update semantics, over a zone's unsigned data (pure: no I/O, no signing).
 * The zone section has been checked by the caller; this checks the prerequisites (§3.2),
 * prescans the update section (§3.4.1) and applies it (§3.4.2), and says exactly which
 * records went and came, so the signer re-signs only those RRsets and the journal stores only
 * them. The SOA serial goes up by one (RFC 1982) unless the update raised it itself (§3.6).
 */

export interface UpdateRequest {
  readonly prerequisites: readonly ResourceRecord[];
  readonly updates: readonly ResourceRecord[];
}

/** What an update changed: removed and added records (an RRset's TTL change is both), and the whole new record list. */
export interface RecordChange {
  readonly removed: readonly ResourceRecord[];
  readonly added: readonly ResourceRecord[];
  /** Every record of the zone after the change (unsigned data); computed when first read. */
  readonly records: readonly ResourceRecord[];
  readonly serial: number;
}

export type UpdateOutcome =
  /** `change` undefined: the update was valid but changed nothing (no serial bump, RFC 2136 §3.4.2.7). */
  | { readonly rcode: typeof Rcode.NOERROR; readonly change: RecordChange | undefined }
  | { readonly rcode: number; readonly reason: string };

export interface UpdateOptions {
  /**
   * Types that may not be updated (REFUSED): in a zone the Key Master signs, DNSKEY, RRSIG,
   * NSEC, NSEC3 and NSEC3PARAM are the signer's. Default those.
   */
  readonly refusedType?: (type: number) => boolean;
  /** Why a DS for the child `owner` may not be added (a child hosted here unsigned), or undefined. */
  readonly dsRefusal?: (owner: Name) => string | undefined;
  /** The serial after `current` (the zone's serial scheme, soa-serial.ts); default one more. */
  readonly nextSerial?: (current: number) => number;
}

interface WorkingSet {
  ttl: number;
  readonly records: Map<string, ResourceRecord>;
}

interface WorkingNode {
  readonly name: Name;
  readonly sets: Map<number, WorkingSet>;
}

const rdataKey = (rr: ResourceRecord) => Buffer.from(canonicalRdata(rr.type, rr.rdata)).toString('latin1');

/** Types that may never appear as data in an update's class-ANY deletes (RFC 2136 §3.4.1.3). */
const NOT_DELETABLE_BY_TYPE = new Set<number>([RRType.AXFR, RRType.IXFR, 253 /* MAILB */, 254 /* MAILA */, RRType.OPT, RRType.TSIG, RRType.TKEY]);

function fail(rcode: number, reason: string): UpdateOutcome {
  return { rcode, reason };
}

function describe(rr: ResourceRecord): string {
  return `${rr.name.toString()} ${typeToString(rr.type)}`;
}

/** Checks a prerequisite section against the zone (RFC 2136 §3.2). Undefined when every prerequisite holds. */
function checkPrerequisites(zone: ZoneData, prerequisites: readonly ResourceRecord[]): UpdateOutcome | undefined {
  const valueDependent = new Map<string, { name: Name; type: number; values: Set<string> }>();
  for (const rr of prerequisites) {
    if (rr.ttl !== 0) return fail(Rcode.FORMERR, `prerequisite ${describe(rr)} has TTL ${rr.ttl}, not 0`);
    if (!rr.name.isSubdomainOf(zone.origin)) return fail(Rcode.NOTZONE, `prerequisite ${describe(rr)} is outside the zone ${zone.origin.toString()}`);
    const node = zone.node(rr.name);
    if (rr.class === RRClass.ANY) {
      if (rr.rdata.length !== 0) return fail(Rcode.FORMERR, `prerequisite ${describe(rr)} of class ANY has RDATA`);
      if (rr.type === RRType.ANY) {
        if (!node) return fail(Rcode.NXDOMAIN, `${rr.name.toString()} is not in use`);
      } else if (!node?.rrsets.has(rr.type)) return fail(Rcode.NXRRSET, `no ${describe(rr)} RRset`);
    } else if (rr.class === RRClass.NONE) {
      if (rr.rdata.length !== 0) return fail(Rcode.FORMERR, `prerequisite ${describe(rr)} of class NONE has RDATA`);
      if (rr.type === RRType.ANY) {
        if (node) return fail(Rcode.YXDOMAIN, `${rr.name.toString()} is in use`);
      } else if (node?.rrsets.has(rr.type)) return fail(Rcode.YXRRSET, `the ${describe(rr)} RRset exists`);
    } else if (rr.class === zone.zoneClass) {
      if (isMetaType(rr.type)) return fail(Rcode.FORMERR, `prerequisite ${describe(rr)} has a meta type`);
      const key = `${rr.name.key}/${rr.type}`;
      const entry = valueDependent.get(key) ?? { name: rr.name, type: rr.type, values: new Set<string>() };
      entry.values.add(rdataKey(rr));
      valueDependent.set(key, entry);
    } else return fail(Rcode.FORMERR, `prerequisite ${describe(rr)} has class ${rr.class}`);
  }
  // §3.2.3: the RRset must be exactly the set given (TTLs aside).
  for (const { name, type, values } of valueDependent.values()) {
    const set = zone.rrset(name, type);
    const have = new Set((set?.records ?? []).map(rdataKey));
    if (have.size !== values.size || [...values].some((v) => !have.has(v))) return fail(Rcode.NXRRSET, `the ${name.toString()} ${typeToString(type)} RRset is not the one given`);
  }
  return undefined;
}

/** RFC 2136 §3.4.1: every update RR is checked before any is applied. */
function prescan(zone: ZoneData, updates: readonly ResourceRecord[], refused: (type: number) => boolean): UpdateOutcome | undefined {
  for (const rr of updates) {
    if (!rr.name.isSubdomainOf(zone.origin)) return fail(Rcode.NOTZONE, `update ${describe(rr)} is outside the zone ${zone.origin.toString()}`);
    if (rr.class === zone.zoneClass) {
      if (isMetaType(rr.type)) return fail(Rcode.FORMERR, `cannot add a record of meta type ${typeToString(rr.type)}`);
      try {
        if (rr.rdata.length === 0 && rr.type !== RRType.NULL) throw new Error('empty RDATA');
        validateRdata(rr.type, rr.rdata);
      } catch (error) {
        return fail(Rcode.FORMERR, `update ${describe(rr)}: bad RDATA (${(error as Error).message})`);
      }
    } else if (rr.class === RRClass.ANY) {
      if (rr.ttl !== 0 || rr.rdata.length !== 0 || NOT_DELETABLE_BY_TYPE.has(rr.type)) return fail(Rcode.FORMERR, `bad RRset deletion ${describe(rr)}`);
    } else if (rr.class === RRClass.NONE) {
      if (rr.ttl !== 0 || isMetaType(rr.type)) return fail(Rcode.FORMERR, `bad record deletion ${describe(rr)}`);
    } else return fail(Rcode.FORMERR, `update ${describe(rr)} has class ${rr.class}`);
    if (rr.type !== RRType.ANY && refused(rr.type))
      return fail(Rcode.REFUSED, `${typeToString(rr.type)} records are the signer's: the Key Master writes them, an update may not`);
  }
  return undefined;
}

/**
 * Applies an UPDATE (or a `zone record add|remove`, which is one) to a zone's unsigned data.
 * Returns the RCODE of RFC 2136 §3 and, for NOERROR, the change (undefined when nothing
 * changed: adding what is there, deleting what is not).
 */
export function applyUpdate(zone: ZoneData, request: UpdateRequest, options: UpdateOptions = {}): UpdateOutcome {
  const refused = options.refusedType ?? isSignerType;
  const pre = checkPrerequisites(zone, request.prerequisites);
  if (pre) return pre;
  const bad = prescan(zone, request.updates, refused);
  if (bad) return bad;

  const origin = zone.origin;
  const working = new Map<string, WorkingNode>();
  const nodeFor = (name: Name): WorkingNode => {
    let node = working.get(name.key);
    if (!node) {
      node = { name, sets: new Map() };
      for (const [type, set] of zone.node(name)?.rrsets ?? []) {
        if (isSignerType(type)) continue;
        node.sets.set(type, { ttl: set.records[0]!.ttl, records: new Map(set.records.map((r) => [rdataKey(r), r])) });
      }
      working.set(name.key, node);
    }
    return node;
  };
  let explicitSerial: number | undefined;

  for (const rr of request.updates) {
    const node = nodeFor(rr.name);
    if (rr.class === zone.zoneClass) {
      if (rr.type === RRType.SOA) {
        // §3.4.2.2: only at the apex, and only a newer serial replaces the SOA.
        const current = node.sets.get(RRType.SOA)?.records.values().next().value;
        if (!current || !serialGreater(soaSerial(rr), soaSerial(current))) continue;
        node.sets.set(RRType.SOA, { ttl: rr.ttl, records: new Map([[rdataKey(rr), { ...rr, class: zone.zoneClass }]]) });
        explicitSerial = soaSerial(rr);
        continue;
      }
      const hasCname = node.sets.has(RRType.CNAME);
      const hasOther = [...node.sets.keys()].some((t) => t !== RRType.CNAME);
      if (rr.type === RRType.CNAME ? hasOther : hasCname) continue; // §3.4.2.2: CNAME and other data never mix
      let set = node.sets.get(rr.type);
      if (!set || rr.type === RRType.CNAME) {
        set = { ttl: rr.ttl, records: new Map() };
        node.sets.set(rr.type, set);
      }
      // RFC 2181 §5.2: one TTL per RRset; the newest TTL given wins for the whole set.
      set.ttl = rr.ttl;
      set.records.set(rdataKey(rr), rr);
    } else if (rr.class === RRClass.ANY) {
      const apex = rr.name.equals(origin);
      if (rr.type === RRType.ANY) {
        for (const type of [...node.sets.keys()]) if (!(apex && (type === RRType.SOA || type === RRType.NS))) node.sets.delete(type);
      } else if (!(apex && (rr.type === RRType.SOA || rr.type === RRType.NS))) node.sets.delete(rr.type);
    } else {
      // Class NONE: delete one record. Never the SOA, never the last apex NS (§3.4.2.4).
      if (rr.type === RRType.SOA) continue;
      const set = node.sets.get(rr.type);
      if (!set) continue;
      const key = rdataKey(rr);
      if (!set.records.has(key)) continue;
      if (rr.type === RRType.NS && rr.name.equals(origin) && set.records.size === 1) continue;
      set.records.delete(key);
      if (set.records.size === 0) node.sets.delete(rr.type);
    }
  }

  // The difference, node by node.
  const removed: ResourceRecord[] = [];
  const added: ResourceRecord[] = [];
  for (const node of working.values()) {
    const before = zone.node(node.name);
    const types = new Set<number>([...(before?.rrsets.keys() ?? []), ...node.sets.keys()]);
    for (const type of types) {
      if (isSignerType(type)) continue;
      const old = before?.rrsets.get(type)?.records ?? [];
      const now = node.sets.get(type);
      const next = now ? [...now.records.values()].map((r) => (r.ttl === now.ttl && r.class === zone.zoneClass ? r : { ...r, ttl: now.ttl, class: zone.zoneClass })) : [];
      const nextKeys = new Map(next.map((r) => [rdataKey(r), r]));
      const oldKeys = new Map(old.map((r) => [rdataKey(r), r]));
      for (const [k, r] of oldKeys) {
        const n = nextKeys.get(k);
        if (!n || n.ttl !== r.ttl) removed.push(r);
      }
      for (const [k, r] of nextKeys) {
        const o = oldKeys.get(k);
        if (!o || o.ttl !== r.ttl) added.push(r);
      }
    }
  }
  if (removed.length === 0 && added.length === 0) return { rcode: Rcode.NOERROR, change: undefined };
  const misplaced = misplacedDs(origin, working.values(), added, options);
  if (misplaced) return fail(Rcode.REFUSED, misplaced);

  // §3.6: the serial goes up, by the update's own SOA or by one.
  const soaOld = zone.soa;
  let serial = explicitSerial ?? (options.nextSerial ?? nextSerial)(soaSerial(soaOld));
  if (explicitSerial === undefined) {
    removed.push(soaOld);
    added.push(withSerial(soaOld, serial));
  } else serial = explicitSerial;
  return { rcode: Rcode.NOERROR, change: changeFromDiff(zone, removed, added, serial) };
}

/** A DS the update would leave outside a delegation, or add for a child that must not have one. */
function misplacedDs(origin: Name, nodes: Iterable<WorkingNode>, added: readonly ResourceRecord[], options: UpdateOptions): string | undefined {
  for (const node of nodes) {
    if (!node.sets.has(RRType.DS)) continue;
    const reason = misplacedDsReason(origin, node.name, node.sets.has(RRType.NS));
    if (reason) return reason;
  }
  for (const rr of added) if (rr.type === RRType.DS) {
    const reason = options.dsRefusal?.(rr.name);
    if (reason) return reason;
  }
  return undefined;
}

/** The change that replaces `removed` (records of `zone`) by `added`. */
export function changeFromDiff(zone: ZoneData, removed: readonly ResourceRecord[], added: readonly ResourceRecord[], serial: number): RecordChange {
  let records: ResourceRecord[] | undefined;
  // The whole list costs a pass over the zone: made only when asked for (a full re-sign, a test).
  return {
    removed,
    added,
    serial,
    get records() {
      if (!records) {
        const gone = new Set(removed);
        records = zone.records({ withSignatures: false }).filter((r) => !isSignerType(r.type) && !gone.has(r));
        records.push(...added);
      }
      return records;
    },
  };
}

/** A change that only moves the serial on (a signature refresh: secondaries must see new signatures). */
export function serialChange(zone: ZoneData, next: (current: number) => number = nextSerial): RecordChange {
  const soa = zone.soa;
  const serial = next(soaSerial(soa));
  return changeFromDiff(zone, [soa], [withSerial(soa, serial)], serial);
}
