/**
 * The NRPT-like policy table: rules keyed by namespace, looked up by longest match.
 *
 * A namespace is written the way Windows' Name Resolution Policy Table writes it:
 *   `.corp.example`  the suffix: corp.example. itself and every name below it;
 *   `corp.example`   exactly that name;
 *   `.`              every name (the suffix of the root).
 *
 * Longest match: the matching rule whose namespace has the most labels wins; for the same name an
 * exact rule beats a suffix rule. A rule's validation mode and its forwarders are looked up
 * separately, each from the longest matching rule that sets it: a forwarders-only rule for
 * `.lab.corp.example` neither weakens a `requireValidation` on `.corp.example` nor is it weakened
 * by it, and a mode-only rule below a namespace with forwarders keeps using those forwarders.
 *
 * Pure: no I/O, no clock. Time comes in as `now` (ms since the epoch); a negative trust anchor
 * (RFC 7646) whose `until` has passed never matches, whether or not it has been removed yet.
 */
import { Name } from '../wire/name.js';
import type { SocketAddress } from '../config/socket-address.js';
import { POLICY_MODES, type PolicyMode } from './policy-mode.js';

/** Where a rule forwards to (structurally the resolver's ServerAddress). */
export type ServerAddress = Pick<SocketAddress, 'host' | 'port'>;

export { POLICY_MODES, type PolicyMode } from './policy-mode.js';

/** Where a rule came from: the config file, or `keymaster policy add` (persisted in the state dir). */
export type PolicySource = 'config' | 'store';

export interface PolicyRuleEntry {
  /** Normalised: lowercased, no trailing dot, a leading dot for a suffix (`.corp.example`), or `.`. */
  readonly namespace: string;
  readonly mode: PolicyMode;
  /** Only for `no-validation`: the negative trust anchor ends at this time. */
  readonly until?: Date;
  /** Empty: the resolver's own forwarders or iteration. */
  readonly forwarders: readonly ServerAddress[];
  readonly source: PolicySource;
  /** When `keymaster policy add` made it (store rules). */
  readonly addedAt?: Date;
}

export interface PolicyMatch {
  /** The namespace of the longest matching rule. */
  readonly namespace: string;
  /** From the longest matching rule that has a mode; `default` when none has. */
  readonly mode: PolicyMode;
  /** The negative trust anchor's end, when `mode` is `no-validation` and it has one. */
  readonly until?: Date;
  /** The namespace of the rule the mode came from, when another rule than `namespace` (inherited). */
  readonly modeFrom?: string;
  /** From the longest matching rule that has forwarders; empty when none has. */
  readonly forwarders: readonly ServerAddress[];
  /** The source of the longest matching rule. */
  readonly source: 'config' | 'store';
}

/** A rule or namespace that cannot be accepted; `field` names the part at fault. */
export class PolicyRuleError extends Error {
  override readonly name = 'PolicyRuleError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export interface PolicyNamespace {
  /** The normalised text (see PolicyRuleEntry.namespace). */
  readonly text: string;
  /** The lowercased absolute name. */
  readonly name: Name;
  /** True for an exact-name rule, false for a suffix (and for `.`). */
  readonly exact: boolean;
}

/**
 * Parses an NRPT-style namespace: `.corp.example`, `corp.example` (a trailing dot is allowed and
 * dropped), or `.`. Throws PolicyRuleError naming what is wrong.
 */
export function parsePolicyNamespace(text: string): PolicyNamespace {
  if (text === '.') return { text: '.', name: Name.root, exact: false };
  const bad = (why: string) => new PolicyRuleError('namespace', `"${text}" is not a namespace: ${why} (use ".corp.example" for a name and everything below it, "corp.example" for that name only, "." for every name)`);
  if (text === '') throw bad('it is empty');
  if (/\s/.test(text)) throw bad('it contains white space');
  const suffix = text.startsWith('.');
  const body = suffix ? text.slice(1) : text;
  if (body === '' || body.startsWith('.')) throw bad('it has an empty label');
  let name: Name;
  try {
    name = Name.parse(body.endsWith('.') ? body : `${body}.`).lowercase();
  } catch (error) {
    throw bad((error as Error).message);
  }
  if (name.isRoot) throw bad('it has an empty label');
  if (name.labels().some((label) => label.length === 1 && label[0] === 0x2a))
    throw bad('a "*" label is a wildcard in zone data, not a namespace; write the suffix with a leading dot instead');
  const normalised = name.toString().slice(0, -1);
  return { text: suffix ? `.${normalised}` : normalised, name, exact: !suffix };
}

