import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import {
  checkPolicyRule,
  parsePolicyNamespace,
  PolicyRuleError,
  PolicyTable,
  type PolicyMode,
  type PolicyRuleEntry,
} from '../../src/policy/policy-table.js';
import { Name } from '../../src/wire/name.js';

const HOUR = 3_600_000;

function rule(namespace: string, mode: PolicyMode, extra: Partial<PolicyRuleEntry> = {}): PolicyRuleEntry {
  return { namespace, mode, forwarders: [], source: 'config', ...extra };
}

const n = (text: string) => Name.parse(text);

describe('parsePolicyNamespace', () => {
  it('normalises the three NRPT forms', () => {
    expect(parsePolicyNamespace('.Corp.Example')).toMatchObject({ text: '.corp.example', exact: false });
    expect(parsePolicyNamespace('.corp.example.')).toMatchObject({ text: '.corp.example', exact: false });
    expect(parsePolicyNamespace('Corp.Example.')).toMatchObject({ text: 'corp.example', exact: true });
    const root = parsePolicyNamespace('.');
    expect(root).toMatchObject({ text: '.', exact: false });
    expect(root.name.isRoot).toBe(true);
    expect(parsePolicyNamespace('corp.example').name.toString()).toBe('corp.example.');
  });

  it.each([
    ['', /empty/],
    ['..corp', /empty label/],
    ['corp..example', /empty label/],
    ['corp example', /white space/],
    ['*.corp.example', /wildcard/],
    [`${'a'.repeat(64)}.example`, /63 octets/],
  ])('refuses %j naming the namespace and why', (text, why) => {
    let error: unknown;
    try {
      parsePolicyNamespace(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PolicyRuleError);
    expect((error as PolicyRuleError).field).toBe('namespace');
    expect((error as Error).message).toMatch(why);
    expect((error as Error).message).toContain(`"${text}" is not a namespace`);
  });
});

describe('checkPolicyRule', () => {
  it('accepts until only on a no-validation rule, and only in the future when now is given', () => {
    const now = Date.UTC(2026, 0, 1);
    expect(() => checkPolicyRule(rule('.a.example', 'require', { until: new Date(now + HOUR) }))).toThrow(/applies only to a no-validation rule/);
    expect(() => checkPolicyRule(rule('.a.example', 'no-validation', { until: new Date(now) }), now)).toThrow(/not in the future/);
    expect(checkPolicyRule(rule('.A.Example.', 'no-validation', { until: new Date(now + 1) }), now).namespace).toBe('.a.example');
  });
});

describe('PolicyTable.match: longest match', () => {
  const table = new PolicyTable([
    rule('.', 'log-only'),
    rule('.corp.example', 'require'),
    rule('corp.example', 'no-validation'),
    rule('.lab.corp.example', 'no-validation', { source: 'store' }),
    rule('host.lab.corp.example', 'require'),
  ]);
  const now = Date.UTC(2026, 0, 1);

  it.each([
    ['www.corp.example.', '.corp.example', 'require'],
    ['corp.example.', 'corp.example', 'no-validation'], // exact beats the suffix of the same name
    ['CORP.EXAMPLE.', 'corp.example', 'no-validation'], // case does not matter
    ['x.lab.corp.example.', '.lab.corp.example', 'no-validation'], // more labels win
    ['lab.corp.example.', '.lab.corp.example', 'no-validation'], // a suffix covers its own name
    ['host.lab.corp.example.', 'host.lab.corp.example', 'require'],
    ['a.host.lab.corp.example.', '.lab.corp.example', 'no-validation'], // an exact rule does not cover names below it
    ['other.example.', '.', 'log-only'], // "." covers everything
    ['.', '.', 'log-only'],
    ['xcorp.example.', '.', 'log-only'], // label boundaries, not string suffixes
  ])('%s → %s (%s)', (name, namespace, mode) => {
    expect(table.match(n(name), now)).toMatchObject({ namespace, mode });
  });

  it('reports the source of the matched rule', () => {
    expect(table.match(n('x.lab.corp.example.'), now)?.source).toBe('store');
    expect(table.match(n('x.corp.example.'), now)?.source).toBe('config');
  });

  it('matches nothing without a covering rule', () => {
    const narrow = new PolicyTable([rule('.corp.example', 'require')]);
    expect(narrow.match(n('example.'), now)).toBeUndefined();
    expect(narrow.match(n('corp.example.com.'), now)).toBeUndefined();
    expect(new PolicyTable().match(n('a.example.'), now)).toBeUndefined();
  });

  it('keeps exact and suffix rules of one name apart in set, get and delete', () => {
    const t = new PolicyTable([rule('.corp.example', 'require'), rule('corp.example', 'log-only')]);
    expect(t.size).toBe(2);
    expect(t.get('corp.example')?.mode).toBe('log-only');
    expect(t.delete('CORP.example.', 'store')).toBeUndefined();
    expect(t.delete('CORP.example.', 'config')?.mode).toBe('log-only');
    expect(t.match(n('corp.example.'), now)?.mode).toBe('require');
    expect(t.set(rule('.corp.example', 'no-validation'))?.mode).toBe('require');
    expect(t.size).toBe(1);
    expect(t.rules().map((r) => `${r.namespace}:${r.mode}`)).toEqual(['.corp.example:no-validation']);
  });

  it('a store rule hides the config rule of its namespace, which is in force again when it goes', () => {
    const t = new PolicyTable([rule('.corp.example', 'require')]);
    const previous = t.set(rule('.corp.example', 'log-only', { source: 'store' }));
    expect(previous).toMatchObject({ mode: 'require', source: 'config' });
    expect(t.size).toBe(1);
    expect(t.overridesConfig('.corp.example')).toBe(true);
    expect(t.rules()).toEqual([expect.objectContaining({ mode: 'log-only', source: 'store' })]);
    expect(t.match(n('a.corp.example.'), now)).toMatchObject({ mode: 'log-only', source: 'store' });
    expect(t.get('.corp.example', 'config')?.mode).toBe('require');
    t.delete('.corp.example', 'store');
    expect(t.overridesConfig('.corp.example')).toBe(false);
    expect(t.match(n('a.corp.example.'), now)).toMatchObject({ mode: 'require', source: 'config' });
  });

  it('lists rules in canonical order, the exact rule before the suffix rule of a name', () => {
    expect(table.rules().map((r) => r.namespace)).toEqual(['.', 'corp.example', '.corp.example', '.lab.corp.example', 'host.lab.corp.example']);
  });
});

describe('PolicyTable: a rule without a mode, and forwarders', () => {
  const a = { host: '127.0.0.1', port: 53 };
  const b = { host: '2001:db8::53', port: 5353 };
  const now = Date.UTC(2026, 0, 1);
  const table = new PolicyTable([
    rule('.corp.example', 'require', { forwarders: [a] }),
    rule('.lab.corp.example', 'default', { forwarders: [b] }),
    rule('.x.lab.corp.example', 'log-only'),
  ]);

  it('a forwarders-only rule inherits the mode of the next shorter rule that has one', () => {
    expect(table.match(n('h.lab.corp.example.'), now)).toEqual({
      namespace: '.lab.corp.example',
      mode: 'require',
      modeFrom: '.corp.example',
      forwarders: [b],
      source: 'config',
    });
  });

  it('a mode-only rule falls through to the forwarders of a shorter rule', () => {
    expect(table.match(n('h.x.lab.corp.example.'), now)).toMatchObject({ namespace: '.x.lab.corp.example', mode: 'log-only', forwarders: [b] });
    expect(table.match(n('h.x.lab.corp.example.'), now)?.modeFrom).toBeUndefined();
    expect(table.forwardersFor(n('h.x.lab.corp.example.'), now)).toEqual([b]);
    expect(table.forwardersFor(n('www.corp.example.'), now)).toEqual([a]);
  });

  it('forwardersFor is undefined when no matching rule has forwarders', () => {
    const t = new PolicyTable([rule('.', 'require'), rule('.corp.example', 'log-only')]);
    expect(t.forwardersFor(n('www.corp.example.'), now)).toBeUndefined();
    expect(t.match(n('www.corp.example.'), now)?.forwarders).toEqual([]);
  });

  it('mode is default when no matching rule has one', () => {
    expect(new PolicyTable([rule('.corp.example', 'default', { forwarders: [a] })]).match(n('a.corp.example.'), now)?.mode).toBe('default');
  });
});

describe('PolicyTable: negative trust anchors expire', () => {
  it('an NTA stops matching at its until, on a ManualClock, and is reported by expired()', () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const until = new Date(clock.now() + 2 * HOUR);
    const table = new PolicyTable([rule('.corp.example', 'require'), rule('.broken.corp.example', 'no-validation', { until, source: 'store' })]);
    const name = n('www.broken.corp.example.');

    expect(table.match(name, clock.now())).toMatchObject({ namespace: '.broken.corp.example', mode: 'no-validation', until });
    expect(table.expired(clock.now())).toEqual([]);
    expect(table.nextExpiry()).toEqual(until);

    clock.advance(2 * HOUR - 1);
    expect(table.match(name, clock.now())?.mode).toBe('no-validation');

    clock.advance(1); // until is exclusive: at until the anchor is gone
    expect(table.match(name, clock.now())).toMatchObject({ namespace: '.corp.example', mode: 'require' });
    expect(table.expired(clock.now()).map((r) => r.namespace)).toEqual(['.broken.corp.example']);
    // still in the table until the service removes it
    expect(table.rules()).toHaveLength(2);
  });

  it('an expired store NTA that hides a config rule gives way to it at once, before any removal', () => {
    const now = Date.UTC(2026, 0, 1);
    const table = new PolicyTable([
      rule('.corp.example', 'require'),
      rule('.corp.example', 'no-validation', { until: new Date(now + HOUR), source: 'store' }),
    ]);
    expect(table.match(n('a.corp.example.'), now)?.mode).toBe('no-validation');
    expect(table.match(n('a.corp.example.'), now + HOUR)).toMatchObject({ mode: 'require', source: 'config' });
    expect(table.expired(now + HOUR)).toEqual([expect.objectContaining({ source: 'store' })]);
  });

  it('an expired NTA with forwarders no longer provides them', () => {
    const now = Date.UTC(2026, 0, 1);
    const table = new PolicyTable([rule('.broken.example', 'no-validation', { until: new Date(now), forwarders: [{ host: '127.0.0.9', port: 53 }] })]);
    expect(table.forwardersFor(n('a.broken.example.'), now)).toBeUndefined();
    expect(table.match(n('a.broken.example.'), now)).toBeUndefined();
  });

  it('an NTA without until never expires', () => {
    const table = new PolicyTable([rule('.insecure.example', 'no-validation')]);
    expect(table.expired(Number.MAX_SAFE_INTEGER)).toEqual([]);
    expect(table.nextExpiry()).toBeUndefined();
  });
});
