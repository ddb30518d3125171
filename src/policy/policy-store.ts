/**
 * The policy rules added with `keymaster policy add`, kept as the `policy` document of the
 * store contract (`STATEDIR/policy.json` in the file store) so they survive a restart.
 * Config-file rules are not stored here: they are read from the config at every start.
 *
 * The document (src/store/document-envelope.ts) is versioned and checksummed and replaced
 * atomically, so a reader sees the old rules or the new, never a mix. One that is damaged, of
 * another version, or holds a bad rule stops the server with a message naming the file and the
 * fault: silently dropping an operator's rules (a negative trust anchor, a required namespace)
 * would change what clients are told. Its data is the list of rules:
 *
 *   [ { "namespace": ".corp.example", "mode": "require", "forwarders": ["10.0.0.53:53"], "addedAt": "2026-01-01T00:00:00.000Z" },
 *     { "namespace": "broken.example", "mode": "no-validation", "until": "2026-01-08T00:00:00.000Z", "forwarders": [], "addedAt": "…" } ]
 *
 * A version-1 file (before the store contract: `{ format, version: 1, rules, sha256 }`) is read
 * once and rewritten as version 2 on the next change.
 */
import { parseSocketAddress } from '../config/socket-address.js';
import { checkPolicyRule, formatServerAddress, POLICY_MODES, PolicyRuleError, type PolicyMode, type PolicyRuleEntry } from './policy-table.js';
import { checksum, decodeEnvelope, isObject } from '../store/document-envelope.js';
import { type DocumentStore, type DocumentType, StoreError } from '../store/document-store.js';

export const POLICY_STORE_KEY = 'policy';

/** The store file cannot be used; `fault` says why, `path` which file. */
export class PolicyStoreError extends Error {
  override readonly name = 'PolicyStoreError';
  constructor(
    readonly path: string,
    readonly fault: string,
  ) {
    super(`policy store ${path}: ${fault}; fix the file or move it away (its rules are then lost) and start again`);
  }
}

interface StoredRule {
  namespace: string;
  mode: PolicyMode;
  until?: string;
  forwarders: string[];
  addedAt?: string;
}

function toStored(entry: PolicyRuleEntry): StoredRule {
  return {
    namespace: entry.namespace,
    mode: entry.mode,
    ...(entry.until === undefined ? {} : { until: entry.until.toISOString() }),
    forwarders: entry.forwarders.map(formatServerAddress),
    ...(entry.addedAt === undefined ? {} : { addedAt: entry.addedAt.toISOString() }),
  };
}

const RULE_KEYS = new Set(['namespace', 'mode', 'until', 'forwarders', 'addedAt']);

function parseTime(value: unknown, where: string, fault: (message: string) => Error): Date {
  const time = typeof value === 'string' ? Date.parse(value) : NaN;
  if (Number.isNaN(time)) throw fault(`${where}: ${JSON.stringify(value)} is not an ISO 8601 time`);
  return new Date(time);
}

function decodeRule(value: unknown, index: number, fault: (message: string) => Error): PolicyRuleEntry {
  const where = `rules[${index}]`;
  if (!isObject(value)) throw fault(`${where} is not an object`);
  for (const key of Object.keys(value)) if (!RULE_KEYS.has(key)) throw fault(`${where}.${key}: unknown field`);
  if (typeof value['namespace'] !== 'string') throw fault(`${where}.namespace: missing or not a string`);
  const mode = value['mode'];
  if (typeof mode !== 'string' || !POLICY_MODES.includes(mode as PolicyMode))
    throw fault(`${where}.mode: ${JSON.stringify(mode)} is not one of ${POLICY_MODES.join(', ')}`);
  const forwarders = value['forwarders'] ?? [];
  if (!Array.isArray(forwarders)) throw fault(`${where}.forwarders: not a list`);
  const entry: PolicyRuleEntry = {
    namespace: value['namespace'],
    mode: mode as PolicyMode,
    ...(value['until'] === undefined ? {} : { until: parseTime(value['until'], `${where}.until`, fault) }),
    forwarders: forwarders.map((f: unknown, i) => {
      if (typeof f !== 'string') throw fault(`${where}.forwarders[${i}]: not a string`);
      try {
        const { host, port } = parseSocketAddress(f, 53);
        return { host, port };
      } catch (error) {
        throw fault(`${where}.forwarders[${i}]: ${(error as Error).message}`);
      }
    }),
    source: 'store',
    ...(value['addedAt'] === undefined ? {} : { addedAt: parseTime(value['addedAt'], `${where}.addedAt`, fault) }),
  };
  try {
    return checkPolicyRule(entry);
  } catch (error) {
    if (error instanceof PolicyRuleError) throw fault(`${where}.${error.field}: ${error.message}`);
    throw error;
  }
}

