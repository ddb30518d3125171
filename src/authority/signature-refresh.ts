import type { ResourceRecord } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import type { ZoneData } from './zone-db.js';

/**
 * When a signature is made again before it expires (pure; times are unix seconds).
 *
 * A signature of lifetime L (expiration − inception) must be remade once less than
 * `urgentFraction`·L remains. To keep a zone signed all at once from being re-signed all at
 * once, each RRset is due a little earlier, at its own point of a window `spreadFraction`·L
 * wide before that, chosen by a hash of its owner, type and key tag: the same RRset always
 * falls at the same point, different RRsets spread evenly. A re-signed RRset is due again
 * one validity period after the moment it was re-signed, so the spread carries over.
 */
export interface SignatureRefreshTiming {
  /** Remade at the latest when less than this fraction of the lifetime remains (default 1/4). */
  readonly urgentFraction: number;
  /** Width of the window before that, as a fraction of the lifetime, over which refreshes spread (default 1/8). */
  readonly spreadFraction: number;
}

export const DEFAULT_SIGNATURE_REFRESH_TIMING: SignatureRefreshTiming = { urgentFraction: 0.25, spreadFraction: 0.125 };

/** Signatures due but not urgent that one refresh pass remakes per zone (urgent ones are always remade). */
export const REFRESH_BATCH = 2000;

export type SignatureState = 'fresh' | 'due' | 'urgent';

/** An RRSIG time field (32-bit serial arithmetic, RFC 4034 §3.1.5) as the absolute time nearest `now`. */
export function absoluteTime(field: number, now: number): number {
  return now + (((field - (now >>> 0)) | 0));
}

/** FNV-1a over the owner (case-folded), type and key tag, as a fraction in [0, 1). */
export function spreadPosition(owner: Name, type: number, keyTag: number): number {
  let h = 0x811c9dc5;
  const mix = (byte: number) => {
    h ^= byte & 0xff;
    h = Math.imul(h, 0x01000193) >>> 0;
  };
  for (const b of owner.lowercase().wire) mix(b);
  mix(type >> 8);
  mix(type);
  mix(keyTag >> 8);
  mix(keyTag);
  return h / 2 ** 32;
}

export interface SignatureTimes {
  readonly inception: number;
  readonly expiration: number;
  /** From here the signature is remade when there is capacity. */
  readonly dueAt: number;
  /** From here it is remade whatever else there is to do. */
  readonly urgentAt: number;
}

/** The refresh times of one RRSIG (its RDATA) over an RRset at `owner`. */
export function signatureTimes(rrsig: ResourceRecord, now: number, policy: SignatureRefreshTiming = DEFAULT_SIGNATURE_REFRESH_TIMING): SignatureTimes {
  // RFC 4034 §3.1: type covered at 0, expiration at 8, inception at 12, key tag at 16. Read in
  // place: a refresh pass looks at every signature of the zone.
  const b = rrsig.rdata;
  const u32 = (p: number) => ((b[p]! << 24) >>> 0) + (b[p + 1]! << 16) + (b[p + 2]! << 8) + b[p + 3]!;
  const inception = absoluteTime(u32(12), now);
  const expiration = absoluteTime(u32(8), now);
  const lifetime = Math.max(0, expiration - inception);
  const urgentAt = expiration - Math.ceil(lifetime * policy.urgentFraction);
  const dueAt = urgentAt - Math.floor(lifetime * policy.spreadFraction * spreadPosition(rrsig.name, (b[0]! << 8) | b[1]!, (b[16]! << 8) | b[17]!));
  return { inception, expiration, dueAt, urgentAt };
}

export function signatureState(rrsig: ResourceRecord, now: number, policy: SignatureRefreshTiming = DEFAULT_SIGNATURE_REFRESH_TIMING): SignatureState {
  const t = signatureTimes(rrsig, now, policy);
  if (now >= t.urgentAt) return 'urgent';
  return now >= t.dueAt ? 'due' : 'fresh';
}

/** The earliest time any signature of the zone falls due, and the earliest it is urgent; undefined when the zone has none. */
export function nextRefreshTimes(zone: ZoneData, now: number, policy: SignatureRefreshTiming = DEFAULT_SIGNATURE_REFRESH_TIMING): { readonly dueAt: number; readonly urgentAt: number } | undefined {
  let dueAt = Infinity;
  let urgentAt = Infinity;
  for (const set of zone.rrsets())
    for (const sig of set.sigs) {
      const t = signatureTimes(sig, now, policy);
      if (t.dueAt < dueAt) dueAt = t.dueAt;
      if (t.urgentAt < urgentAt) urgentAt = t.urgentAt;
    }
  return dueAt === Infinity ? undefined : { dueAt, urgentAt };
}
