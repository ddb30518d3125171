import type { PolicyRule } from '../config/schema.js';

/**
 * A policy rule's validation mode: the one definition, and the two other ways operators spell
 * it (the config file's boolean keys, which are a contract, and the `keymaster policy add`
 * flags). `require`: anything not secure is SERVFAIL; `log-only`: validate, answer anyway, log
 * failures; `no-validation`: a negative trust anchor (RFC 7646); `default`: no mode (a
 * forwarders-only rule).
 */
export const POLICY_MODES = ['require', 'log-only', 'no-validation', 'default'] as const;
export type PolicyMode = (typeof POLICY_MODES)[number];

type ConfigModeKey = keyof Pick<PolicyRule, 'requireValidation' | 'logOnly' | 'noValidation'>;

/** Each mode other than `default`, as the config file's key and the CLI's flag. */
export const POLICY_MODE_SPELLINGS = {
  require: { configKey: 'requireValidation', flag: 'require-validation' },
  'log-only': { configKey: 'logOnly', flag: 'log-only' },
  'no-validation': { configKey: 'noValidation', flag: 'no-validation' },
} as const satisfies Record<Exclude<PolicyMode, 'default'>, { configKey: ConfigModeKey; flag: string }>;

type SpelledMode = keyof typeof POLICY_MODE_SPELLINGS;
const SPELLED = Object.keys(POLICY_MODE_SPELLINGS) as SpelledMode[];

/** The CLI flag (without `--`) that sets each mode. */
export const POLICY_MODE_BY_FLAG = Object.fromEntries(SPELLED.map((mode) => [POLICY_MODE_SPELLINGS[mode].flag, mode])) as {
  readonly [M in SpelledMode as (typeof POLICY_MODE_SPELLINGS)[M]['flag']]: M;
};

/** A config-file rule's mode (the schema has checked that at most one key is true). */
export function policyModeOfConfig(rule: Pick<PolicyRule, ConfigModeKey>): PolicyMode {
  return SPELLED.find((mode) => rule[POLICY_MODE_SPELLINGS[mode].configKey]) ?? 'default';
}

/** The mode as the flag that sets it; `-` for a forwarders-only rule. */
export function policyModeFlag(mode: PolicyMode): string {
  return mode === 'default' ? '-' : POLICY_MODE_SPELLINGS[mode].flag;
}