function decodeRules(data: unknown, fault: (message: string) => Error): PolicyRuleEntry[] {
  if (!Array.isArray(data)) throw fault('the rules are not a list');
  const rules = data.map((rule, index) => decodeRule(rule, index, fault));
  const seen = new Set<string>();
  for (const [index, rule] of rules.entries()) {
    if (seen.has(rule.namespace)) throw fault(`rules[${index}].namespace: ${rule.namespace} appears twice`);
    seen.add(rule.namespace);
  }
  return rules;
}

/** The rules as a document of the store contract (their `source` is not stored: everything here is a store rule). */
export const POLICY_DOCUMENT: DocumentType<PolicyRuleEntry[]> = {
  format: 'keymaster-policy',
  version: 2,
  encode: (rules) => rules.map(toStored),
  decode: decodeRules,
  upgrade(doc, fault) {
    if (doc['version'] !== 1) return undefined;
    if (!Array.isArray(doc['rules'])) throw fault('"rules" is missing or not a list');
    if (typeof doc['sha256'] !== 'string') throw fault('"sha256" checksum is missing');
    if (checksum(JSON.stringify(doc['rules'])) !== doc['sha256'].toLowerCase())
      throw fault('checksum mismatch: the rules do not match their SHA-256 (the file is damaged or was edited by hand; change rules with "keymaster policy")');
    return decodeRules(doc['rules'], fault);
  },
};

/** Parses a policy document's text; throws PolicyStoreError naming `path` and the fault. Expired rules are returned (the caller drops and logs them). */
export function decodePolicyStore(text: string, path: string): PolicyRuleEntry[] {
  return decodeEnvelope(text, POLICY_DOCUMENT, (message) => new PolicyStoreError(path, message)).value;
}

/** The operator's rules in the store: read at start, rewritten whole on every change. */
export class PolicyStore {
  /** The revision last read or written: saves are compare-and-swap on it (another server may write too). */
  private revision: number | undefined;

  constructor(private readonly documents: DocumentStore) {}

  /** Where the rules live (the file, in the file store). */
  get path(): string {
    return this.documents.locate(POLICY_STORE_KEY);
  }

  /** The stored rules; none when there are none yet. Throws PolicyStoreError for a damaged document. */
  async load(): Promise<PolicyRuleEntry[]> {
    try {
      const doc = await this.documents.read(POLICY_STORE_KEY, POLICY_DOCUMENT);
      this.revision = doc?.revision ?? 0;
      return doc?.value ?? [];
    } catch (error) {
      if (error instanceof StoreError) throw new PolicyStoreError(error.where, error.fault);
      throw error;
    }
  }

  /** Replaces the rules; resolves once they are durable. StoreError 'conflict': another writer came first (load, then try again). */
  async save(rules: readonly PolicyRuleEntry[]): Promise<void> {
    const written = await this.documents.write(POLICY_STORE_KEY, POLICY_DOCUMENT, [...rules], this.revision === undefined ? {} : { expectRevision: this.revision });
    this.revision = written.revision;
  }
}
