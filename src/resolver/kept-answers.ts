import type { ValidationOutcome } from '../dnssec/validation-outcome.js';
import type { ResourceRecord } from '../wire/message.js';
import { Name } from '../wire/name.js';
import type { KeptAnswer } from './answer-freshness.js';
import type { Resolution } from './iterator.js';
import { type MemoryBudget, stringCost } from './memory-budget.js';
import { type PackedSecurity, type PackedState, prepareEntry, unpackEntry, unpackFields } from './packed-entry.js';
import type { RecordCache, RecordRef } from './record-cache.js';
import { ReasonTemplates } from './reason-templates.js';
import { PackedStore } from './packed-store.js';

type Answer = Resolution & { readonly outcome?: ValidationOutcome; readonly trace?: unknown; readonly stale?: number };

/** What a kept answer holds besides its packed bytes, when it holds anything: the recheck time, and the rare fields that do not pack. */
interface Meta {
  recheckAt?: number;
  /** Fields other than the rcode, records, security and a plain verdict (a failure, a policy decision, hosted links). */
  readonly extra?: Readonly<Record<string, unknown>>;
}

/** The meta object with its two fields. */
const META_COST = 48;
/** A rare field kept as an object: what the old per-field estimate charged. */
const EXTRA_COST = 200;

/**
 * The validated store (resolver.ts): each question's last answer with its verdict, packed in one
 * buffer (packed-entry.ts: rcode, security, verdict and reason, answer and authority records) and
 * decoded when asked for, charged to the `validated` share of the memory budget. What is dropped on
 * the way in is what only the resolution itself used: the upstream servers of each link (for a
 * retry elsewhere) and the validation trace.
 */
export class KeptAnswers<A extends Answer> {
  private readonly lru: PackedStore<Meta>;
  /** Entries that did not decode (dropped, never served). */
  damaged = 0;
  /** Entries dropped because a record they referred to was evicted or replaced (or their reason's template). */
  lost = 0;
  private readonly reasons = new ReasonTemplates();

  /** `records`: where answers' RRsets are referred to rather than copied (absent: always copied). */
  constructor(
    memory: MemoryBudget,
    private readonly records?: Pick<RecordCache, 'refer' | 'referenced'>,
  ) {
    this.lru = new PackedStore<Meta>(memory, 'validated', (m) => META_COST + (m.extra ? EXTRA_COST + extraStrings(m.extra) : 0));
  }

  set(key: string, answer: A, storedAt: number, expiresAt: number, copy = false): void {
    const { rcode, answer: records, authority, security, outcome, servers: _servers, servedBy: _servedBy, trace: _trace, stale: _stale, ...rest } = answer;
    const plainOutcome = !outcome || Object.keys(outcome).every((k) => k === 'state' || k === 'reason' || k === 'ede');
    const extra: Record<string, unknown> = plainOutcome ? rest : { ...rest, outcome };
    const refs = !copy && records.length > 0 ? this.records?.refer(records, expiresAt) : undefined;
    const reason = outcome && plainOutcome && records[0] ? this.reasons.pack(outcome.reason, records[0].name.toString()) : undefined;
    const fields = {
      kind: refs ? BY_REFERENCE : 0, security: security as PackedSecurity, code: rcode, storedAt, expiresAt, name: records[0]?.name ?? Name.root,
      // type and class are otherwise unused here: they hold the reason's template number and generation.
      type: reason?.id ?? 0, class: reason?.generation ?? 0,
      ...(outcome && plainOutcome ? { state: outcome.state as PackedState, ...(reason ? {} : { text: outcome.reason }), ...(outcome.ede !== undefined ? { ede: outcome.ede } : {}) } : {}),
    };
    const sections = refs ? [[], authority, refs.map(refRecord)] : [records, authority];
    this.lru.set(key, prepareEntry(fields, sections), Object.keys(extra).length > 0 ? { extra } : undefined);
  }

  /**
   * Makes the entry under `key` hold its records itself, from the decoded `kept`: for an answer
   * about to outlive its records (served stale, or refreshed by a prefetch that drops them first).
   */
  pin(key: string, kept: KeptAnswer<A>): void {
    const packed = this.lru.peek(key);
    if (!packed || unpackFields(packed)?.kind !== BY_REFERENCE) return;
    const recheckAt = kept.recheckAt;
    this.set(key, kept.answer, kept.storedAt, kept.expiresAt, true);
    if (recheckAt !== undefined) kept.recheckAt = recheckAt;
  }

  /** The kept answer decoded (its recheck time writes through), or undefined when none is kept or it is damaged. */
  get(key: string): KeptAnswer<A> | undefined {
    const found = this.lru.get(key);
    if (!found) return undefined;
    let meta = found.meta;
    const lru = this.lru;
    const e = unpackEntry(found.bytes);
    if (!e || e.sections.length !== (e.kind === BY_REFERENCE ? 3 : 2)) {
      this.damaged++;
      this.lru.delete(key);
      return undefined;
    }
    const records = e.kind === BY_REFERENCE ? this.records?.referenced(e.sections[2]!.map(fromRefRecord)) : e.sections[0]!;
    if (!records) {
      // A record it refers to was evicted or replaced: the verdict was about those bytes, so it goes too.
      this.lost++;
      this.lru.delete(key);
      return undefined;
    }
    const reason = e.type !== 0 ? (records[0] && this.reasons.unpack({ id: e.type, generation: e.class }, records[0].name.toString())) : (e.text ?? '');
    if (reason === undefined) {
      // Its reason's template was let go (reason-templates.ts): a miss, as for a lost record.
      this.lost++;
      this.lru.delete(key);
      return undefined;
    }
    const outcome = e.state !== undefined ? { outcome: { state: e.state, reason, ...(e.ede !== undefined ? { ede: e.ede } : {}) } } : {};
    const answer = { rcode: e.code, answer: records, authority: e.sections[1]!, security: e.security, ...outcome, ...found.meta?.extra } as unknown as A;
    return {
      answer,
      storedAt: e.storedAt,
      expiresAt: e.expiresAt,
      get recheckAt() {
        return meta?.recheckAt;
      },
      set recheckAt(at: number | undefined) {
        meta = { ...meta, recheckAt: at };
        lru.setMeta(key, meta);
      },
    };
  }

  delete(key: string): void {
    this.lru.delete(key);
  }

  clear(): void {
    this.lru.clear();
  }

  get size(): number {
    return this.lru.size;
  }
}

/** The `kind` of an entry whose answer records are references to record-cache entries (a third section of them); 0: records copied. */
const BY_REFERENCE = 1;

/** A reference as a record of the packed entry: owner and type, the stamp's 48 bits in class (high 16) and TTL (low 32), no RDATA. */
function refRecord(ref: RecordRef): ResourceRecord {
  return { name: ref.name, type: ref.type, class: Math.floor(ref.stamp / 2 ** 32) & 0xffff, ttl: ref.stamp >>> 0, rdata: NO_RDATA };
}

function fromRefRecord(r: ResourceRecord): RecordRef {
  return { name: r.name, type: r.type, stamp: r.class * 2 ** 32 + r.ttl };
}

const NO_RDATA = new Uint8Array(0);

/** The strings of a failure or policy decision kept beside the packed bytes. */
function extraStrings(extra: Readonly<Record<string, unknown>>): number {
  const failure = extra['failure'] as Answer['failure'];
  return failure ? stringCost(failure.reason) * (1 + (failure.ede?.length ?? 0)) : 0;
}
