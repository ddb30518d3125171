import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { TrustRefresherRoles } from '../../src/cluster/trust-refresher-roles.js';
import { anchorsFromRootAnchors, mergeAnchors } from '../../src/trust/anchor-import.js';
import { RFC5011_TIMERS } from '../../src/trust/rfc5011.js';
import { parseRootAnchorsXml } from '../../src/trust/root-anchors-xml.js';
import { TRUST_ANCHORS_DOCUMENT, TRUST_ANCHORS_KEY, TrustAnchorStore } from '../../src/trust/trust-anchor-store.js';
import { TrustPointRefresher } from '../../src/trust/trust-point-refresher.js';
import { keyIdentity } from '../../src/trust/trust-point.js';
import { Name } from '../../src/wire/name.js';
import { type EtcdCluster, startEtcdCluster } from '../support/etcd-cluster.js';
import { haveTool } from '../support/external-servers.js';
import { type ClusterNode, startClusterNode, testPrefix } from '../support/cluster-node.js';
import { captureLogger, makeKey, manualScheduler, rootAnchorsXml, signedDnskeySet, validatesWith, type TestKey } from '../unit/trust-fixtures.js';

/**
 * One RFC 5011 refresher per trust point for the whole cluster, on a real 3-member etcd: three
 * primaries (in this process, each with its own etcd client, lease, store handle, trust anchor
 * store and refresher) share one simulated clock for RFC 5011 time (months pass in a second) while
 * their etcd leases run on real time. Only the holder of `roles/trust-refresher/_root.` fetches
 * the DNSKEY RRset and writes; the others apply the document through the store's watch. The
 * holder is lost in the middle of the 30-day add hold-down; another takes over and the key turns
 * Valid at the original hold-down's end. A deposed refresher that wakes late cannot write; with
 * etcd down nobody changes RFC 5011 state and everybody keeps validating.
 */
const HOSTS = ['127.10.139.1', '127.10.139.2', '127.10.139.3'];
const enabled = haveTool('etcd');
const DAY = 86_400_000;
const HOUR = 3_600_000;
const root = Name.root;

interface Primary {
  readonly name: string;
  readonly node: ClusterNode;
  readonly gate: TrustRefresherRoles;
  readonly store: TrustAnchorStore;
  readonly refresher: TrustPointRefresher;
  readonly log: ReturnType<typeof captureLogger>;
  /** Simulated times at which this primary fetched the root's DNSKEY RRset. */
  readonly fetches: number[];
  /** While set, the fetch waits for it (a refresher caught in the middle of a refresh). */
  hold?: Promise<void>;
  alive: boolean;
}

