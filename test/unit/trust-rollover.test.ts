import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { anchorsFromRootAnchors, mergeAnchors } from '../../src/trust/anchor-import.js';
import { RFC5011_TIMERS } from '../../src/trust/rfc5011.js';
import { parseRootAnchorsXml } from '../../src/trust/root-anchors-xml.js';
import { FileDocumentStore } from '../../src/store/file-document-store.js';
import { TrustAnchorStore } from '../../src/trust/trust-anchor-store.js';
import { TrustPointRefresher } from '../../src/trust/trust-point-refresher.js';
import { keyIdentity } from '../../src/trust/trust-point.js';
import { Name } from '../../src/wire/name.js';
import { captureLogger, makeKey, revoked, rootAnchorsXml, signedDnskeySet, validatesWith, type TestKey, manualScheduler } from './trust-fixtures.js';

/**
 * The 2026–27 root KSK rollover, replayed on a test root over simulated months with the RFC's
 * timers: KSK-2017-like "old" and KSK-2024-like "new" keys; the new one is published, then
 * signs, then the old one is revoked (flags 385, self-signed), then removed. The resolver was
 * bootstrapped from a root-anchors.xml that knew only the old key, so the new one must go
 * through the add hold-down. Every refresh must validate, every state must survive a restart.
 */

const root = Name.root;
const DAY = 86_400_000;
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

interface Lab {
  clock: ManualClock;
  stateDir: string;
  store: TrustAnchorStore;
  refresher: TrustPointRefresher;
  log: ReturnType<typeof captureLogger>;
  /** What the root publishes now. */
  publish: { keys: TestKey[]; signers: TestKey[] };
}

async function openLab(clock: ManualClock, stateDir: string, publish: Lab['publish'], log = captureLogger()): Promise<Lab> {
  const scheduler = manualScheduler(clock);
  const store = await TrustAnchorStore.open({ documents: await FileDocumentStore.open(stateDir), clock, scheduler, logger: log.logger });
  const refresher = new TrustPointRefresher({
    store,
    clock,
    scheduler,
    logger: log.logger,
    timers: RFC5011_TIMERS,
    random: () => 0,
    fetchDnskey: async (zone) => (zone.isRoot ? signedDnskeySet(root, lab.publish.keys, lab.publish.signers, clock.now()) : undefined),
  });
  const lab: Lab = { clock, stateDir, store, refresher, log, publish };
  return lab;
}

/** Reopens the store from disk, as a restart would (after the pending write is flushed). */
async function restart(lab: Lab): Promise<Lab> {
  await lab.store.flush();
  await lab.refresher.stop();
  const again = await openLab(lab.clock, lab.stateDir, lab.publish, lab.log);
  expect(again.store.list()).toEqual(lab.store.list());
  return again;
}

function stateOf(lab: Lab, key: TestKey): { state: string; since: number; next?: number } | undefined {
  const a = lab.store.get('.')?.anchors.find((x) => x.type === 'DNSKEY' && keyIdentity(x.rdata) === keyIdentity(key.rdata));
  return a && { state: a.state, since: a.since, ...(a.next === undefined ? {} : { next: a.next }) };
}

/** Moves the clock to the trust point's next refresh (which the next runUntil performs) and returns that time. */
function nextRefresh(lab: Lab): number {
  const at = lab.store.get('.')!.nextRefresh!;
  expect(at).toBeGreaterThanOrEqual(lab.clock.now());
  lab.clock.set(at);
  return at;
}

/** Runs due refreshes, a simulated hour at a time, until `until`; each refresh must validate and the published set must authenticate. */
async function runUntil(lab: Lab, until: number): Promise<void> {
  while (lab.clock.now() < until) {
    const outcomes = await lab.refresher.runDue();
    for (const o of outcomes) expect(o, o.result).toMatchObject({ ok: true });
    const published = signedDnskeySet(root, lab.publish.keys, lab.publish.signers, lab.clock.now());
    expect(validatesWith(lab.store, root, published, lab.clock.now())).toMatchObject({ state: 'secure' });
    lab.clock.advance(Math.min(until - lab.clock.now(), 3_600_000));
  }
}

