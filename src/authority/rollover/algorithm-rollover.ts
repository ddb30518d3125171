import type { KeyMetadata } from '../key-store.js';
import { type RolloverStatus, isRolling } from './rollover-state.js';

/**
 * Algorithm rollover (RFC 6781 §4.1.4, the conservative approach), as plain facts about a zone's
 * keys; the steps are the engine's (rollover-engine.ts). The order, and why:
 *
 * 1. RollStarted → AlgorithmWaitingForMaxZoneTtl: keys of the new algorithm are made `presigning`
 *    and sign every RRset beside the old keys, their DNSKEYs not yet published. Validators ignore
 *    signatures whose key they do not have (RFC 6840 §5.11), so this changes nothing for them;
 *    it lasts until no cache holds an RRset without the new signatures (Dprp + TTLsig).
 * 2. AlgorithmWaitingForNewDnsKeyTtl: the new DNSKEYs are published. A validator that wants every
 *    algorithm of the DNSKEY RRset to sign every RRset (RFC 4035 §2.2 read strictly) finds the new
 *    signatures on whatever it cached. Lasts Dprp + TTLkey, until every cached DNSKEY RRset has
 *    the new keys.
 * 3. KskWaitingForDSUpdate → KskWaitingForDSTtl: the CDS/CDNSKEY (and a parent hosted here) now
 *    name the new algorithm's KSKs only; the parent's DS RRset is awaited until it names the new
 *    KSK and no key of the old algorithm, then DprpP + TTLds, so no cache holds a DS of the old
 *    algorithm (a validator that insists every DS algorithm works is satisfied too). With RFC 5011
 *    keys, also until resolvers that track the zone as a trust point have taken the new KSK
 *    through their add hold-down.
 * 4. AlgorithmWaitingForOldDnsKeyTtl: the old DNSKEYs are withdrawn (`unpublished`) but still sign,
 *    until no cache holds a DNSKEY RRset that lists them (Dprp + TTLkey).
 * 5. The old keys' signatures go (retired); the roll is complete.
 *
 * The roll is carried by the record of the old active KSK (the lead), with `algorithm` the one
 * rolled to and `successor` the new active KSK.
 */

/** An algorithm rollover under way. */
export interface AlgorithmRollover {
  /** The old active KSK that carries the rollover's record. */
  readonly lead: KeyMetadata;
  readonly from: number;
  readonly to: number;
  readonly status: RolloverStatus;
}

/** The algorithm rollover under way among `keys`, if any (one at a time). */
export function algorithmRolloverOf(keys: readonly KeyMetadata[]): AlgorithmRollover | undefined {
  const lead = keys.find((k) => k.rollover?.method === 'Algorithm' && isRolling(k.rollover.status) && k.rollover.algorithm !== undefined);
  return lead ? { lead, from: lead.algorithm, to: lead.rollover!.algorithm!, status: lead.rollover!.status } : undefined;
}

/** From this status on, the parent is asked for the new algorithm's DS (and no longer the old one's). */
const NEW_DS_STATUSES: readonly RolloverStatus[] = ['KskWaitingForDSUpdate', 'KskWaitingForDSTtl', 'AlgorithmWaitingForOldDnsKeyTtl'];

/** The algorithm whose KSKs the parent's DS RRset should name now. */
export function parentDsAlgorithm(roll: AlgorithmRollover): number {
  return NEW_DS_STATUSES.includes(roll.status) ? roll.to : roll.from;
}

/**
 * Whether the rollover can still be called off: nothing of the new algorithm is published yet
 * (only its signatures are, which no validator uses without its DNSKEYs), so retiring its keys
 * takes nothing from any cache.
 */
export function isCancellable(roll: AlgorithmRollover, keys: readonly KeyMetadata[]): boolean {
  if (roll.status === 'Queued' || roll.status === 'RollStarted') return true;
  return roll.status === 'AlgorithmWaitingForMaxZoneTtl' && !keys.some((k) => k.algorithm === roll.to && isPublishedKey(k));
}

function isPublishedKey(k: KeyMetadata): boolean {
  return k.state !== 'retired' && k.state !== 'presigning' && k.state !== 'unpublished';
}

/** Published keys of another algorithm than `algorithm` that sign: the zone is not in the policy's algorithm. */
export function algorithmDiffers(keys: readonly KeyMetadata[], algorithm: number): boolean {
  return keys.some((k) => k.state === 'active' && k.algorithm !== algorithm);
}

/**
 * The key to carry an algorithm rollover to `algorithm`: an active KSK of another algorithm that
 * no other rollover is using (not rolling beyond Queued, not stopped in RollError, not the
 * successor in another roll), oldest first.
 */
export function algorithmRolloverLead(keys: readonly KeyMetadata[], algorithm: number, successors: ReadonlySet<string>): KeyMetadata | undefined {
  return keys
    .filter((k) => k.role === 'ksk' && k.state === 'active' && k.algorithm !== algorithm && !successors.has(k.id))
    .filter((k) => (k.rollover?.status ?? 'NotRolling') === 'NotRolling' || k.rollover!.status === 'Queued')
    .sort((a, b) => a.created.localeCompare(b.created) || a.id.localeCompare(b.id))[0];
}
