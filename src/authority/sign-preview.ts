import { formatDuration } from '../config/duration.js';
import { algorithmMnemonic } from '../crypto/algorithms.js';
import type { KeyMetadata } from './key-store.js';
import type { SigningPolicy } from './signing-policy.js';
import { algorithmDiffers, algorithmRolloverOf } from './rollover/algorithm-rollover.js';

/** One signing option that `zone sign` would change, both sides as an operator reads them. */
export interface SigningChange {
  readonly field: keyof SigningPolicy;
  readonly from: string;
  readonly to: string;
}

/**
 * What `zone sign` would do to a zone, computed by the server so the CLI and the console show
 * the same: the options that differ, and what happens to the keys.
 */
export interface SignPreview {
  readonly zone: string;
  /** The zone is signed now: signing it again changes a live zone, so callers ask to confirm. */
  readonly signed: boolean;
  readonly changes: readonly SigningChange[];
  /** An algorithm rollover this signing starts (every key is replaced in stages), or null. */
  readonly algorithmRollover: { readonly from: readonly string[]; readonly to: string } | null;
  /** An algorithm rollover already under way (the new policy waits for it), or null. */
  readonly algorithmRolloverUnderway: { readonly from: string; readonly to: string } | null;
  /** Keys of the same algorithm but another size: generated anew and the old ones retired at once. */
  readonly keysRegenerated: boolean;
  /** A `zone unsign` under way is called off. */
  readonly endsUnsign: boolean;
  /** Whether `zone sign` needs the caller's confirmation (`--yes`, the console's confirm). */
  readonly needsConfirmation: boolean;
}

const algorithmText = (n: number) => `${algorithmMnemonic(n) ?? 'ALG'}(${n})`;

/** How each option reads; periods as durations, so `kskRollover 755d → 365d`. */
const SHOW: { readonly [K in keyof SigningPolicy]-?: (v: SigningPolicy[K]) => string } = {
  algorithm: algorithmText,
  kskBits: String,
  zskBits: String,
  denial: (d) => d.toUpperCase(),
  nsec3Iterations: String,
  nsec3SaltLength: (n) => `${n} octets`,
  nsec3OptOut: String,
  dnskeySignatureValidity: formatDuration,
  dsSignatureValidity: formatDuration,
  signatureValidity: formatDuration,
  signatureInception: formatDuration,
  dnskeyTtl: formatDuration,
  dsTtl: formatDuration,
  dsDigest: (d) => (d === 2 ? 'SHA-256' : 'SHA-384'),
  kskRollover: formatDuration,
  zskRollover: formatDuration,
  rfc5011: String,
  distributeTrustAnchor: String,
};

/** The options of `next` that differ from `current` (every option when the zone is not signed). */
export function signingChanges(current: SigningPolicy | undefined, next: SigningPolicy): SigningChange[] {
  const changes: SigningChange[] = [];
  for (const field of Object.keys(SHOW) as (keyof SigningPolicy)[]) {
    if (current && current[field] === next[field]) continue;
    const show = SHOW[field] as (v: unknown) => string;
    changes.push({ field, from: current ? show(current[field]) : '-', to: show(next[field]) });
  }
  return changes;
}

/**
 * The preview of signing a zone whose policy is `current` (undefined: unsigned) and whose stored
 * keys are `keys` with `next`. The algorithm rollover rule is keysForSigning's
 * (rollover/zone-rollover.ts): active keys of another algorithm, an active KSK and ZSK, none under way.
 */
export function signPreview(zone: string, current: SigningPolicy | undefined, next: SigningPolicy, keys: readonly KeyMetadata[], unsigning: boolean): SignPreview {
  const published = keys.filter((k) => k.state !== 'retired');
  const underway = algorithmRolloverOf(published);
  const active = (role: 'ksk' | 'zsk') => published.some((k) => k.role === role && k.state === 'active');
  const starts = current !== undefined && !underway && algorithmDiffers(published, next.algorithm) && active('ksk') && active('zsk');
  const sizes = published.some((k) => k.algorithm === next.algorithm && k.bits !== (k.role === 'ksk' ? next.kskBits : next.zskBits));
  const changes = current ? signingChanges(current, next) : [];
  return {
    zone,
    signed: current !== undefined,
    changes,
    algorithmRollover: starts ? { from: [...new Set(published.filter((k) => k.state === 'active').map((k) => k.algorithm))].sort((a, b) => a - b).map(algorithmText), to: algorithmText(next.algorithm) } : null,
    algorithmRolloverUnderway: underway ? { from: algorithmText(underway.from), to: algorithmText(underway.to) } : null,
    keysRegenerated: current !== undefined && !starts && !underway && sizes,
    endsUnsign: unsigning,
    needsConfirmation: current !== undefined && (changes.length > 0 || unsigning),
  };
}
