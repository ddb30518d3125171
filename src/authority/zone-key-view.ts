import type { ManagedKey } from './key-master.js';
import type { KeyMetadata } from './key-store.js';
import type { KeyRolloverView } from './rollover/rollover-engine.js';

/** A key as `zone keys` shows it (Get-DnsServerSigningKey); never the private key. */
export interface ZoneKeyView {
  readonly keyId: string;
  readonly keyType: 'KeySigningKey' | 'ZoneSigningKey';
  readonly role: 'ksk' | 'zsk';
  readonly keyTag: number;
  readonly algorithm: number;
  readonly keyLength: number;
  readonly state: string;
  readonly created: string;
  readonly activated: string | null;
  readonly retired: string | null;
  readonly nextRolloverTime: string | null;
  readonly rolloverType: 'DoubleSignature' | 'PrePublish';
  /** `file` (PKCS#8 in the state dir) or `pkcs11:TOKEN` (the private key never leaves the token). */
  readonly keyStorage: string;
  /** Rollover columns (src/authority/rollover/): CurrentRolloverStatus, NextRolloverAction and its time, LastRolloverTime, the method. */
  readonly rollover?: KeyRolloverView;
}

const STATE_ORDER = ['active', 'presigning', 'standby', 'next', 'inactive', 'unpublished', 'revoked', 'retired'];

/** KSKs before ZSKs, active before standby/next before retired, then oldest first: the order Get-DnsServerSigningKey reads best in. */
export function sortKeys<K extends { metadata: KeyMetadata }>(keys: readonly K[]): K[] {
  return [...keys].sort(
    (a, b) =>
      (a.metadata.role === b.metadata.role ? 0 : a.metadata.role === 'ksk' ? -1 : 1) ||
      STATE_ORDER.indexOf(a.metadata.state) - STATE_ORDER.indexOf(b.metadata.state) ||
      a.metadata.created.localeCompare(b.metadata.created),
  );
}

export function keyLogFields(m: KeyMetadata): Record<string, unknown> {
  return { keyId: m.id, role: m.role, keyTag: m.keyTag, algorithm: m.algorithm, state: m.state };
}

export function keyView(k: ManagedKey | { metadata: KeyMetadata }): ZoneKeyView {
  const m = k.metadata;
  const ksk = m.role === 'ksk';
  return {
    keyId: m.id,
    keyType: ksk ? 'KeySigningKey' : 'ZoneSigningKey',
    role: m.role,
    keyTag: m.keyTag,
    algorithm: m.algorithm,
    keyLength: m.bits,
    state: m.state[0]!.toUpperCase() + m.state.slice(1),
    created: m.created,
    activated: m.activated ?? null,
    retired: m.retired ?? null,
    nextRolloverTime: m.nextRollover ?? null,
    rolloverType: ksk ? 'DoubleSignature' : 'PrePublish',
    keyStorage: m.storage?.pkcs11 ? `pkcs11:${m.storage.pkcs11.token}` : 'file',
  };
}