describe('replay of the 2026–27 root KSK rollover on a test root', () => {
  it('publish → AddPend → Valid → new key signs → old revoked → Removed, validating throughout and surviving restarts', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const stateDir = mkdtempSync(join(tmpdir(), 'km-trust-rollover-'));
    dirs.push(stateDir);
    const kskOld = makeKey(root); // "KSK-2017"
    const kskNew = makeKey(root); // "KSK-2024"
    const zsk = makeKey(root, 256);
    let lab = await openLab(clock, stateDir, { keys: [kskOld, zsk], signers: [kskOld] });

    // Bootstrap from a root-anchors.xml that knows only the old key.
    const xml = parseRootAnchorsXml(rootAnchorsXml([{ id: 'Kold', key: kskOld, validFrom: '2017-02-02T00:00:00+00:00' }]));
    lab.store.put(mergeAnchors(undefined, anchorsFromRootAnchors(xml, clock.now()), clock.now()).trustPoint);
    expect(lab.store.anchors()).toEqual([expect.objectContaining({ ds: [expect.any(Uint8Array)], dnskey: [] })]);

    // Day 0: the first refresh turns the digest into the DNSKEY it matches.
    await runUntil(lab, clock.now() + 10 * DAY);
    expect(stateOf(lab, kskOld)).toMatchObject({ state: 'Valid', since: Date.UTC(2026, 0, 1) });
    expect(lab.store.get('.')!.anchors.filter((a) => a.type === 'DS')).toEqual([]);
    // Active refresh every MIN(15 d, TTL/2 = 1 d, 21 d/2) = 1 day (no jitter in this test).
    const tp = lab.store.get('.')!;
    expect(tp.nextRefresh! - tp.lastSuccess!).toBe(DAY);

    // The new KSK is published (signed by the old one): AddPend for 30 days.
    lab.publish = { keys: [kskOld, kskNew, zsk], signers: [kskOld] };
    const published = nextRefresh(lab);
    await runUntil(lab, published + 1);
    expect(stateOf(lab, kskNew)).toEqual({ state: 'AddPend', since: published, next: published + 30 * DAY });
    expect(lab.store.anchors()[0]!.dnskey).toHaveLength(1); // the new key is not trusted yet
    await runUntil(lab, published + 15 * DAY);
    lab = await restart(lab); // inside the add hold-down
    expect(stateOf(lab, kskNew)).toEqual({ state: 'AddPend', since: published, next: published + 30 * DAY });
    await runUntil(lab, published + 30 * DAY);
    expect(stateOf(lab, kskNew)?.state).toBe('AddPend');
    await runUntil(lab, published + 31 * DAY);
    const validAt = stateOf(lab, kskNew)!;
    expect(validAt.state).toBe('Valid');
    // It became Valid at the first refresh after the hold-down (refreshes are daily: TTL 2 d / 2).
    expect(validAt.since).toBeGreaterThanOrEqual(published + 30 * DAY);
    expect(validAt.since).toBeLessThanOrEqual(published + 31 * DAY);

    // October: the new KSK signs, the old one only stays published.
    lab.publish = { keys: [kskOld, kskNew, zsk], signers: [kskNew] };
    await runUntil(lab, clock.now() + 90 * DAY);
    expect(stateOf(lab, kskOld)?.state).toBe('Valid');
    expect(stateOf(lab, kskNew)?.state).toBe('Valid');

    // January: the old KSK is revoked (385, a new key tag) and signs the set itself.
    const oldRevoked = revoked(kskOld);
    lab.publish = { keys: [oldRevoked, kskNew, zsk], signers: [kskNew, oldRevoked] };
    const revokedAt = nextRefresh(lab);
    await runUntil(lab, revokedAt + 1);
    expect(stateOf(lab, kskOld)).toEqual({ state: 'Revoked', since: revokedAt, next: revokedAt + 30 * DAY });
    expect(lab.store.get('.')!.anchors.find((a) => a.state === 'Revoked')!.rdata).toEqual(oldRevoked.rdata);
    expect(lab.store.anchors()[0]!.dnskey).toEqual([kskNew.rdata]);
    await runUntil(lab, revokedAt + 20 * DAY);
    lab = await restart(lab); // inside the remove hold-down
    expect(stateOf(lab, kskOld)).toEqual({ state: 'Revoked', since: revokedAt, next: revokedAt + 30 * DAY });
    await runUntil(lab, revokedAt + 31 * DAY);
    expect(stateOf(lab, kskOld)?.state).toBe('Removed');

    // The revoked key leaves the zone; the trust point now rests on the new key alone.
    lab.publish = { keys: [kskNew, zsk], signers: [kskNew] };
    await runUntil(lab, clock.now() + 60 * DAY);
    expect(stateOf(lab, kskOld)?.state).toBe('Removed');
    expect(stateOf(lab, kskNew)?.state).toBe('Valid');
    lab = await restart(lab);
    expect(lab.store.anchors()).toEqual([{ zone: root, ds: [], dnskey: [kskNew.rdata] }]);

    // Every change was logged with its zone, tag, states and time.
    const changes = lab.log.events('trust-anchor.state-changed').map((e) => `${e['keyTag']}:${e['from']}→${e['to']}`);
    expect(changes).toEqual([
      `${kskOld.signer.keyTag}:Valid→Removed`.replace('Valid→Removed', 'Start→Valid'),
      `${kskOld.signer.keyTag}:Valid→Removed`,
      `${kskNew.signer.keyTag}:Start→AddPend`,
      `${kskNew.signer.keyTag}:AddPend→Valid`,
      `${kskOld.signer.keyTag}:Valid→Revoked`,
      `${kskOld.signer.keyTag}:Revoked→Removed`,
    ]);
    await lab.refresher.stop();
  });
});

