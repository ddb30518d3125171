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
export async function findKeys(chain: ChainOfTrust, holder: Name, signers: readonly Name[], subject: string, run: ValidationRun): Promise<KeyFinding> {
  const anchor = chain.anchorFor(holder);
  if (!anchor) {
    const outcome = insecure(`no trust anchor at or above ${holder}`);
    run.trace?.push({ zone: holder.toString(), kind: 'anchor', subject: holder.toString(), state: 'insecure', detail: outcome.reason });
    return { outcome, zone: holder };
  }
  // The deepest signer that may steer the walk; a forged RRSIG beside a real one cannot shorten it.
  const hints = signers.filter((s) => holder.isSubdomainOf(s) && s.isSubdomainOf(anchor.zone) && !cutBetween(s, holder, run));
  const hint = hints.sort((a, b) => b.labelCount - a.labelCount)[0];
  const zone = await chain.zoneOf(hint ?? holder, run);
  if (zone.state !== 'secure') {
    if (zone.state !== 'insecure') run.keysFailed = true;
    run.trace?.push({ zone: zone.zone.toString(), kind: 'rrset', subject, state: zone.state, detail: zone.outcome.reason });
    return { outcome: zone.outcome, zone: zone.zone };
  }
  // Only RRSIGs whose signer is the zone count; one of them is enough (the others are skipped).
  const signer = signers.find((s) => !s.equals(zone.zone));
  if (signer && !signers.some((s) => s.equals(zone.zone))) {
    const why = !holder.isSubdomainOf(signer)
      ? `${signer} does not enclose it`
      : !signer.isSubdomainOf(anchor.zone)
        ? `${signer} is above the trust anchor ${anchor.zone}`
        : signer.isSubdomainOf(zone.zone)
          ? `${signer} is not a zone apex`
          : `${signer} is a zone above the one that holds it`;
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

/** The signers the RRSIGs name, each once; a malformed RRSIG names nothing. */
export function signersOf(rrsigs: readonly ResourceRecord[]): Name[] {
  const out: Name[] = [];
  for (const sig of rrsigs) {
    if (sig.type !== RRType.RRSIG) continue;
    try {
      const signer = decodeRrsig(sig.rdata).signerName;
      if (!out.some((s) => s.equals(signer))) out.push(signer);
    } catch {
      // another RRSIG may name one
    }
  }
  return out;
}
