import { algorithmFromMnemonic, algorithmMnemonic, isSupportedAlgorithm } from '../crypto/algorithms.js';
import { SIGNING_ALGORITHMS, type SigningOptions, defaultSigningOptions } from '../config/zone-schema.js';
import { RSA_DEFAULT_BITS, RSA_MAX_BITS, RSA_MIN_BITS } from '../crypto/key-generation.js';
import { algorithmProfile } from '../crypto/algorithm-profile.js';
import { formatDuration } from '../config/duration.js';

/**
 * The zone signing wizard's parameters (the Microsoft DNS Server's "Customize zone signing
 * parameters" page), as the signer and the Key Master use them: numbers, seconds, no text. The
 * periods, TTLs and switches are the config's `signing:` keys of the same name (SigningOptions).
 * `config/zone-schema.ts` has the YAML form (and config/defaults.ts the defaults of both);
 * `signingPolicyOf` converts one to the other.
 *
 * A zone's signing policy only: not the resolver's NRPT-like policy table (src/policy/), nor the
 * server-wide rollover timers (`RolloverTimers`, config `dnssec.rollover`) that every zone's
 * rollovers wait out.
 */
export interface SigningPolicy
  extends Pick<
    SigningOptions,
    'denial' | 'dnskeySignatureValidity' | 'dsSignatureValidity' | 'signatureValidity' | 'signatureInception' | 'dnskeyTtl' | 'dsTtl' | 'kskRollover' | 'zskRollover' | 'rfc5011' | 'distributeTrustAnchor'
  > {
  /** DNSSEC algorithm number of both KSK and ZSK (one algorithm per zone: RFC 6840 §5.11). */
  readonly algorithm: number;
  /** RSA modulus bits, 0 for the algorithm's default; fixed for ECDSA and EdDSA. */
  readonly kskBits: number;
  readonly zskBits: number;
  /** Extra NSEC3 iterations (RFC 9276: 0). */
  readonly nsec3Iterations: number;
  /** Octets of random salt (RFC 9276: 0, no salt). */
  readonly nsec3SaltLength: number;
  readonly nsec3OptOut: boolean;
  /** DS digest type written to dsset- files (2 SHA-256, 4 SHA-384). */
  readonly dsDigest: 2 | 4;
}

const HOUR = 3600;

