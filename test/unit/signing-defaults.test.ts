import { describe, expect, it } from 'vitest';
import { DEFAULT_SIGNING_POLICY, SigningPolicyError, normalizeSigningPolicy, parseSigningAlgorithm, signingPolicyFromConfig } from '../../src/authority/signing-policy.js';
import { parseConfigText } from '../../src/config/loader.js';
import { SIGNING_ALGORITHMS } from '../../src/config/zone-schema.js';
import { DEFAULT_ROLLOVER_TIMERS } from '../../src/authority/rollover/rollover-state.js';
import { defaultConfig } from '../../src/config/loader.js';
import { algorithmMnemonic } from '../../src/crypto/algorithms.js';

const HOUR = 3600;
const DAY = 86_400;

/** Signing defaults and algorithm names have one definition each; every path reads the same. */
describe('signing defaults: one definition (config/defaults.ts)', () => {
  it('the default policy is the documented one', () => {
    expect(DEFAULT_SIGNING_POLICY).toEqual({
      algorithm: 13,
      kskBits: 0,
      zskBits: 0,
      denial: 'nsec3',
      nsec3Iterations: 0,
      nsec3SaltLength: 0,
      nsec3OptOut: false,
      dnskeySignatureValidity: 168 * HOUR,
      dsSignatureValidity: 168 * HOUR,
      signatureValidity: 240 * HOUR,
      signatureInception: HOUR,
      dnskeyTtl: HOUR,
      dsTtl: HOUR,
      dsDigest: 2,
      kskRollover: 755 * DAY,
      zskRollover: 90 * DAY,
      rfc5011: true,
      distributeTrustAnchor: false,
    });
  });

  it('`signing: defaults`, an empty `signing:` table and `zone sign --defaults` are the same policy', () => {
    const zones = parseConfigText(
      ['zones:', '  - name: a.example', '    file: a.zone', '    signing: defaults', '  - name: b.example', '    file: b.zone', '    signing: {}', ''].join('\n'),
      '/etc/keymaster/keymaster.yaml',
    ).zones;
    const expected = normalizeSigningPolicy(DEFAULT_SIGNING_POLICY);
    for (const zone of zones) expect(signingPolicyFromConfig(zone.signing!), zone.name).toEqual(expected);
  });

  it('a key left out of a `signing:` table takes the default', () => {
    const [zone] = parseConfigText(['zones:', '  - name: a.example', '    file: a.zone', '    signing: { algorithm: RSASHA256, zskRollover: 30d }', ''].join('\n'), '/k.yaml').zones;
    expect(signingPolicyFromConfig(zone!.signing!)).toEqual(normalizeSigningPolicy({ ...DEFAULT_SIGNING_POLICY, algorithm: 8, zskRollover: 30 * DAY }));
  });
});

describe('rollover timers: one definition (config/defaults.ts, dnssec.rollover)', () => {
  it('the engine\'s defaults are the config\'s, and the documented RFC values', () => {
    expect(DEFAULT_ROLLOVER_TIMERS).toEqual({ ...defaultConfig().dnssec.rollover, advanceNotice: DAY });
    expect(DEFAULT_ROLLOVER_TIMERS).toEqual({
      minimumWait: HOUR,
      propagationDelay: 300,
      parentPropagationDelay: HOUR,
      dsPollingPeriod: 12 * HOUR,
      addHoldDown: 30 * DAY,
      removeHoldDown: 30 * DAY,
      minRefresh: HOUR,
      retiredKeyRetention: 30 * DAY,
      advanceNotice: DAY,
    });
  });
});

describe('algorithm names: one table (crypto/algorithms.ts)', () => {
  it('the config file accepts exactly the algorithms a zone can be signed with, under their IANA names', () => {
    for (const name of SIGNING_ALGORITHMS) expect(algorithmMnemonic(parseSigningAlgorithm(name))).toBe(name);
    const signable = [...Array(256).keys()].filter((n) => {
      try {
        parseSigningAlgorithm(n);
        return true;
      } catch (error) {
        expect(error).toBeInstanceOf(SigningPolicyError);
        return false;
      }
    });
    expect(signable.map((n) => algorithmMnemonic(n))).toEqual([...SIGNING_ALGORITHMS]);
  });

  it('an unknown algorithm is refused with the list of the ones that work, read from the same table', () => {
    expect(() => parseSigningAlgorithm('GOST')).toThrow('use 8 RSASHA256, 10 RSASHA512, 13 ECDSAP256SHA256, 14 ECDSAP384SHA384, 15 ED25519 or 16 ED448');
    expect(() => parseSigningAlgorithm(7)).toThrow(/RSASHA1-NSEC3-SHA1\) uses SHA-1/);
  });
});
