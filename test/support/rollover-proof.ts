import { authenticateDnskeyRrset, decodeDs } from '../../src/dnssec/dnskey-authentication.js';
import { decodeDnskey } from '../../src/dnssec/rrsig-signature.js';
import { type VerifyContext, verifyRrset } from '../../src/dnssec/rrset-verification.js';
import { DEFAULT_VALIDATION_LIMITS, ValidationBudget, type ValidationLimits } from '../../src/dnssec/validation-budget.js';
import { activeRefreshSeconds, applyTimers, applyValidatedKeys, type Rfc5011Timers } from '../../src/trust/rfc5011.js';
import { selfSignedRevocations } from '../../src/trust/self-signed-revocation.js';
import { anchorTrustedAt, newAnchor, type TrustPoint } from '../../src/trust/trust-point.js';
import type { ResourceRecord } from '../../src/wire/message.js';
import type { Name } from '../../src/wire/name.js';
import { RRType, typeToString } from '../../src/wire/rr-type.js';
import { groupRrsets } from '../../src/wire/rrsets.js';
import { decodeRrsig } from '../../src/wire/signed-data.js';
import type { DsVersion, ZoneVersion } from './rollover-world.js';

/**
 * The timing proof, by simulation: at every instant that matters, every combination of a DS
 * RRset, a DNSKEY RRset and a data RRset that some resolver could hold in its cache at that
 * instant (each served at some earlier time and still within its TTL, plus the propagation
 * delay of the zone's or the parent's secondaries) must validate with the validator's own code:
 * `authenticateDnskeyRrset` for DS + DNSKEY, `verifyRrset` for every RRset with the keys that
 * DNSKEY RRset gave. With `trustPoint`, resolvers that track the zone as an RFC 5011 trust point
 * (refreshing on the RFC's schedule, some seeing the newest and some the oldest cacheable DNSKEY
 * RRset) must at every instant authenticate, from the anchors they hold then, every DNSKEY RRset
 * they could fetch then (the zone's, or an older one a secondary still serves).
 *
 * Besides resolvers that follow RFC 6840 §5.11 (any one valid path is enough), two stricter kinds
 * are checked whenever more than one algorithm is in play (an algorithm rollover): one that wants
 * every algorithm of the DNSKEY RRset it holds to sign every RRset, the DNSKEY RRset included
 * (RFC 4035 §2.2 read as a validator's rule), and one that wants every algorithm of the DS RRset
 * it holds to authenticate the DNSKEY RRset (Unbound's harden-algo-downgrade).
 *
 * The instants: the first moment of every version, and the last second before each version's
 * data of each TTL leaves the caches. Between two such instants the set of cacheable
 * combinations does not change, so checking these checks every instant (signature windows are
 * checked at each instant too, with no clock skew allowed).
 */

export interface ProofInput {
  readonly zone: Name;
  readonly versions: readonly ZoneVersion[];
  readonly dsVersions: readonly DsVersion[];
  /** Seconds. */
  readonly propagationDelay: number;
  readonly parentPropagationDelay: number;
  /** Last instant to check (ms). */
  readonly end: number;
  readonly trustPoint?: {
    /** Anchors the resolvers start with (DNSKEY RDATA), trusted from the first version. */
    readonly initialKeys: readonly Uint8Array[];
    readonly timers: Rfc5011Timers;
    /** How many resolvers; their refreshes are spread over one refresh interval. */
    readonly resolvers: number;
  };
}

export interface ProofResult {
  readonly failures: string[];
  readonly instants: number;
  readonly dnskeyChecks: number;
  readonly rrsetChecks: number;
  readonly refreshes: number;
  /** Checks of the strict resolvers (one per algorithm, where more than one is in play). */
  readonly strictChecks: number;
}

interface PreparedRrset {
  readonly records: ResourceRecord[];
  readonly sigs: ResourceRecord[];
  readonly ttl: number;
  readonly what: string;
}

interface PreparedVersion {
  readonly from: number;
  readonly to: number;
  readonly label: string;
  readonly dnskey: PreparedRrset;
  readonly rrsets: PreparedRrset[];
}

const LIMITS: ValidationLimits = { ...DEFAULT_VALIDATION_LIMITS, clockSkew: 0 };

function ctxAt(ms: number): VerifyContext {
  return { now: Math.floor(ms / 1000), limits: LIMITS, budget: new ValidationBudget({ ...LIMITS, maxSignatureChecks: 1_000_000 }) };
}