/** A bad signing parameter; `field` names it as the CLI and config spell it. */
export class SigningPolicyError extends Error {
  override readonly name = 'SigningPolicyError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** The fixed key size of a non-RSA algorithm, in bits as dnssec-keygen counts them. */
export function fixedKeyBits(algorithm: number): number | undefined {
  const profile = algorithmProfile(algorithm);
  if (profile.keyType === 'rsa') return undefined;
  return profile.keyType === 'ec' ? profile.size * 8 : profile.publicKeyLength * 8;
}

/** An algorithm given as a number (`13`) or mnemonic (`ECDSAP256SHA256`); only ones we can sign with. */
export function parseSigningAlgorithm(text: string | number): number {
  const number = typeof text === 'number' ? text : /^[0-9]+$/.test(text) ? Number(text) : algorithmFromMnemonic(text.replace(/_/g, '-'));
  if (number === 5 || number === 7)
    throw new SigningPolicyError('algorithm', `algorithm ${number} (${algorithmMnemonic(number)}) uses SHA-1 and must not be used to sign (RFC 8624)`);
  if (number === undefined || !SIGNABLE.has(number)) {
    const choices = SIGNING_ALGORITHMS.map((m) => `${algorithmFromMnemonic(m)} ${m}`);
    throw new SigningPolicyError('algorithm', `unknown or unsupported DNSSEC algorithm "${text}" (use ${choices.slice(0, -1).join(', ')} or ${choices.at(-1)})`);
  }
  return number;
}

/**
 * Checks a policy and fills key sizes that follow from the algorithm. Throws
 * SigningPolicyError naming the first bad field; returns a new policy otherwise.
 */
export function normalizeSigningPolicy(policy: SigningPolicy): SigningPolicy {
  const algorithm = parseSigningAlgorithm(policy.algorithm);
  const fixed = fixedKeyBits(algorithm);
  const bits = (field: 'kskBits' | 'zskBits', value: number): number => {
    if (fixed !== undefined) return fixed;
    const v = value === 0 || value === undefined ? RSA_DEFAULT_BITS : value;
    if (!Number.isInteger(v) || v < RSA_MIN_BITS || v > RSA_MAX_BITS) throw new SigningPolicyError(field, `RSA key size must be ${RSA_MIN_BITS}..${RSA_MAX_BITS} bits, got ${value}`);
    return v;
  };
  // Periods are said as durations (`1h`, `30m`): the API, console and CLI callers think in them.
  const positive = (field: keyof SigningPolicy, min: number) => {
    const v = policy[field] as unknown;
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new SigningPolicyError(field, `must be a duration (whole seconds) of at least ${formatDuration(min)}, got ${JSON.stringify(v)}`);
    if (v < min) throw new SigningPolicyError(field, `must be at least ${formatDuration(min)}, got ${v < 0 ? `${v} seconds` : formatDuration(v)}`);
  };
  positive('dnskeySignatureValidity', HOUR);
  positive('dsSignatureValidity', HOUR);
  positive('signatureValidity', HOUR);
  positive('signatureInception', 0);
  positive('dnskeyTtl', 0);
  positive('dsTtl', 0);
  positive('kskRollover', HOUR);
  positive('zskRollover', HOUR);
  if (!Number.isInteger(policy.nsec3Iterations) || policy.nsec3Iterations < 0 || policy.nsec3Iterations > 500)
    throw new SigningPolicyError('nsec3Iterations', `must be 0..500 (RFC 9276 recommends 0), got ${policy.nsec3Iterations}`);
  if (!Number.isInteger(policy.nsec3SaltLength) || policy.nsec3SaltLength < 0 || policy.nsec3SaltLength > 255)
    throw new SigningPolicyError('nsec3SaltLength', `must be 0..255 octets, got ${policy.nsec3SaltLength}`);
  if (policy.dsDigest !== 2 && policy.dsDigest !== 4) throw new SigningPolicyError('dsDigest', `must be sha256 (2) or sha384 (4), got ${String(policy.dsDigest)}`);
  if (policy.denial !== 'nsec' && policy.denial !== 'nsec3') throw new SigningPolicyError('denial', `must be nsec or nsec3, got ${String(policy.denial)}`);
  return { ...policy, algorithm, kskBits: bits('kskBits', policy.kskBits), zskBits: bits('zskBits', policy.zskBits) };
}

/** `sha256` / `sha384` (or 2 / 4) as a DS digest type. */
export function parseDsDigest(text: string | number): 2 | 4 {
  const t = String(text).toLowerCase();
  if (t === 'sha256' || t === 'sha-256' || t === '2') return 2;
  if (t === 'sha384' || t === 'sha-384' || t === '4') return 4;
  throw new SigningPolicyError('digest', `unknown DS digest "${text}" (use sha256 or sha384)`);
}

/** The algorithms a zone can be signed with: the config file's choices, each one this server can sign with. */
const SIGNABLE: ReadonlySet<number> = new Set(
  SIGNING_ALGORITHMS.map((m) => {
    const number = algorithmFromMnemonic(m);
    if (number === undefined || !isSupportedAlgorithm(number)) throw new Error(`signing algorithm ${m} has no implementation`);
    return number;
  }),
);

/** A `signing:` table of the config file (parsed) as a policy, not yet normalised: key sizes of 0 stay "the algorithm's default". */
export function signingPolicyOf(o: SigningOptions): SigningPolicy {
  return {
    algorithm: algorithmFromMnemonic(o.algorithm)!,
    kskBits: o.kskKeySize ?? 0,
    zskBits: o.zskKeySize ?? 0,
    denial: o.denial,
    nsec3Iterations: o.nsec3.iterations,
    nsec3SaltLength: o.nsec3.saltLength,
    nsec3OptOut: o.nsec3.optOut,
    dnskeySignatureValidity: o.dnskeySignatureValidity,
    dsSignatureValidity: o.dsSignatureValidity ?? o.dnskeySignatureValidity,
    signatureValidity: o.signatureValidity,
    signatureInception: o.signatureInception,
    dnskeyTtl: o.dnskeyTtl,
    dsTtl: o.dsTtl,
    dsDigest: parseDsDigest(o.dsDigest),
    kskRollover: o.kskRollover,
    zskRollover: o.zskRollover,
    rfc5011: o.rfc5011,
    distributeTrustAnchor: o.distributeTrustAnchor ?? false,
  };
}

/** The config file's `signing:` table as the signer's policy. */
export function signingPolicyFromConfig(o: SigningOptions): SigningPolicy {
  return normalizeSigningPolicy(signingPolicyOf(o));
}

/**
 * `signing: defaults` (`zone sign --defaults`): config/defaults.ts's SIGNING_DEFAULTS, the one
 * definition, as a policy. Modern choices: ECDSA P-256, NSEC3 with no extra iterations and no salt
 * (RFC 9276), the Microsoft wizard's periods.
 */
export const DEFAULT_SIGNING_POLICY: SigningPolicy = signingPolicyOf(defaultSigningOptions());