describe('attacks that must fail', () => {
  async function validLab(): Promise<{ lab: Lab; a: TestKey }> {
    const clock = new ManualClock(Date.UTC(2026, 5, 1));
    const stateDir = mkdtempSync(join(tmpdir(), 'km-trust-attack-'));
    dirs.push(stateDir);
    const a = makeKey(root);
    const lab = await openLab(clock, stateDir, { keys: [a], signers: [a] });
    const xml = parseRootAnchorsXml(rootAnchorsXml([{ id: 'Ka', key: a, validFrom: '2020-01-01T00:00:00Z' }]));
    lab.store.put(mergeAnchors(undefined, anchorsFromRootAnchors(xml, clock.now()), clock.now()).trustPoint);
    await runUntil(lab, clock.now() + 1);
    expect(stateOf(lab, a)?.state).toBe('Valid');
    return { lab, a };
  }

  it('a key in an unvalidated RRset never enters AddPend, however long it is served', async () => {
    const { lab, a } = await validLab();
    const evil = makeKey(root);
    lab.publish = { keys: [a, evil], signers: [evil] }; // signed only by the attacker's key
    for (let day = 0; day < 40; day++) {
      const [outcome] = await lab.refresher.runDue();
      if (outcome) expect(outcome.ok).toBe(false);
      lab.clock.advance(DAY);
    }
    expect(stateOf(lab, evil)).toBeUndefined();
    expect(lab.store.get('.')!.lastResult).toMatch(/not validated/);
    expect(lab.store.get('.')!.failures).toBeGreaterThan(0);
    await lab.refresher.stop();
  });

  it('a key withdrawn before its hold-down ends is forgotten; re-published it starts a new hold-down', async () => {
    const { lab, a } = await validLab();
    const b = makeKey(root);
    lab.publish = { keys: [a, b], signers: [a] };
    const first = lab.clock.now();
    await runUntil(lab, first + 20 * DAY);
    expect(stateOf(lab, b)?.state).toBe('AddPend');
    lab.publish = { keys: [a], signers: [a] };
    await runUntil(lab, first + 25 * DAY);
    expect(stateOf(lab, b)).toBeUndefined();
    lab.publish = { keys: [a, b], signers: [a] };
    const again = lab.clock.now();
    await runUntil(lab, first + 45 * DAY); // 45 days after it first appeared, 20 after it came back
    expect(stateOf(lab, b)).toMatchObject({ state: 'AddPend', since: again, next: again + 30 * DAY });
    expect(lab.store.anchors()[0]!.dnskey).toEqual([a.rdata]);
    await lab.refresher.stop();
  });

  it('a forged revocation (the REVOKE bit without the key’s own signature) is ignored', async () => {
    const { lab, a } = await validLab();
    const b = makeKey(root);
    lab.publish = { keys: [a, b], signers: [a] };
    await runUntil(lab, lab.clock.now() + 32 * DAY);
    expect(stateOf(lab, b)?.state).toBe('Valid');
    lab.publish = { keys: [a, revoked(b)], signers: [a] }; // revoked b, but b does not sign
    await runUntil(lab, lab.clock.now() + 3 * DAY);
    expect(stateOf(lab, b)?.state).toBe('Valid');
    expect(lab.log.events('trust-anchor.state-changed').some((e) => e['to'] === 'Revoked')).toBe(false);
    await lab.refresher.stop();
  });

  it('when the only trusted key revokes itself the trust point is deleted (§5)', async () => {
    const { lab, a } = await validLab();
    const ra = revoked(a);
    lab.publish = { keys: [ra], signers: [ra] };
    lab.clock.advance(DAY);
    const [outcome] = await lab.refresher.runDue();
    expect(outcome).toMatchObject({ deleted: true });
    expect(lab.store.get('.')).toBeUndefined();
    expect(lab.store.anchors()).toEqual([]);
    expect(lab.log.events('trust-point.deleted')).toHaveLength(1);
    await lab.refresher.stop();
  });
});