/** `192.0.2.1:53`, `[2001:db8::1]:53`. */
export function formatServerAddress(address: ServerAddress): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** True when the rule is a negative trust anchor whose time is up at `now`. */
export function isExpired(entry: PolicyRuleEntry, now: number): boolean {
  return entry.mode === 'no-validation' && entry.until !== undefined && entry.until.getTime() <= now;
}

/**
 * Checks a rule's own consistency and normalises its namespace: `until` only on `no-validation`,
 * and (when `now` is given) `until` in the future. Throws PolicyRuleError.
 */
export function checkPolicyRule(entry: PolicyRuleEntry, now?: number): PolicyRuleEntry {
  const ns = parsePolicyNamespace(entry.namespace);
  if (!(POLICY_MODES as readonly string[]).includes(entry.mode)) throw new PolicyRuleError('mode', `"${String(entry.mode)}" is not a mode (one of ${POLICY_MODES.join(', ')})`);
  if (entry.until !== undefined) {
    if (entry.mode !== 'no-validation') throw new PolicyRuleError('until', 'applies only to a no-validation rule (a negative trust anchor)');
    if (Number.isNaN(entry.until.getTime())) throw new PolicyRuleError('until', 'is not a valid time');
    if (now !== undefined && entry.until.getTime() <= now)
      throw new PolicyRuleError('until', `${entry.until.toISOString()} is not in the future (now ${new Date(now).toISOString()})`);
  }
  return ns.text === entry.namespace ? entry : { ...entry, namespace: ns.text };
}

/** One namespace's rules: the config file's and the store's; the store's wins while it lasts. */
interface Slot {
  readonly ns: PolicyNamespace;
  config?: PolicyRuleEntry;
  store?: PolicyRuleEntry;
}

/** The rule in force for a slot: the store's over the config's, or (with `now`) the first that has not expired. */
function effective(slot: Slot, now?: number): PolicyRuleEntry | undefined {
  if (now === undefined) return slot.store ?? slot.config;
  if (slot.store && !isExpired(slot.store, now)) return slot.store;
  if (slot.config && !isExpired(slot.config, now)) return slot.config;
  return undefined;
}

/** Canonical order (RFC 4034 §6.1) of the namespaces' names; the exact rule before the suffix rule of a name. */
function compareSlots(a: Slot, b: Slot): number {
  return a.ns.name.compareCanonical(b.ns.name) || Number(b.ns.exact) - Number(a.ns.exact);
}

/**
 * The rules in effect. Mutable, so a running server's rules change without a restart: the
 * policy service calls `set` and `delete`; the query path calls `match` and `forwardersFor`.
 *
 * Each namespace holds up to two rules, one per source: a store rule (`keymaster policy add`)
 * hides the config file's rule for the same namespace, and when the store rule goes (removed,
 * or a negative trust anchor past its `until`) the config rule is in force again at once.
 */
export class PolicyTable {
  /** By the lowercased name's key: exact-name rules and suffix rules are separate spaces. */
  private readonly exact = new Map<string, Slot>();
  private readonly suffix = new Map<string, Slot>();

  constructor(entries: Iterable<PolicyRuleEntry> = []) {
    for (const entry of entries) this.set(entry);
  }

  /** The number of namespaces with a rule. */
  get size(): number {
    return this.exact.size + this.suffix.size;
  }

  private slot(namespace: string): { map: Map<string, Slot>; key: string; ns: PolicyNamespace } {
    const ns = parsePolicyNamespace(namespace);
    return { map: ns.exact ? this.exact : this.suffix, key: ns.name.key, ns };
  }

  /**
   * Adds or replaces the rule of `entry.source` for `entry.namespace`. Returns the rule that was
   * in force for the namespace before (of either source), if any.
   */
  set(entry: PolicyRuleEntry): PolicyRuleEntry | undefined {
    const checked = checkPolicyRule(entry);
    const { map, key, ns } = this.slot(checked.namespace);
    let slot = map.get(key);
    const previous = slot && effective(slot);
    if (!slot) map.set(key, (slot = { ns }));
    slot[checked.source] = checked;
    return previous;
  }

