import type { SigningOptions } from '../config/schema.js';
import { type SigningPolicy, normalizeSigningPolicy, parseDsDigest } from './signing-options.js';

const ALGORITHM_BY_CONFIG: Record<SigningOptions['algorithm'], number> = {
  RSASHA256: 8,
  RSASHA512: 10,
  ECDSAP256SHA256: 13,
  ECDSAP384SHA384: 14,
  ED25519: 15,
  ED448: 16,
};

/** The config file's `signing:` table as the signer's policy. */
export function policyFromConfig(o: SigningOptions): SigningPolicy {
  return normalizeSigningPolicy({
    algorithm: ALGORITHM_BY_CONFIG[o.algorithm],
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
  });
}
