import type { ZoneKeyView } from '../control-contract/zones.js';
import { UsageError } from './usage.js';

/**
 * The key an operator means by KEY: a whole KeyId, a key tag (1 to 5 digits), or a prefix of a
 * KeyId that only one key has. A key tag two keys share (RFC 4034 Appendix B: tags collide) or an
 * ambiguous prefix is an error listing the candidates, never a guess. Retired keys are considered
 * only when nothing else matches.
 */
export function selectKey(keys: readonly ZoneKeyView[], key: string, zone: string): ZoneKeyView {
  const wanted = key.trim().toLowerCase();
  const exact = keys.find((k) => k.keyId.toLowerCase() === wanted);
  if (exact) return exact;
  const describe = (k: ZoneKeyView) => `${k.keyId.slice(0, 8)} (${k.role.toUpperCase()} ${k.keyTag}, ${k.state})`;
  const pick = (matches: readonly ZoneKeyView[], what: string): ZoneKeyView | undefined => {
    const live = matches.filter((k) => k.state !== 'Retired');
    const chosen = live.length > 0 ? live : matches;
    if (chosen.length === 1) return chosen[0];
    if (chosen.length > 1) throw new UsageError(`${what} "${key}" matches ${chosen.length} keys of ${zone}: ${chosen.map(describe).join(', ')}; give more of the KeyId`);
    return undefined;
  };
  if (/^[0-9]{1,5}$/.test(wanted)) {
    const byTag = pick(keys.filter((k) => String(k.keyTag) === wanted), 'key tag');
    if (byTag) return byTag;
  }
  if (/^[0-9a-f-]+$/.test(wanted)) {
    const byPrefix = pick(keys.filter((k) => k.keyId.toLowerCase().startsWith(wanted)), 'KeyId prefix');
    if (byPrefix) return byPrefix;
  }
  throw new UsageError(`${zone} has no key "${key}" (give a key tag, a KeyId, or a unique KeyId prefix; zone keys ${zone} lists them)`);
}
