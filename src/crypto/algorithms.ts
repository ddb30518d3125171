/**
 * DNSSEC algorithm numbers and mnemonics (IANA "DNS Security Algorithm Numbers"): the one table
 * of them; the constants and both lookups are read from it. Known-but-unsupported algorithms keep
 * their mnemonics so presentation format and "unsupported algorithm" reasons can still name them.
 * Numbers come off the wire as plain integers, so the API takes `number` and narrows with
 * `isSupportedAlgorithm`.
 */
const ALGORITHM_TABLE = [
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
] as const;

type Row = (typeof ALGORITHM_TABLE)[number];
type Identifier<S extends string> = S extends `${infer A}-${infer B}` ? Identifier<`${A}_${B}`> : S;

/** The numbers by mnemonic as identifiers (`DSA_NSEC3_SHA1`). */
export const DnssecAlgorithm = Object.fromEntries(ALGORITHM_TABLE.map(([number, mnemonic]) => [mnemonic.replace(/-/g, '_'), number])) as {
  readonly [R in Row as Identifier<R[1]>]: R[0];
};

export type SupportedAlgorithm = 5 | 7 | 8 | 10 | 13 | 14 | 15 | 16;

const MNEMONICS: ReadonlyMap<number, string> = new Map(ALGORITHM_TABLE);

const BY_MNEMONIC: ReadonlyMap<string, number> = new Map(ALGORITHM_TABLE.map(([number, mnemonic]) => [mnemonic, number]));

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
