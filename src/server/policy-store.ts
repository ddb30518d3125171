/**
 * The policy rules added with `keymaster policy add`, persisted in `STATEDIR/policy.json` so they
 * survive a restart. Config-file rules are not stored here: they are read from the config at
 * every start.
 *
 * The file is versioned JSON with a SHA-256 checksum over its rules, written atomically (temp
 * file, fsync, rename, directory fsync), so a reader sees the old rules or the new, never a mix.
 * A file that is not JSON, not ours, of another version, fails its checksum, or holds a bad rule
 * stops the server with a message naming the file and the fault: silently dropping an operator's
 * rules (a negative trust anchor, a required namespace) would change what clients are told.
 *
 *   {
 *     "format": "keymaster-policy",
 *     "version": 1,
 *     "rules": [
 *       { "namespace": ".corp.example", "mode": "require", "forwarders": ["10.0.0.53:53"], "addedAt": "2026-01-01T00:00:00.000Z" },
 *       { "namespace": "broken.example", "mode": "no-validation", "until": "2026-01-08T00:00:00.000Z", "forwarders": [], "addedAt": "…" }
 *     ],
 *     "sha256": "<hex of SHA-256 over the JSON text of \"rules\" as written>"
 *   }
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseSocketAddress } from '../config/socket-address.js';
import { checkPolicyRule, formatServerAddress, POLICY_MODES, PolicyRuleError, type PolicyMode, type PolicyRuleEntry } from '../resolver/policy-table.js';
import { writeFileAtomic } from '../storage/atomic-file.js';

export const POLICY_STORE_FILE = 'policy.json';
export const POLICY_STORE_FORMAT = 'keymaster-policy';
export const POLICY_STORE_VERSION = 1;

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

function checksum(rulesJson: string): string {
  return createHash('sha256').update(rulesJson, 'utf8').digest('hex');
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

/** The file's text for `rules` (their `source` is not stored: everything here is a store rule). */
export function encodePolicyStore(rules: readonly PolicyRuleEntry[]): string {
  const stored = rules.map(toStored);
  const sha256 = checksum(JSON.stringify(stored));
  return `${JSON.stringify({ format: POLICY_STORE_FORMAT, version: POLICY_STORE_VERSION, rules: stored, sha256 }, null, 2)}\n`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

const RULE_KEYS = new Set(['namespace', 'mode', 'until', 'forwarders', 'addedAt']);

function parseTime(value: unknown, where: string, fault: (message: string) => PolicyStoreError): Date {
  const time = typeof value === 'string' ? Date.parse(value) : NaN;
  if (Number.isNaN(time)) throw fault(`${where}: ${JSON.stringify(value)} is not an ISO 8601 time`);
  return new Date(time);
}

function decodeRule(value: unknown, index: number, fault: (message: string) => PolicyStoreError): PolicyRuleEntry {
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

/** Parses the file's text; throws PolicyStoreError naming `path` and the fault. Expired rules are returned (the caller drops and logs them). */
export function decodePolicyStore(text: string, path: string): PolicyRuleEntry[] {
  const fault = (message: string) => new PolicyStoreError(path, message);
  if (text.trim() === '') throw fault('the file is empty (a damaged write?)');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw fault(`not JSON (${(error as Error).message})`);
  }
  if (!isObject(doc) || doc['format'] !== POLICY_STORE_FORMAT) throw fault(`not a Keymaster policy store (no "format": "${POLICY_STORE_FORMAT}")`);
  if (doc['version'] !== POLICY_STORE_VERSION)
    throw fault(`version ${JSON.stringify(doc['version'])} is not supported (this Keymaster reads version ${POLICY_STORE_VERSION}; written by another release?)`);
  if (!Array.isArray(doc['rules'])) throw fault('"rules" is missing or not a list');
  if (typeof doc['sha256'] !== 'string') throw fault('"sha256" checksum is missing');
  if (checksum(JSON.stringify(doc['rules'])) !== doc['sha256'].toLowerCase())
    throw fault('checksum mismatch: the rules do not match their SHA-256 (the file is damaged or was edited by hand; change rules with "keymaster policy")');
  const rules = doc['rules'].map((rule, index) => decodeRule(rule, index, fault));
  const seen = new Set<string>();
  for (const [index, rule] of rules.entries()) {
    if (seen.has(rule.namespace)) throw fault(`rules[${index}].namespace: ${rule.namespace} appears twice`);
    seen.add(rule.namespace);
  }
  return rules;
}

/** `STATEDIR/policy.json`: read at start, rewritten whole on every change. */
export class PolicyStore {
  readonly path: string;

  constructor(stateDir: string) {
    this.path = join(stateDir, POLICY_STORE_FILE);
  }

  /** The stored rules; none when the file does not exist yet. Throws PolicyStoreError for a damaged file. */
  async load(): Promise<PolicyRuleEntry[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new PolicyStoreError(this.path, `cannot be read: ${(error as Error).message}`);
    }
    return decodePolicyStore(text, this.path);
  }

  /** Replaces the file with `rules`, atomically; readable by the server's user only. */
  async save(rules: readonly PolicyRuleEntry[]): Promise<void> {
    await writeFileAtomic(this.path, encodePolicyStore(rules), 0o600);
  }
}