function prepare(zone: Name, versions: readonly ZoneVersion[], end: number): PreparedVersion[] {
  return versions.map((v, i) => {
    const sigs = v.records.filter((r) => r.type === RRType.RRSIG);
    const sigsFor = (set: ResourceRecord[]) => {
      const first = set[0]!;
      return sigs.filter((s) => s.name.equals(first.name) && decodeRrsig(s.rdata).typeCovered === first.type);
    };
    const sets = groupRrsets(v.records.filter((r) => r.type !== RRType.RRSIG)).map((records) => ({
      records,
      sigs: sigsFor(records),
      ttl: Math.min(...records.map((r) => r.ttl)),
      what: `${records[0]!.name}/${typeToString(records[0]!.type)}`,
    }));
    const dnskey = sets.find((s) => s.records[0]!.type === RRType.DNSKEY && s.records[0]!.name.equals(zone))!;
    return { from: v.from, to: versions[i + 1]?.from ?? end + 1, label: `v${i} ${v.label}`, dnskey, rrsets: sets.filter((s) => s !== dnskey) };
  });
}

/** Whether data served during [from, to) with `ttl` may be in some cache at `t` (all ms; delay in s). */
const cacheable = (from: number, to: number, ttl: number, delay: number, t: number) => from <= t && t < to + (ttl + delay) * 1000;

