import { type ValidationOutcome, bogus, insecure } from '../dnssec/validation-outcome.js';
import { EdeCode } from '../wire/edns.js';
import type { ResourceRecord } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import { RRType } from '../wire/rr-type.js';
import { decodeRrsig } from '../wire/signed-data.js';
import type { ChainOfTrust, SecureZone, ValidationRun } from './chain-of-trust.js';

/** The keys to check an RRset (or a denial) with, or the verdict that makes checking pointless. */
export type KeyFinding = { readonly keys: SecureZone } | { readonly outcome: ValidationOutcome; readonly zone: Name };

/**
 * The zone that holds data owned by `owner`: the owner itself, or for a DS RRset the parent side
 * of the cut (RFC 4035 §5.2: the DS belongs to the zone above).
 */
export function holderOf(owner: Name, type: number): Name {
  return type === RRType.DS && !owner.isRoot ? owner.parent(1) : owner;
}

/**
 * Key finding from the owner name (RFC 4035 §5.3.1, as Unbound's `processInit`/`processFindKey`
 * in validator/validator.c): the trust anchor comes from the name that holds the data, never
 * from the RRSIG's Signer's Name, which whoever wrote the packet chose.
 *
 * 1. The anchor is the deepest one at or above `holder`. None: insecure.
 * 2. The signer may steer the walk only as far as Unbound lets it: when it lies between the
 *    anchor and the holder (Unbound omits a signer that "is not a parent of lookupname"). Any
 *    other signer (above the anchor, beside the chain, below the holder) is ignored and the
 *    walk goes to the holder itself.
 * 3. The zone cuts are walked down from the anchor (DS at each label, `ChainOfTrust.zoneOf`). An
 *    insecure or bogus cut on the way is the answer.
 * 4. The walk ends in a secure zone: the RRSIGs count only when their signer is that zone. A
 *    signer that is not a zone apex, or that the walk did not reach, is bogus ("bad signer name"),
 *    for data and denials alike.
 *
 * Where the signer steered the walk, the labels between the signer's zone and the holder are
 * not asked for DS (Unbound's trade-off: a DS query per leaf name otherwise); but a cut there
 * that the resolver knows of (a delegation it followed, `run.knownCut`) takes the walk on to the
 * holder, so a parent's signature over its child's data does not count.
 */
export async function findKeys(chain: ChainOfTrust, holder: Name, signer: Name | undefined, subject: string, run: ValidationRun): Promise<KeyFinding> {
  const anchor = chain.anchorFor(holder);
  if (!anchor) {
    const outcome = insecure(`no trust anchor at or above ${holder}`);
    run.trace?.push({ zone: holder.toString(), kind: 'anchor', subject: holder.toString(), state: 'insecure', detail: outcome.reason });
    return { outcome, zone: holder };
  }
  const hint = signer && holder.isSubdomainOf(signer) && signer.isSubdomainOf(anchor.zone) && !cutBetween(signer, holder, run) ? signer : undefined;
  const zone = await chain.zoneOf(hint ?? holder, run);
  if (zone.state !== 'secure') {
    run.trace?.push({ zone: zone.zone.toString(), kind: 'rrset', subject, state: zone.state, detail: zone.outcome.reason });
    return { outcome: zone.outcome, zone: zone.zone };
  }
  if (signer && !signer.equals(zone.zone)) {
    const why = hint ? `${signer} is not a zone apex` : !holder.isSubdomainOf(signer) ? `${signer} does not enclose it` : `${signer} is above the trust anchor ${anchor.zone}`;
    const outcome = bogus(`${zone.zone}: bad signer name: ${subject} is signed by ${signer}, not by its zone ${zone.zone} (${why})`, EdeCode.DNSSEC_BOGUS);
    run.trace?.push({ zone: zone.zone.toString(), kind: 'rrset', subject, state: 'bogus', detail: outcome.reason });
    return { outcome, zone: zone.zone };
  }
  return { keys: zone };
}

/** A cut the resolver followed below `signer`, at or above `holder`: the signer's zone does not hold the data. */
function cutBetween(signer: Name, holder: Name, run: ValidationRun): boolean {
  if (!run.knownCut) return false;
  for (let n = signer.labelCount + 1; n <= holder.labelCount; n++) if (run.knownCut(holder.suffix(n))) return true;
  return false;
}

/** The signer named by the RRSIGs (the first decodable one); a malformed RRSIG names nothing. */
export function signerOf(rrsigs: readonly ResourceRecord[]): Name | undefined {
  for (const sig of rrsigs) {
    if (sig.type !== RRType.RRSIG) continue;
    try {
      return decodeRrsig(sig.rdata).signerName;
    } catch {
      // another RRSIG may name it
    }
  }
  return undefined;
}
