import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/loader.js';
import { policyEntryFromConfig } from '../../src/policy/policy-service.js';
import { PolicyTable, type PolicyRuleEntry } from '../../src/policy/policy-table.js';
import { chooseForwarders } from '../../src/resolver/forwarder-choice.js';
import { Name } from '../../src/wire/name.js';

/**
 * Per-namespace forwarders have one matching rule (the policy table's, NRPT semantics: the most
 * specific namespace wins, as in Unbound's forward-zone), whether the rules come from the config
 * file or from `keymaster policy add`. Every case below is one an operator's config can hit.
 */
const server = (last: number) => ({ host: `192.0.2.${last}`, port: 53 });
const A = [server(1)];
const B = [server(2)];
const C = [server(3)];
const D = [server(4)];
const GLOBAL = [server(99)];
const now = Date.parse('2026-12-07T00:00:00Z');

function table(rules: [string, readonly { host: string; port: number }[]][]): PolicyTable {
  return new PolicyTable(rules.map(([namespace, forwarders]): PolicyRuleEntry => ({ namespace, mode: 'default', forwarders, source: 'config' })));
}

const choose = (t: PolicyTable | undefined, name: string, global = GLOBAL) => chooseForwarders(Name.parse(name), t, global, now);

describe('forwarder choice: one rule for every namespace', () => {
  it('the root namespace "." covers every name, the root itself included', () => {
    const t = table([['.', A]]);
    expect(choose(t, '.')).toEqual(A);
    expect(choose(t, 'com.')).toEqual(A);
    expect(choose(t, 'a.b.c.example.net.')).toEqual(A);
  });

  it('a suffix ".example.com" covers the name itself and every name below it', () => {
    const t = table([['.example.com', A]]);
    expect(choose(t, 'example.com.')).toEqual(A);
    expect(choose(t, 'www.example.com.')).toEqual(A);
    expect(choose(t, 'a.b.www.example.com.')).toEqual(A);
    expect(choose(t, 'com.')).toEqual(GLOBAL);
  });

  it('matches whole labels only: ".ample.com" is not "example.com", ".example.com" is not "notexample.com"', () => {
    const t = table([
      ['.ample.com', A],
      ['.example.com', B],
    ]);
    expect(choose(t, 'ample.com.')).toEqual(A);
    expect(choose(t, 'www.ample.com.')).toEqual(A);
    expect(choose(t, 'example.com.')).toEqual(B);
    expect(choose(t, 'www.example.com.')).toEqual(B);
    expect(choose(t, 'notexample.com.')).toEqual(GLOBAL);
    expect(choose(t, 'xample.com.')).toEqual(GLOBAL);
    // An escaped dot is inside a label, not a boundary: the labels are "www.example" and "com".
    expect(choose(t, 'www\\.example.com.')).toEqual(GLOBAL);
    expect(Name.parse('www\\.example.com.').labelCount).toBe(2);
  });

  it('an exact name "example.com" covers that name only, and beats the suffix rule of the same name', () => {
    const exactOnly = table([['example.com', A]]);
    expect(choose(exactOnly, 'example.com.')).toEqual(A);
    expect(choose(exactOnly, 'www.example.com.')).toEqual(GLOBAL);
    const both = table([
      ['example.com', A],
      ['.example.com', B],
    ]);
    expect(choose(both, 'example.com.')).toEqual(A);
    expect(choose(both, 'www.example.com.')).toEqual(B);
  });

  it('the most specific namespace wins, whatever order the rules were added in', () => {
    const rules: [string, typeof A][] = [
      ['.com', A],
      ['.lab.example.com', C],
      ['.example.com', B],
      ['.', D],
    ];
    for (const order of [rules, [...rules].reverse()]) {
      const t = table(order);
      expect(choose(t, 'x.lab.example.com.')).toEqual(C);
      expect(choose(t, 'lab.example.com.')).toEqual(C);
      expect(choose(t, 'y.example.com.')).toEqual(B);
      expect(choose(t, 'other.com.')).toEqual(A);
      expect(choose(t, 'example.org.')).toEqual(D);
    }
  });

  it('is case-insensitive on both sides (RFC 4343)', () => {
    const t = table([['.Example.COM', A]]);
    expect(choose(t, 'WWW.example.com.')).toEqual(A);
    expect(choose(t, 'www.EXAMPLE.Com.')).toEqual(A);
    expect(choose(table([['Host.Example.com', B]]), 'HOST.EXAMPLE.COM.')).toEqual(B);
  });

  it('a rule without forwarders falls through to the next shorter one, then to the global list, then to iteration', () => {
    const t = new PolicyTable([
      { namespace: '.example.com', mode: 'default', forwarders: A, source: 'config' },
      { namespace: '.lab.example.com', mode: 'require', forwarders: [], source: 'config' },
    ]);
    expect(choose(t, 'x.lab.example.com.')).toEqual(A);
    expect(choose(t, 'example.net.')).toEqual(GLOBAL);
    expect(choose(t, 'example.net.', [])).toBeUndefined();
    expect(choose(undefined, 'example.net.')).toEqual(GLOBAL);
    expect(choose(undefined, 'example.net.', [])).toBeUndefined();
  });

  it('rules from the config file match as the same rules added at run time do', () => {
    const config = parseConfigText(
      [
        'policy:',
        '  - namespace: .example.com',
        '    forwarders: ["192.0.2.2"]',
        '  - namespace: host.ample.com',
        '    forwarders: ["192.0.2.1"]',
        '',
      ].join('\n'),
      'keymaster.yaml',
    );
    const fromConfig = new PolicyTable(config.policy.map(policyEntryFromConfig));
    const atRunTime = new PolicyTable([
      { namespace: '.example.com', mode: 'default', forwarders: B, source: 'store' },
      { namespace: 'host.ample.com', mode: 'default', forwarders: A, source: 'store' },
    ]);
    for (const name of ['example.com.', 'www.example.com.', 'host.ample.com.', 'www.host.ample.com.', 'ample.com.', 'notexample.com.', 'HOST.AMPLE.COM.']) {
      expect(choose(fromConfig, name), name).toEqual(choose(atRunTime, name));
    }
    // An exact name in the config file is exact: its subdomains go to the global forwarders.
    expect(choose(fromConfig, 'www.host.ample.com.')).toEqual(GLOBAL);
    expect(choose(fromConfig, 'host.ample.com.')).toEqual(A);
  });
});
