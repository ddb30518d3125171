import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rcodeToString } from '../../src/wire/message.js';
import { type Hierarchy, answerSet, ask, startHierarchy } from '../support/dns-hierarchy.js';
import { type KeymasterServer, type RunningServer, startKeymaster } from '../support/external-servers.js';

// A hierarchy of its own, an Unbound on it as the "forwarder", and two Keymasters: one
// forward-only, one iterating from the private root with a per-namespace forwarder.
const PREFIX = '127.10.8';
const UPSTREAM = '127.10.9.2';
const FORWARD_ONLY = { host: '127.10.9.3', port: 53 };
const SPLIT = { host: '127.10.9.4', port: 53 };
const NOWHERE = '127.10.9.250'; // nothing listens here

describe('forwarding', () => {
  let h: Hierarchy;
  let upstream: RunningServer;
  let forwardOnly: KeymasterServer;
  let split: KeymasterServer;

  beforeAll(async () => {
    h = await startHierarchy({ prefix: PREFIX });
    upstream = await h.startUnbound(UPSTREAM);
    forwardOnly = await startKeymaster({
      address: FORWARD_ONLY.host,
      control: '127.10.9.3:5380',
      rootHints: 'builtin', // never used: forward-only
      forwarders: [UPSTREAM],
    });
    split = await startKeymaster({
      address: SPLIT.host,
      control: '127.10.9.4:5380',
      rootHints: h.rootHintsFile,
      extraYaml: `policy:\n  - { namespace: .b.example, forwarders: ["${UPSTREAM}"] }\n  - { namespace: .c.lab, forwarders: ["${NOWHERE}"] }\n`,
    });
  }, 120_000);

  afterAll(async () => {
    await split?.stop();
    await forwardOnly?.stop();
    await upstream?.stop();
    await h?.stop();
  });

  it('forward-only: every answer comes from the forwarder', async () => {
    for (const e of h.expected.filter((x) => !x.needsTcp).slice(0, 8)) {
      const r = await ask(FORWARD_ONLY, e.name, e.type, { timeoutMs: 8000 });
      expect(rcodeToString(r.response.rcode), e.label).toBe(e.rcode);
      expect(answerSet(r.response), e.label).toEqual([...e.answer].sort());
    }
  });

  it('a namespace rule sends its names to its forwarders and the rest is iterated', async () => {
    const viaForwarder = h.expected.find((e) => e.name.endsWith('b.example.') && e.rcode === 'NOERROR')!;
    const r = await ask(SPLIT, viaForwarder.name, viaForwarder.type, { timeoutMs: 8000 });
    expect(answerSet(r.response)).toEqual([...viaForwarder.answer].sort());
    const iterated = h.expected.find((e) => e.name === 'host.a.test.' || e.label === 'A')!;
    const i = await ask(SPLIT, iterated.name, iterated.type, { timeoutMs: 8000 });
    expect(answerSet(i.response)).toEqual([...iterated.answer].sort());
    // .c.lab goes only to a forwarder that never answers: SERVFAIL, not a quiet fallback to iteration.
    const dead = await ask(SPLIT, 'y.c.lab.', 'A', { timeoutMs: 15000 });
    expect(rcodeToString(dead.response.rcode)).toBe('SERVFAIL');
  }, 30_000);
});
