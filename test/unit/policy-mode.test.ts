import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/loader.js';
import { POLICY_MODE_BY_FLAG, POLICY_MODE_SPELLINGS, POLICY_MODES, policyModeFlag, policyModeOfConfig } from '../../src/policy/policy-mode.js';
import { policyEntryFromConfig } from '../../src/policy/policy-service.js';

/** The policy modes have one definition; the config keys and the CLI flags are read from it. */
describe('policy modes: one definition, three spellings', () => {
  const ruleWith = (key: string) => parseConfigText(`policy:\n  - namespace: .corp.example\n    ${key}: true\n`, 'keymaster.yaml').policy[0]!;

  it('every config key of a mode parses to that mode, through the config schema', () => {
    for (const [mode, { configKey }] of Object.entries(POLICY_MODE_SPELLINGS)) {
      expect(policyEntryFromConfig(ruleWith(configKey)).mode).toBe(mode);
    }
    const none = parseConfigText('policy:\n  - namespace: .corp.example\n    forwarders: ["192.0.2.1"]\n', 'keymaster.yaml').policy[0]!;
    expect(policyModeOfConfig(none)).toBe('default');
  });

  it('the CLI flag of each mode maps back to it, and the default mode shows as "-"', () => {
    for (const mode of POLICY_MODES) {
      const flag = policyModeFlag(mode);
      if (mode === 'default') expect(flag).toBe('-');
      else expect(POLICY_MODE_BY_FLAG[flag as keyof typeof POLICY_MODE_BY_FLAG]).toBe(mode);
    }
    expect(Object.keys(POLICY_MODE_BY_FLAG).sort()).toEqual(['log-only', 'no-validation', 'require-validation']);
  });

  it('two modes in one config rule are refused, naming the second key', () => {
    expect(() => parseConfigText('policy:\n  - namespace: .corp.example\n    requireValidation: true\n    noValidation: true\n', 'keymaster.yaml')).toThrow(/noValidation.*cannot be combined with requireValidation/s);
  });
});