export function proveRolloverTiming(input: ProofInput): ProofResult {
  const { zone, end } = input;
  const versions = prepare(zone, input.versions, end);
  const ds = input.dsVersions.map((d, i) => ({ ...d, to: input.dsVersions[i + 1]?.from ?? end + 1, label: `ds${i}` }));
  const failures: string[] = [];
  let dnskeyChecks = 0;
  let rrsetChecks = 0;
  let refreshes = 0;
  let strictChecks = 0;
  const fail = (t: number, what: string) => {
    if (failures.length < 50) failures.push(`${new Date(t).toISOString()}: ${what}`);
  };

  // The instants.
  const instants = new Set<number>();
  for (const v of versions) {
    instants.add(v.from);
    for (const s of [v.dnskey, ...v.rrsets]) instants.add(v.to + (s.ttl + input.propagationDelay) * 1000 - 1000);
  }
  for (const d of ds) {
    instants.add(d.from);
    instants.add(d.to + (d.ttl + input.parentPropagationDelay) * 1000 - 1000);
  }

  // RFC 5011 resolvers: their refresh times join the timeline.
  type Resolver = { tp: TrustPoint; next: number; oldest: boolean; name: string };
  const resolvers: Resolver[] = [];
  const tpOptions = input.trustPoint;
  const refreshInterval = (v: PreparedVersion, t: number) => {
    const sig = v.dnskey.sigs.map((s) => decodeRrsig(s.rdata).expiration * 1000 - t);
    return activeRefreshSeconds({ originalTtl: v.dnskey.ttl, expirationInterval: Math.max(0, Math.min(...sig)) / 1000 }, tpOptions!.timers) * 1000;
  };
  if (tpOptions) {
    const start = versions[0]!.from;
    const interval = refreshInterval(versions[0]!, start);
    for (let i = 0; i < tpOptions.resolvers; i++) {
      const anchors = tpOptions.initialKeys.map((k) => newAnchor('DNSKEY', k, { state: 'Valid', since: start, origin: 'keyset' }));
      resolvers.push({ tp: { zone: zone.toString(), anchors, createdAt: start, failures: 0 }, next: start + Math.floor((interval * i) / tpOptions.resolvers), oldest: i % 2 === 1, name: `resolver ${i}` });
    }
  }

  const trustedKeys = (tp: TrustPoint, t: number) => tp.anchors.filter((a) => a.type === 'DNSKEY' && anchorTrustedAt(a, t)).map((a) => a.rdata);

  /** Everything cacheable at `t`; with `only`, just those resolvers' anchors against what they may fetch (nothing else changed). */
  const check = (t: number, only?: readonly Resolver[]) => {
    const dnskeyVersions = versions.filter((v) => cacheable(v.from, v.to, v.dnskey.ttl, input.propagationDelay, t));
    const dsNow = ds.filter((d) => cacheable(d.from, d.to, d.ttl, input.parentPropagationDelay, t));
    for (const k of dnskeyVersions) {
      let keys: Uint8Array[] | undefined;
      for (const d of only ? [] : dsNow) {
        dnskeyChecks++;
        const auth = authenticateDnskeyRrset(zone, k.dnskey.records, k.dnskey.sigs, { ds: d.ds, dnskey: [] }, ctxAt(t));
        if (auth.outcome.state !== 'secure') fail(t, `DS ${d.label} + DNSKEY of ${k.label}: ${auth.outcome.state}: ${auth.outcome.reason}`);
        else keys = auth.keys;
        // Every algorithm of the DS RRset must authenticate the DNSKEY RRset (harden-algo-downgrade).
        const dsAlgorithms = algorithmsOf(d.ds.map((x) => decodeDs(x).algorithm));
        if (dsAlgorithms.length > 1)
          for (const a of dsAlgorithms) {
            strictChecks++;
            const strict = authenticateDnskeyRrset(zone, k.dnskey.records, k.dnskey.sigs, { ds: d.ds.filter((x) => decodeDs(x).algorithm === a), dnskey: [] }, ctxAt(t));
            if (strict.outcome.state !== 'secure') fail(t, `DS ${d.label} (algorithm ${a}, every DS algorithm required) + DNSKEY of ${k.label}: ${strict.outcome.reason}`);
          }
      }
      // A trust-point resolver validates a DNSKEY RRset when it fetches it, with the anchors it
      // holds then, and keeps using the validated copy until its TTL runs out (it is not
      // validated again after a revocation). So: every RRset it may fetch now (from the zone or
      // a secondary still serving an older version) must validate with its anchors now.
      const fetchable = cacheable(k.from, k.to, 0, input.propagationDelay, t);
      for (const r of fetchable ? (only ?? resolvers) : []) {
        dnskeyChecks++;
        const auth = authenticateDnskeyRrset(zone, k.dnskey.records, k.dnskey.sigs, { ds: [], dnskey: trustedKeys(r.tp, t) }, ctxAt(t));
        if (auth.outcome.state !== 'secure') fail(t, `${r.name} (trust point) + DNSKEY of ${k.label}: ${auth.outcome.state}: ${auth.outcome.reason}`);
        else keys ??= auth.keys;
      }
      if (!keys || only) continue;
      // A strict validator wants a valid signature by every algorithm of the DNSKEY RRset it holds.
      const trusted = keys;
      const keyAlgorithms = algorithmsOf(trusted.map((x) => decodeDnskey(x).algorithm));
      const strictly = (records: ResourceRecord[], sigs: ResourceRecord[], what: string) => {
        if (keyAlgorithms.length < 2) return;
        for (const a of keyAlgorithms) {
          strictChecks++;
          const verified = verifyRrset(records, sigs, zone, trusted.filter((x) => decodeDnskey(x).algorithm === a), ctxAt(t));
          if (verified.outcome.state !== 'secure') fail(t, `${what} (algorithm ${a}, every DNSKEY algorithm required): ${verified.outcome.reason}`);
        }
      };
      strictly(k.dnskey.records, k.dnskey.sigs, `the DNSKEY RRset of ${k.label}`);
      for (const v of versions) {
        for (const s of v.rrsets) {
          if (!cacheable(v.from, v.to, s.ttl, input.propagationDelay, t)) continue;
          rrsetChecks++;
          const verified = verifyRrset(s.records, s.sigs, zone, keys, ctxAt(t));
          if (verified.outcome.state !== 'secure') fail(t, `${s.what} of ${v.label} with the DNSKEY RRset of ${k.label}: ${verified.outcome.reason}`);
          strictly(s.records, s.sigs, `${s.what} of ${v.label} with the DNSKEY RRset of ${k.label}`);
        }
      }
    }
  };

  const refresh = (r: Resolver, t: number) => {
    refreshes++;
    const candidates = versions.filter((v) => cacheable(v.from, v.to, v.dnskey.ttl, input.propagationDelay, t));
    const v = r.oldest ? candidates[0]! : candidates.at(-1)!;
    const ctx = ctxAt(t);
    const auth = authenticateDnskeyRrset(zone, v.dnskey.records, v.dnskey.sigs, { ds: [], dnskey: trustedKeys(r.tp, t) }, ctx);
    if (auth.outcome.state !== 'secure') {
      fail(t, `${r.name}: RFC 5011 refresh with the DNSKEY RRset of ${v.label} did not validate: ${auth.outcome.reason}`);
    } else {
      const seen = {
        dnskeys: v.dnskey.records.map((x) => x.rdata),
        selfSignedRevocations: selfSignedRevocations(zone, v.dnskey.records, v.dnskey.sigs, ctx.now, LIMITS),
        originalTtl: v.dnskey.ttl,
        at: t,
      };
      const result = applyValidatedKeys(r.tp, seen, tpOptions!.timers);
      if (!result.trustPoint) fail(t, `${r.name}: the trust point was deleted (every anchor revoked)`);
      else r.tp = result.trustPoint;
    }
    r.next = t + refreshInterval(v, t);
  };

  const sorted = [...instants].filter((t) => t >= versions[0]!.from && t <= end).sort((a, b) => a - b);
  let i = 0;
  for (;;) {
    const nextRefresh = resolvers.length === 0 ? Infinity : Math.min(...resolvers.map((r) => r.next));
    const nextInstant = sorted[i] ?? Infinity;
    if (nextRefresh === Infinity && nextInstant === Infinity) break;
    if (nextRefresh <= nextInstant && nextRefresh <= end) {
      const due = resolvers.filter((r) => r.next === nextRefresh);
      for (const r of due) refresh(r, nextRefresh);
      for (const r of resolvers) r.tp = applyTimers(r.tp, nextRefresh).trustPoint ?? r.tp;
      check(nextRefresh, due);
      continue;
    }
    if (nextInstant === Infinity) break;
    check(nextInstant);
    i++;
  }
  return { failures, instants: sorted.length, dnskeyChecks, rrsetChecks, refreshes, strictChecks };
}

/** The distinct algorithms, in order. */
function algorithmsOf(algorithms: readonly number[]): number[] {
  return [...new Set(algorithms)].sort((a, b) => a - b);
}
