import { algorithmMnemonic } from '../crypto/algorithms.js';
import { formatDuration } from '../config/duration.js';
import type { ZoneKeyView } from '../control-contract/zones.js';
import { chooseColumns } from './column-choice.js';
import { type Column, formatTable } from './table.js';

/** Characters of the KeyId shown by default: enough to tell keys apart, and a prefix `zone roll` takes. */
export const SHORT_KEY_ID = 8;

/** "in 89d23h", "3m ago": how far a time is from now, in at most two units. */
export function relativeTime(iso: string | null | undefined, now: number): string {
  if (!iso) return '-';
  const seconds = Math.round((Date.parse(iso) - now) / 1000);
  const text = formatDuration(Math.abs(seconds)).replace(/^((?:\d+[a-z]){1,2}).*$/, '$1');
  return seconds >= 0 ? `in ${text}` : `${text} ago`;
}

const time = (t: string | null | undefined) => t?.replace(/\.\d+Z$/, 'Z') ?? '-';
const algorithmText = (n: number) => `${algorithmMnemonic(n) ?? 'ALG'}(${n})`;

/** Every column `zone keys` knows, by the name `--output` takes (lowercase). */
function keyColumns(now: number): Record<string, Column<ZoneKeyView>> {
  return {
    keyid: { header: 'KeyId', value: (k) => k.keyId },
    id: { header: 'KeyId', value: (k) => k.keyId.slice(0, SHORT_KEY_ID) },
    tag: { header: 'KeyTag', value: (k) => String(k.keyTag), align: 'right' },
    type: { header: 'Type', value: (k) => k.role.toUpperCase() },
    keytype: { header: 'KeyType', value: (k) => k.keyType },
    state: { header: 'State', value: (k) => k.state },
    alg: { header: 'Alg', value: (k) => String(k.algorithm), align: 'right' },
    algorithm: { header: 'CryptoAlgorithm', value: (k) => algorithmText(k.algorithm) },
    length: { header: 'KeyLength', value: (k) => String(k.keyLength), align: 'right' },
    status: { header: 'RolloverStatus', value: (k) => k.rollover?.currentRolloverStatus ?? '-' },
    action: { header: 'NextAction', value: (k) => k.rollover?.nextRolloverAction ?? '-' },
    next: { header: 'Next', value: (k) => relativeTime(k.rollover?.nextRolloverActionTime ?? k.nextRolloverTime, now) },
    nexttime: { header: 'NextRolloverTime', value: (k) => time(k.rollover?.nextRolloverActionTime ?? k.nextRolloverTime) },
    last: { header: 'LastRolloverTime', value: (k) => time(k.rollover?.lastRolloverTime) },
    method: { header: 'RolloverType', value: (k) => k.rollover?.rolloverMethod ?? k.rolloverType },
    created: { header: 'CreatedTime', value: (k) => time(k.created) },
    activated: { header: 'ActivatedTime', value: (k) => time(k.activated) },
    retired: { header: 'RetiredTime', value: (k) => time(k.retired) },
    storage: { header: 'KeyStorage', value: (k) => k.keyStorage ?? 'file' },
  };
}

/** Within 120 columns: the key tag and a KeyId prefix to address keys by, and the rollover at a glance. */
const DEFAULT_COLUMNS = ['tag', 'id', 'type', 'state', 'alg', 'status', 'action', 'next'];
/** Get-DnsServerSigningKey's columns, every one in full. */
const WIDE_COLUMNS = ['keyid', 'keytype', 'state', 'tag', 'algorithm', 'length', 'storage', 'status', 'action', 'nexttime', 'last', 'method', 'created'];

/**
 * `zone keys` for people: DEFAULT_COLUMNS, WIDE_COLUMNS with `--wide`, or the columns `--output`
 * names (comma-separated). Unknown names are a usage error listing the known ones.
 */
export function formatKeyTable(keys: readonly ZoneKeyView[], options: { wide?: boolean; output?: string; now?: number } = {}): string {
  // Where the keys live is worth a column as soon as any of them is not a file (a PKCS#11 token).
  const normal = keys.some((k) => (k.keyStorage ?? 'file') !== 'file') ? [...DEFAULT_COLUMNS, 'storage'] : DEFAULT_COLUMNS;
  return formatTable(chooseColumns(keyColumns(options.now ?? Date.now()), { normal, wide: WIDE_COLUMNS }, options), keys);
}
