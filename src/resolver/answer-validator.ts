import { verifyRrset } from '../dnssec/rrset-verification.js';
import { type SecurityState, type ValidationOutcome, bogus, insecure, secure } from '../dnssec/validation-outcome.js';
import { EdeCode } from '../wire/edns.js';
import type { Question, ResourceRecord } from '../wire/message.js';
import { Rcode } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import { decodeRdata } from '../wire/rdata-codec.js';
import { RRType, typeToString } from '../wire/rr-type.js';
import { type ChainOfTrust, type ValidationRun, capTtl, prove, yieldToOthers } from './chain-of-trust.js';
import type { Resolution } from './iterator.js';
import { DENIAL_LINK, rrsetKey } from './link-origins.js';
import { findKeys, holderOf, signersOf } from './key-finding.js';
import { type SignedRrset, signedRrsets, synthesiseFromDname } from './response-classifier.js';
import { traceSignatures } from './validation-trace.js';

const rank: Record<SecurityState, number> = { secure: 0, insecure: 1, indeterminate: 2, bogus: 3 };

/** The weakest of several outcomes: bogus over indeterminate over insecure over secure. */
function weakest(outcomes: readonly ValidationOutcome[]): ValidationOutcome {
  let worst: ValidationOutcome | undefined;
  for (const o of outcomes) if (!worst || rank[o.state] > rank[worst.state]) worst = o;
  return worst ?? secure('nothing to validate');
}

const typeName = typeToString;

/**
 * A link answered by a zone this server hosts: trusted as it is, never validated, so the answer
 * it is part of is at best insecure (no AD). Only that link: the others are validated as usual.
 */
function hosted(first: ResourceRecord | undefined, run: ValidationRun, subject = `${first?.name}/${typeName(first?.type ?? 0)}`): ValidationOutcome {
  const outcome = insecure(`${subject}: answered from a zone this server hosts: trusted without validation`);
  run.trace?.push({ zone: '-', kind: 'rrset', subject, state: 'insecure', detail: outcome.reason });
  return outcome;
}

/**
 * Validates what the iterator resolved for a question (RFC 4035 §5): every RRset of the answer
 * chain, link by link (CNAME, DNAME and the CNAME synthesised from it), wildcard expansions with
 * their proof that the name itself does not exist, and negative answers with their NSEC/NSEC3
 * proof for the last name of the chain. The answer is as strong as its weakest link.
 */
export class AnswerValidator {
  constructor(private readonly chain: ChainOfTrust) {}

  async validate(question: Question, resolution: Resolution, run: ValidationRun): Promise<ValidationOutcome> {
    if (resolution.rcode !== Rcode.NOERROR && resolution.rcode !== Rcode.NXDOMAIN) return insecure('nothing to validate in a failed resolution');
    const outcomes: ValidationOutcome[] = [];
    const sets = signedRrsets(resolution.answer);
    const proofs = resolution.authority.filter((r) => r.type === RRType.NSEC || r.type === RRType.NSEC3 || r.type === RRType.RRSIG || r.type === RRType.SOA);
    let lastName = question.name;
    let answered = false;
    for (let i = 0; i < sets.length; i++) {
      const set = sets[i]!;
      const first = set.records[0]!;
      if (first.type === RRType.CNAME && set.rrsigs.length === 0 && isSynthesisedFrom(sets[i - 1], first)) {
        lastName = decodeRdata(RRType.CNAME, first.rdata)['target'] as Name;
        continue; // as good as the DNAME it came from, which is checked
      }
      const outcome = resolution.hostedLinks?.has(rrsetKey(first.name, first.type)) ? hosted(first, run) : await this.validateRrset(set, proofs, run);
      outcomes.push(outcome);
      if (outcome.state === 'bogus') {
        run.failedLink = rrsetKey(first.name, first.type);
        return outcome;
      }
      if (first.type === RRType.CNAME && !(question.type === RRType.CNAME && first.name.equals(question.name))) lastName = decodeRdata(RRType.CNAME, first.rdata)['target'] as Name;
      else if (first.type !== RRType.DNAME) answered = true;
    }
    if (!answered) {
      const kind = resolution.rcode === Rcode.NXDOMAIN ? 'nxdomain' : 'nodata';
      const denial = resolution.hostedDenial ? hosted(undefined, run, `${lastName}/${kind}`) : await this.validateDenial(kind, lastName, question.type, resolution.authority, run);
      if (denial.state === 'bogus') run.failedLink = DENIAL_LINK;
      outcomes.push(denial);
    }
    return weakest(outcomes);
  }