describe.skipIf(!enabled)('one RFC 5011 refresher per trust point for the cluster', () => {
  let etcd: EtcdCluster;
  const prefix = testPrefix();
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const kskOld = makeKey(root);
  const kskNew = makeKey(root);
  const zsk = makeKey(root, 256);
  const publish: { keys: TestKey[]; signers: TestKey[] } = { keys: [kskOld, zsk], signers: [kskOld] };
  const primaries: Primary[] = [];
  const stops: (() => void)[] = [];

  async function primary(name: string): Promise<Primary> {
    const node = await startClusterNode(etcd.endpoints, prefix, name, { ttlSeconds: 3 });
    const gate = await TrustRefresherRoles.start(node.client.namespace(prefix), node.store, node.lease);
    const log = captureLogger();
    const scheduler = manualScheduler(clock);
    const store = await TrustAnchorStore.open({ documents: node.store, clock, scheduler, logger: log.logger });
    const p: Primary = {
      name, node, gate, store, log, fetches: [], alive: true,
      refresher: new TrustPointRefresher({
        store, clock, scheduler, logger: log.logger, timers: RFC5011_TIMERS, random: () => 0, gate,
        fetchDnskey: async () => {
          p.fetches.push(clock.now());
          await p.hold;
          return signedDnskeySet(root, publish.keys, publish.signers, clock.now());
        },
      }),
    };
    stops.push(node.store.watchOthers(TRUST_ANCHORS_KEY, () => void store.reload()));
    primaries.push(p);
    return p;
  }

  const live = (): Primary[] => primaries.filter((p) => p.alive);
  const holder = (): Primary | undefined => live().find((p) => p.gate.isHeld('.'));

  /** Every live primary runs its due refreshes, a simulated hour at a time, until `until`. */
  async function runUntil(until: number): Promise<void> {
    while (clock.now() < until) {
      for (const p of live()) for (const o of await p.refresher.runDue()) expect(o, `${p.name}: ${o.result}`).toMatchObject({ ok: true });
      clock.advance(Math.min(until - clock.now(), HOUR));
    }
    for (const p of live()) await p.refresher.runDue();
  }

  function stateOf(p: Primary, key: TestKey): { state: string; since: number; next?: number } | undefined {
    const a = p.store.get('.')?.anchors.find((x) => x.type === 'DNSKEY' && keyIdentity(x.rdata) === keyIdentity(key.rdata));
    return a && { state: a.state, since: a.since, ...(a.next === undefined ? {} : { next: a.next }) };
  }

  /** Every live primary has applied the holder's document (through the store's watch). */
  async function converged(): Promise<void> {
    const h = holder() ?? live()[0]!;
    for (const p of live()) await expect.poll(() => p.store.get('.'), { timeout: 10_000 }).toEqual(h.store.get('.'));
  }

  /** As a SIGKILL leaves it: no keep-alive any more, the lease not revoked (etcd frees its roles after the TTL). */
  function lose(p: Primary): void {
    p.alive = false;
    p.node.lease.abandon();
  }

  beforeAll(async () => {
    etcd = await startEtcdCluster(HOSTS);
    for (const name of ['ns1', 'ns2', 'ns3']) await primary(name);
  }, 60_000);
  afterAll(async () => {
    stops.forEach((s) => s());
    for (const p of primaries) {
      await p.refresher.stop();
      await p.gate.close().catch(() => undefined);
      await p.node.close().catch(() => undefined);
    }
    await etcd?.destroy();
  });

  it('the holder alone refreshes; the add hold-down started by it ends on time after it is lost mid-way and another takes over', async () => {
    const [ns1] = primaries as [Primary, Primary, Primary];
    // The root trust point, bootstrapped on ns1 from a root-anchors.xml that knows only the old key.
    const xml = parseRootAnchorsXml(rootAnchorsXml([{ id: 'Kold', key: kskOld, validFrom: '2017-02-02T00:00:00+00:00' }]));
    await ns1.store.commit('.', () => ({ changed: true, trustPoint: mergeAnchors(undefined, anchorsFromRootAnchors(xml, clock.now()), clock.now()).trustPoint, result: undefined }));
    await converged();

    // ns1 sweeps first and takes the role; the others see it held and stay out.
    await runUntil(clock.now() + 2 * DAY);
    expect(holder()?.name).toBe('ns1');
    for (const p of live()) expect(p.gate.holderOf('.')).toBe('ns1');
    expect(stateOf(ns1, kskOld)?.state).toBe('Valid');
    expect(ns1.fetches.length).toBeGreaterThanOrEqual(2);
    expect(primaries.slice(1).map((p) => p.fetches.length)).toEqual([0, 0]);

    // A new KSK (signed by the old one): AddPend for 30 days, as every primary sees it.
    publish.keys = [kskOld, kskNew, zsk];
    const published = ns1.store.get('.')!.nextRefresh!;
    clock.set(published);
    await runUntil(published + 1);
    expect(stateOf(ns1, kskNew)).toEqual({ state: 'AddPend', since: published, next: published + 30 * DAY });
    await converged();
    for (const p of live()) expect(stateOf(p, kskNew)).toEqual({ state: 'AddPend', since: published, next: published + 30 * DAY });

    // Day 15 of the hold-down: ns1 is lost.
    await runUntil(published + 15 * DAY);
    await converged();
    const lostAt = clock.now();
    lose(ns1);
    // Its lease expires (real time: TTL 3 s) and another primary takes the role by itself.
    await expect.poll(() => holder()?.name, { timeout: 20_000, interval: 100 }).toMatch(/^ns[23]$/);
    const next = holder()!;
    const other = live().find((p) => p !== next)!;
    // The state it goes on from is the one ns1 wrote: the hold-down still ends on day 30.
    expect(stateOf(next, kskNew)).toEqual({ state: 'AddPend', since: published, next: published + 30 * DAY });

    await runUntil(published + 30 * DAY - HOUR);
    expect(stateOf(next, kskNew)?.state).toBe('AddPend');
    await runUntil(published + 31 * DAY);
    const valid = stateOf(next, kskNew)!;
    expect(valid.state).toBe('Valid');
    // Valid at the first refresh after the ORIGINAL hold-down's end, not 30 days after the takeover.
    expect(valid.since).toBeGreaterThanOrEqual(published + 30 * DAY);
    expect(valid.since).toBeLessThanOrEqual(published + 31 * DAY);
    await converged();
    expect(stateOf(other, kskNew)?.state).toBe('Valid');
    // The new key validates on every live primary (a set signed by it alone).
    const byNew = signedDnskeySet(root, [kskNew, zsk], [kskNew], clock.now());
    for (const p of live()) expect(validatesWith(p.store, root, byNew, clock.now())).toMatchObject({ state: 'secure' });

    // Never two refreshers: ns1 fetched only before it was lost, the successor only after, the third never.
    expect(ns1.fetches.every((t) => t <= lostAt)).toBe(true);
    expect(next.fetches.length).toBeGreaterThanOrEqual(15);
    expect(next.fetches.every((t) => t >= lostAt)).toBe(true);
    expect(other.fetches).toEqual([]);
  }, 120_000);

  it('a refresher deposed in the middle of a refresh (frozen past its lease) writes nothing when it wakes, even with the guard it held', async () => {
    const deposed = holder()!;
    const successor = live().find((p) => p !== deposed)!;
    const guard = deposed.gate.fence('.');
    // The refresh is due; its fetch hangs, as a process frozen with SIGSTOP would.
    let thaw!: () => void;
    deposed.hold = new Promise((r) => (thaw = r));
    clock.set(deposed.store.get('.')!.nextRefresh!);
    const refreshing = deposed.refresher.refresh('.');
    await expect.poll(() => deposed.fetches.at(-1)).toBe(clock.now());
    lose(deposed);
    await expect.poll(() => successor.gate.isHeld('.'), { timeout: 20_000, interval: 100 }).toBe(true);
    const taken = await successor.refresher.refresh('.');
    expect(taken, taken.result).toMatchObject({ ok: true });
    const before = await successor.node.store.read(TRUST_ANCHORS_KEY, TRUST_ANCHORS_DOCUMENT);

    thaw();
    const late = await refreshing;
    expect(late.ok).toBe(false);
    expect(late.result).toMatch(/no longer the refresher/);
    expect(deposed.log.events('trust-point.refresh-fenced')).toHaveLength(1);
    // Even past its own check, etcd refuses the write under the guard it held before it froze.
    const forced = deposed.store.commit('.', (tp) => ({ changed: true, trustPoint: tp && { ...tp, lastResult: 'late write' }, result: undefined }), { guard });
    await expect(forced).rejects.toThrow(/guard failed/);
    const after = await successor.node.store.read(TRUST_ANCHORS_KEY, TRUST_ANCHORS_DOCUMENT);
    expect(after?.revision).toBe(before?.revision);
    expect(after?.value.trustPoints.map((tp) => tp.lastResult)).not.toContain('late write');
  }, 60_000);

  it('etcd unreachable: the refresher stops changing state once its lease is in doubt, everybody keeps validating, and all resumes when etcd is back', async () => {
    const refresher = holder()!;
    const fetchesBefore = refresher.fetches.length;
    const stateBefore = refresher.store.get('.');
    await etcd.stopAll();
    await expect.poll(() => refresher.node.lease.inDoubt(), { timeout: 10_000, interval: 100 }).toBe(true);
    expect(refresher.gate.isHeld('.')).toBe(false);

    // Refreshes come due: nothing is fetched, nothing changes, the anchors in memory still validate.
    await runUntil(clock.now() + 3 * DAY);
    expect(refresher.fetches.length).toBe(fetchesBefore);
    expect(refresher.store.get('.')).toEqual(stateBefore);
    const set = signedDnskeySet(root, publish.keys, [kskNew], clock.now());
    for (const p of live()) expect(validatesWith(p.store, root, set, clock.now())).toMatchObject({ state: 'secure' });
    // An operator's change is refused with the store's 'unavailable' error (the control API's 503).
    await expect(refresher.store.commit('.', (tp) => ({ changed: true, trustPoint: tp, result: undefined }))).rejects.toThrow(/etcd cannot be reached/);

    await etcd.restartAll();
    await expect.poll(() => holder()?.name, { timeout: 30_000, interval: 200 }).toBeDefined();
    const resumed = holder()!;
    await runUntil(clock.now() + 1);
    expect(resumed.fetches.length).toBeGreaterThan(resumed === refresher ? fetchesBefore : 0);
    expect(resumed.store.get('.')!.lastSuccess).toBeGreaterThanOrEqual(clock.now() - HOUR);
    await converged();
  }, 90_000);
});
