import { Name } from '../wire/name.js';
import { type TsigKey, tsigAlgorithmName } from './tsig.js';

/** A key as the config writes it (`tsigKeys`, `zones[].update.keys`). */
export interface TsigKeyDefinition {
  readonly name: string;
  readonly algorithm: string;
  /** Base64. */
  readonly secret: string;
}

/**
 * Every TSIG key the server knows, by lowercased name: the top-level `tsigKeys` and each zone's
 * update keys, so transfers, NOTIFY and UPDATE share one keyring. A name is one key: defining it
 * again with another algorithm or secret is an error that names it.
 */
export function buildKeyring(definitions: Iterable<{ readonly where: string; readonly key: TsigKeyDefinition }>): Map<string, TsigKey> {
  const keyring = new Map<string, TsigKey>();
  for (const { where, key: k } of definitions) {
    const key: TsigKey = { name: Name.parse(k.name).lowercase(), algorithm: tsigAlgorithmName(k.algorithm), secret: new Uint8Array(Buffer.from(k.secret, 'base64')) };
    const other = keyring.get(key.name.key);
    if (other && (!other.algorithm.equals(key.algorithm) || Buffer.compare(other.secret, key.secret) !== 0))
      throw new Error(`${where}: TSIG key ${k.name} is defined again with another algorithm or secret (a key name is one key)`);
    keyring.set(key.name.key, key);
  }
  return keyring;
}

/** The lookup `verifyTsig` takes. */
export function keyFinder(keyring: ReadonlyMap<string, TsigKey>): (name: Name) => TsigKey | undefined {
  return (name) => keyring.get(name.lowercase().key);
}
