/**
 * DNSSEC algorithm numbers (IANA "DNS Security Algorithm Numbers"). Numbers come off the
 * wire as plain integers, so the API takes `number` and narrows with `isSupportedAlgorithm`.
 */
export const DnssecAlgorithm = {
  RSAMD5: 1,
  DSA: 3,
  RSASHA1: 5,
  DSA_NSEC3_SHA1: 6,
  RSASHA1_NSEC3_SHA1: 7,
  RSASHA256: 8,
  RSASHA512: 10,
  ECC_GOST: 12,
  ECDSAP256SHA256: 13,
  ECDSAP384SHA384: 14,
  ED25519: 15,
  ED448: 16,
} as const;

export type SupportedAlgorithm = 5 | 7 | 8 | 10 | 13 | 14 | 15 | 16;

// Known-but-unsupported algorithms keep their mnemonics so presentation format and
// "unsupported algorithm" reasons can still name them.
const MNEMONICS: ReadonlyMap<number, string> = new Map([
  [1, 'RSAMD5'],
  [3, 'DSA'],
  [5, 'RSASHA1'],
  [6, 'DSA-NSEC3-SHA1'],
  [7, 'RSASHA1-NSEC3-SHA1'],
  [8, 'RSASHA256'],
  [10, 'RSASHA512'],
  [12, 'ECC-GOST'],
  [13, 'ECDSAP256SHA256'],
  [14, 'ECDSAP384SHA384'],
  [15, 'ED25519'],
  [16, 'ED448'],
]);

const BY_MNEMONIC: ReadonlyMap<string, number> = new Map(
  [...MNEMONICS].map(([number, mnemonic]) => [mnemonic, number]),
);

const SUPPORTED: ReadonlySet<number> = new Set<SupportedAlgorithm>([5, 7, 8, 10, 13, 14, 15, 16]);

/** True for the algorithms this module can sign and verify (RSAMD5, DSA and GOST are not). */
export function isSupportedAlgorithm(algorithm: number): algorithm is SupportedAlgorithm {
  return SUPPORTED.has(algorithm);
}

/** The IANA mnemonic, e.g. `RSASHA256`, or undefined for a number without one. */
export function algorithmMnemonic(algorithm: number): string | undefined {
  return MNEMONICS.get(algorithm);
}

/** The number for a mnemonic; case-insensitive because presentation format is. */
export function algorithmFromMnemonic(mnemonic: string): number | undefined {
  return BY_MNEMONIC.get(mnemonic.toUpperCase());
}
