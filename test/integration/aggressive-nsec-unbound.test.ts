/**
 * RFC 8198 answers checked by an independent validator: Unbound (its own aggressive NSEC off)
 * forwards to Keymaster, which resolves the BIND-signed, NSD-served test tree. An NXDOMAIN that
 * Keymaster synthesises from validated NSEC ranges, without asking the tree, must still validate
 * in Unbound from the proof records and RRSIGs it carries (AD from Unbound, not just from us).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rcode } from '../../src/wire/message.js';
import { RRType } from '../../src/wire/rr-type.js';
import { type KeymasterServer, type RunningServer, haveTool, startKeymaster } from '../support/external-servers.js';
import { type SignedHierarchy, askDnssec, startSignedHierarchy, summariseAnswer } from '../support/signed-hierarchy.js';

const PREFIX = '127.10.226';
const KEYMASTER = '127.10.227.1';
const CONTROL = '127.10.227.1:5380';
const UNBOUND = '127.10.227.2';

const tools = ['unbound', 'nsd', 'dnssec-signzone', 'dnssec-keygen', 'dnssec-dsfromkey', 'ldns-signzone'].every(haveTool);

describe.skipIf(!tools)('aggressive NSEC answers validated by Unbound', () => {
  let tree: SignedHierarchy;
  let keymaster: KeymasterServer;
  let unbound: RunningServer;
  const status = async () => {
    const r = await keymaster.cli(['status', '--json']);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout).resolver as { aggressiveNsec?: { synthesised: number }; upstream: { queries: number } };
  };

  beforeAll(async () => {
    tree = await startSignedHierarchy({ prefix: PREFIX });
    keymaster = await startKeymaster({ address: KEYMASTER, control: CONTROL, rootHints: tree.rootHintsFile, validation: true, rootAnchors: 'none', importAnchors: [tree.rootDsset] });
    unbound = await tree.startUnbound(UNBOUND, 53, ['aggressive-nsec: no', 'forward-zone:', 'name: "."', `forward-addr: ${KEYMASTER}@53`]);
  }, 180_000);

  afterAll(async () => {
    await unbound?.stop();
    await keymaster?.stop();
    await tree?.stop();
  });

  it('an NXDOMAIN from a learnt range reaches no authoritative server and validates in Unbound (AD)', async () => {
    const first = await askDnssec({ host: UNBOUND, port: 53 }, 'zzzz-first.sec.', 'A');
    expect(first.rcode, summariseAnswer(first)).toBe(Rcode.NXDOMAIN);
    expect(first.ad).toBe(true);
    const before = await status();
    for (const name of ['zzzz-second.sec.', 'zzzz-third.sec.', 'zzzzz.sec.']) {
      const r = await askDnssec({ host: UNBOUND, port: 53 }, name, 'A');
      expect(r.rcode, summariseAnswer(r)).toBe(Rcode.NXDOMAIN);
      expect(r.ad, summariseAnswer(r)).toBe(true);
      expect(r.authority.some((x) => x.type === RRType.NSEC)).toBe(true);
    }
    const after = await status();
    expect(after.aggressiveNsec!.synthesised - (before.aggressiveNsec?.synthesised ?? 0)).toBe(3);
    expect(after.upstream.queries).toBe(before.upstream.queries);
  });
});
