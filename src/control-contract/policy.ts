import type { PolicyMode } from '../policy/policy-table.js';

/** The bodies of `/v1/policy` (`keymaster policy`). */
export type { PolicyMode };

/** `mode` absent: default, which needs forwarders; `until` (no-validation only): an RFC 3339 time or a duration (`7d`). */
export interface PolicyAddRequest {
  readonly namespace: string;
  readonly mode?: PolicyMode;
  readonly until?: string;
  readonly forwarders?: readonly string[];
}

/** One rule as the control API shows it. */
export interface PolicyRuleView {
  readonly namespace: string;
  readonly mode: PolicyMode;
  /** ISO 8601, or null when the rule has no end. */
  readonly until: string | null;
  readonly forwarders: readonly string[];
  readonly source: 'config' | 'store';
  /** A store rule hiding the config file's rule for the same namespace. */
  readonly overridesConfig: boolean;
  readonly addedAt: string | null;
}

export interface PolicyListBody {
  /** `dnssec.validation`: false turns validation off server-wide, whatever the rules say. */
  readonly validation: boolean;
  readonly storeFile: string;
  readonly rules: readonly PolicyRuleView[];
}

export interface PolicyAddBody {
  readonly rule: PolicyRuleView;
  readonly replaced: PolicyRuleView | null;
  readonly overridesConfig: boolean;
}

export interface PolicyRemoveBody {
  readonly removed: PolicyRuleView;
  /** The config rule that applies again, if the removed rule hid one. */
  readonly restored: PolicyRuleView | null;
}