  /**
   * The rule in force for exactly this namespace (`.corp.example` and `corp.example` are different
   * ones): the store's over the config's; or, with `source`, that source's rule.
   */
  get(namespace: string, source?: PolicySource): PolicyRuleEntry | undefined {
    const { map, key } = this.slot(namespace);
    const slot = map.get(key);
    if (!slot) return undefined;
    return source === undefined ? effective(slot) : slot[source];
  }

  /** True when a store rule hides a config rule of this namespace. */
  overridesConfig(namespace: string): boolean {
    const slot = this.slot(namespace);
    const found = slot.map.get(slot.key);
    return found?.store !== undefined && found.config !== undefined;
  }

  /** Removes this namespace's rule of `source`; returns it. */
  delete(namespace: string, source: PolicySource): PolicyRuleEntry | undefined {
    const { map, key } = this.slot(namespace);
    const slot = map.get(key);
    const previous = slot?.[source];
    if (!slot || !previous) return undefined;
    delete slot[source];
    if (!slot.config && !slot.store) map.delete(key);
    return previous;
  }

  /** The rules covering `name`, longest first, leaving out expired negative trust anchors. */
  private *matching(name: Name, now: number): Generator<PolicyRuleEntry> {
    if (this.size === 0) return;
    for (let strip = 0; strip <= name.labelCount; strip++) {
      const key = (strip === 0 ? name : name.parent(strip)).key;
      if (strip === 0) {
        const exact = this.exact.get(key);
        const entry = exact && effective(exact, now);
        if (entry) yield entry;
      }
      const suffix = this.suffix.get(key);
      const entry = suffix && effective(suffix, now);
      if (entry) yield entry;
    }
  }

  /** The policy for `name` at `now`, or undefined when no rule covers it. */
  match(name: Name, now: number): PolicyMatch | undefined {
    let longest: PolicyRuleEntry | undefined;
    let withMode: PolicyRuleEntry | undefined;
    let withForwarders: PolicyRuleEntry | undefined;
    for (const entry of this.matching(name, now)) {
      longest ??= entry;
      if (!withMode && entry.mode !== 'default') withMode = entry;
      if (!withForwarders && entry.forwarders.length > 0) withForwarders = entry;
      if (withMode && withForwarders) break;
    }
    if (!longest) return undefined;
    return {
      namespace: longest.namespace,
      mode: withMode?.mode ?? 'default',
      ...(withMode?.until === undefined ? {} : { until: withMode.until }),
      ...(withMode && withMode !== longest ? { modeFrom: withMode.namespace } : {}),
      forwarders: withForwarders?.forwarders ?? [],
      source: longest.source,
    };
  }

  /**
   * The forwarders for `name`: those of the longest matching rule that has forwarders (a rule
   * without forwarders falls through to shorter ones), or undefined when no matching rule has
   * any — then the resolver uses its global forwarders or iterates from the root.
   */
  forwardersFor(name: Name, now: number): readonly ServerAddress[] | undefined {
    for (const entry of this.matching(name, now)) if (entry.forwarders.length > 0) return entry.forwarders;
    return undefined;
  }

  /** Negative trust anchors (of either source) whose `until` has passed at `now`; they stay in the table until deleted. */
  expired(now: number): PolicyRuleEntry[] {
    return this.all().filter((entry) => isExpired(entry, now));
  }

  /** The earliest `until` among the rules, for scheduling the next expiry. */
  nextExpiry(): Date | undefined {
    let next: Date | undefined;
    for (const entry of this.all()) if (entry.mode === 'no-validation' && entry.until && (!next || entry.until < next)) next = entry.until;
    return next;
  }

  /** One rule per namespace, the store's over the config's, in canonical order of the namespaces. */
  rules(): readonly PolicyRuleEntry[] {
    return this.slots().map((slot) => effective(slot)!);
  }

  private all(): PolicyRuleEntry[] {
    return this.slots().flatMap((slot) => [slot.store, slot.config].filter((e): e is PolicyRuleEntry => e !== undefined));
  }

  private slots(): Slot[] {
    return [...this.exact.values(), ...this.suffix.values()].sort(compareSlots);
  }
}