  /** One RRset: secure when signed by the keys of the zone that holds it; insecure when that zone is; bogus otherwise. */
  private async validateRrset(set: SignedRrset, proofs: readonly ResourceRecord[], run: ValidationRun): Promise<ValidationOutcome> {
    const first = set.records[0]!;
    const subject = `${first.name}/${typeName(first.type)}`;
    const signers = signersOf(set.rrsigs);
    const found = await findKeys(this.chain, holderOf(first.name, first.type), signers, subject, run);
    if ('outcome' in found) return found.outcome;
    const zone = found.keys;
    if (signers.length === 0) {
      const outcome = bogus(`${zone.zone}: ${subject} is in a signed zone but has no RRSIG`, EdeCode.RRSIGS_MISSING);
      run.trace?.push({ zone: zone.zone.toString(), kind: 'rrset', subject, state: 'bogus', detail: outcome.reason });
      return outcome;
    }
    const verified = verifyRrset(set.records, set.rrsigs, zone.zone, zone.keys, run);
    run.trace?.push({ zone: zone.zone.toString(), kind: 'rrset', subject, state: verified.outcome.state, detail: verified.outcome.reason, signatures: traceSignatures(verified.checks) });
    await yieldToOthers();
    if (verified.outcome.state !== 'secure') return verified.outcome;
    capTtl(run, set.records, verified.ttl);
    if (!verified.wildcardEncloser) return verified.outcome;

    // A wildcard expansion is only as good as the proof that the name itself does not exist (RFC 4035 §5.3.4).
    const denial = await this.chain.verifiedDenial(proofs, zone, run);
    if ('outcome' in denial) {
      const outcome = bogus(`${zone.zone}: ${subject} comes from the wildcard *.${verified.wildcardEncloser} without a valid proof that ${first.name} does not exist: ${denial.outcome.reason}`, EdeCode.NSEC_MISSING);
      run.trace?.push({ zone: zone.zone.toString(), kind: 'wildcard', subject, state: 'bogus', detail: outcome.reason });
      return outcome;
    }
    const proof = prove('wildcard-answer', first.name, first.type, zone.zone, denial.records, run, verified.wildcardEncloser);
    const wildcard = { encloser: verified.wildcardEncloser, records: set.records, rrsigs: set.rrsigs, ttl: verified.ttl };
    if (proof.state === 'secure') run.proven?.push({ zone: zone.zone, records: denial.records, soa: denial.soa, rrsigs: proofs, ttl: denial.ttl, wildcard });
    run.trace?.push({ zone: zone.zone.toString(), kind: 'wildcard', subject, state: proof.state, detail: proof.reason });
    return proof.state === 'secure' ? verified.outcome : proof;
  }

  /** NXDOMAIN or NODATA for `name`: proven with NSEC/NSEC3 the zone holding `name` signed, or that zone is insecure. */
  private async validateDenial(kind: 'nxdomain' | 'nodata', name: Name, qtype: number, authority: readonly ResourceRecord[], run: ValidationRun): Promise<ValidationOutcome> {
    const subject = `${name}/${kind === 'nxdomain' ? 'NXDOMAIN' : `NODATA ${typeName(qtype)}`}`;
    const signers = signersOf(authority);
    const found = await findKeys(this.chain, holderOf(name, qtype), signers, subject, run);
    if ('outcome' in found) return found.outcome;
    const zone = found.keys;
    if (signers.length === 0) {
      const outcome = bogus(`${zone.zone}: ${subject} from a signed zone without a signed NSEC or NSEC3 proof`, EdeCode.NSEC_MISSING);
      run.trace?.push({ zone: zone.zone.toString(), kind: 'denial', subject, state: 'bogus', detail: outcome.reason });
      return outcome;
    }
    const denial = await this.chain.verifiedDenial(authority, zone, run);
    if ('outcome' in denial) {
      run.trace?.push({ zone: zone.zone.toString(), kind: 'denial', subject, state: denial.outcome.state, detail: denial.outcome.reason });
      return denial.outcome;
    }
    const proof = prove(kind, name, qtype, zone.zone, denial.records, run);
    if (proof.state === 'secure') run.proven?.push({ zone: zone.zone, records: denial.records, soa: denial.soa, rrsigs: authority, ttl: denial.ttl });
    run.trace?.push({ zone: zone.zone.toString(), kind: 'denial', subject, state: proof.state, detail: proof.reason });
    return proof;
  }
}

function isSynthesisedFrom(previous: SignedRrset | undefined, cname: ResourceRecord): boolean {
  const dname = previous?.records[0];
  if (!dname || dname.type !== RRType.DNAME || !cname.name.isSubdomainOf(dname.name) || cname.name.equals(dname.name)) return false;
  const expected = synthesiseFromDname(dname, cname.name);
  return expected !== undefined && Buffer.compare(expected.rdata, cname.rdata) === 0;
}
