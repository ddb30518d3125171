import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnchorView, TrustPointDetail } from '../../src/trust/trust-views.js';
import { rcodeToString } from '../../src/wire/message.js';
import { RRType } from '../../src/wire/rr-type.js';
import { removeDir, startKeymaster, tempDir, type KeymasterOptions, type KeymasterServer } from '../support/external-servers.js';
import { ROOT_DNSKEY_TTL, ROOT_PHASES, startRollingRoot, type RollingRoot } from '../support/rolling-root.js';
import { askDnssec, summariseAnswer } from '../support/signed-hierarchy.js';

/**
 * The live RFC 5011 run the trust-point issue asks for: a private signed root on loopback rolls
 * its KSK step by step (publish the new key → it signs and the old one is revoked, self-signed →
 * the old one is removed) while Keymaster, which started trusting only the old key (keyset-.
 * import, no root-anchors.xml) with lab hold-downs, follows it: `keymaster trust-point show .`
 * goes AddPend → Valid → Revoked → Removed, a restart inside the add hold-down keeps AddPend and
 * its times, and www.lab. A (signed child of the root) is NOERROR with AD on every query.
 *
 * Loopback 127.10.70.0/24: root NSD .1, lab. NSD .2, Keymaster .10:53, control .250:5380.
 * Refreshes are driven by `keymaster trust-point refresh .` and the test polls `show` until the
 * expected state (generous timeouts), so timing does not decide the outcome.
 */

const PREFIX = '127.10.70';
const KEYMASTER = `${PREFIX}.10`;
const CONTROL = `${PREFIX}.250:5380`;
const ADD_HOLD_DOWN = 20; // s: long enough for a restart inside it
const REMOVE_HOLD_DOWN = 6; // s
const STATE_TIMEOUT_MS = 90_000;
const QUERIES_PER_PHASE = 10;

let rootLab: RollingRoot;
let work: string;
let km: KeymasterServer | undefined;
let keymasterOptions: KeymasterOptions;

/** Queries www.lab. A with DO through Keymaster every ~200 ms; every answer must be NOERROR, AD, with the A. */
class SecureQueryLoop {
  readonly failures: string[] = [];
  /** Queries per root phase (all must be secure): the loop has to run through every phase. */
  readonly asked = new Map<string, number>();
  private paused = false;
  private running = true;
  private done: Promise<void> | undefined;

  start(): void {
    this.done = (async () => {
      while (this.running) {
        if (!this.paused) await this.once();
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
  }

  private async once(): Promise<void> {
    const phase = rootLab.phase;
    try {
      const r = await askDnssec({ host: KEYMASTER, port: 53 }, 'www.lab.', 'A', { timeoutMs: 3000 });
      if (this.paused) return; // a restart began while the query was under way
      if (r.rcode !== 0 || !r.ad || !r.answer.some((rr) => rr.type === RRType.A))
        this.failures.push(`${new Date().toISOString()} [${phase}] ${rcodeToString(r.rcode)}: ${summariseAnswer(r)}`);
    } catch (error) {
      if (this.paused) return;
      this.failures.push(`${new Date().toISOString()} [${phase}] no answer: ${(error as Error).message}`);
    }
    this.asked.set(phase, (this.asked.get(phase) ?? 0) + 1);
  }

  /** Resolves once `n` queries were made while the root was in `phase`: every phase gets its share. */
  async askedIn(phase: string, n: number): Promise<void> {
    const deadline = Date.now() + 30_000;
    while ((this.asked.get(phase) ?? 0) < n) {
      if (Date.now() > deadline) throw new Error(`fewer than ${n} queries made during ${phase}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Around a deliberate restart: nothing answers then, and that is not a validation failure. */
  async pause<T>(during: () => Promise<T>): Promise<T> {
    this.paused = true;
    try {
      return await during();
    } finally {
      this.paused = false;
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

const loop = new SecureQueryLoop();

async function show(): Promise<TrustPointDetail> {
  const r = await km!.cli(['trust-point', 'show', '.', '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as TrustPointDetail;
}

function anchor(tp: TrustPointDetail, tag: number): AnchorView | undefined {
  return tp.anchors.find((a) => a.type === 'DNSKEY' && a.keyTag === tag);
}

/** `trust-point refresh .` then `show .`, until `done(show)` holds; fails with the last show and refresh and the log tail. */
async function refreshUntil(what: string, done: (tp: TrustPointDetail) => boolean): Promise<TrustPointDetail> {
  const deadline = Date.now() + STATE_TIMEOUT_MS;
  let last: TrustPointDetail | undefined;
  let lastRefresh = '';
  for (;;) {
    const r = await km!.cli(['trust-point', 'refresh', '.']);
    lastRefresh = `${r.code} ${r.stdout}${r.stderr}`;
    last = await show();
    if (done(last)) return last;
    if (Date.now() > deadline)
      throw new Error(`trust point . never reached: ${what}\n--- last show ---\n${JSON.stringify(last, null, 2)}\n--- last refresh ---\n${lastRefresh}\n--- log ---\n${km!.log().slice(-6000)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const ms = (iso: string | undefined) => (iso === undefined ? Number.NaN : Date.parse(iso));

beforeAll(async () => {
  rootLab = await startRollingRoot(PREFIX);
  work = tempDir('trust-rollover-live');
  keymasterOptions = {
    address: KEYMASTER,
    control: CONTROL,
    rootHints: rootLab.rootHintsFile,
    validation: true,
    rootAnchors: 'none',
    importAnchors: [rootLab.oldKeysetFile],
    stateDir: join(work, 'state'),
    trustAnchorsYaml: `  rfc5011:\n    addHoldDown: ${ADD_HOLD_DOWN}s\n    removeHoldDown: ${REMOVE_HOLD_DOWN}s\n    minRefresh: 1s\n`,
  };
  km = await startKeymaster(keymasterOptions);
}, 60_000);

afterAll(async () => {
  await loop.stop();
  await km?.stop();
  await rootLab?.stop();
  if (work) removeDir(work);
});

describe('live RFC 5011 root KSK rollover on loopback with lab hold-downs', () => {
  it('trust-point show . follows AddPend → Valid → Revoked → Removed while www.lab. stays secure', async () => {
    const tags = rootLab.tags;
    expect(km!.log()).toContain('"trust-anchor.timers-lowered"');

    // (1) Only the old KSK: the imported anchor is Valid and a refresh validates the root's keys.
    loop.start();
    let tp = await refreshUntil('old KSK Valid after a successful refresh', (t) => t.lastSuccess !== undefined && anchor(t, tags.old)?.state === 'Valid');
    expect(tp.state).toBe('Active');
    expect(tp.anchors.map((a) => [a.type, a.keyTag, a.state, a.trusted])).toEqual([['DNSKEY', tags.old, 'Valid', true]]);
    expect(tp.originalTtl).toBe(ROOT_DNSKEY_TTL);

    // (2) The new KSK is published, signed by the old one: AddPend for the add hold-down, not trusted.
    await loop.askedIn('old-only', QUERIES_PER_PHASE);
    await rootLab.publish('new-published');
    tp = await refreshUntil('new KSK AddPend', (t) => anchor(t, tags.new) !== undefined);
    const pending = anchor(tp, tags.new)!;
    expect(pending).toMatchObject({ state: 'AddPend', trusted: false, nextState: 'Valid', origin: 'rfc5011' });
    expect(ms(pending.nextStateTime) - ms(pending.enteredState)).toBe(ADD_HOLD_DOWN * 1000);
    expect(anchor(tp, tags.old)).toMatchObject({ state: 'Valid', trusted: true });

    // A restart inside the add hold-down keeps AddPend and its times (the store is on disk).
    const restarted = await loop.pause(async () => {
      await km!.stop();
      km = undefined;
      km = await startKeymaster(keymasterOptions);
      return show();
    });
    expect(Date.now(), 'the restart took longer than the add hold-down: raise ADD_HOLD_DOWN').toBeLessThan(ms(pending.nextStateTime));
    expect(anchor(restarted, tags.new)).toMatchObject({ state: 'AddPend', enteredState: pending.enteredState, nextStateTime: pending.nextStateTime, trusted: false });
    expect(anchor(restarted, tags.old)).toMatchObject({ state: 'Valid', trusted: true });

    tp = await refreshUntil('new KSK Valid', (t) => anchor(t, tags.new)?.state === 'Valid');
    const valid = anchor(tp, tags.new)!;
    expect(valid.trusted).toBe(true);
    expect(ms(valid.enteredState)).toBeGreaterThanOrEqual(ms(pending.nextStateTime)); // never before the hold-down ended
    expect(anchor(tp, tags.old)).toMatchObject({ state: 'Valid', trusted: true });

    // (3) The new KSK signs; the old one is published revoked (flags 385) and signs the set itself.
    await loop.askedIn('new-published', QUERIES_PER_PHASE);
    await rootLab.publish('old-revoked');
    tp = await refreshUntil('old KSK Revoked', (t) => anchor(t, tags.old)?.state === 'Revoked');
    const revoked = anchor(tp, tags.old)!;
    expect(revoked).toMatchObject({ currentKeyTag: tags.oldRevoked, trusted: false, nextState: 'Removed' });
    expect(ms(revoked.nextStateTime) - ms(revoked.enteredState)).toBe(REMOVE_HOLD_DOWN * 1000);
    expect(anchor(tp, tags.new)).toMatchObject({ state: 'Valid', trusted: true });
    expect(tp.state).toBe('Active');

    // (4) The old key leaves the zone: after the remove hold-down it is Removed; the new key carries on.
    await loop.askedIn('old-revoked', QUERIES_PER_PHASE);
    await rootLab.publish('new-only');
    tp = await refreshUntil('old KSK Removed', (t) => anchor(t, tags.old)?.state === 'Removed');
    expect(ms(anchor(tp, tags.old)!.enteredState)).toBeGreaterThanOrEqual(ms(revoked.nextStateTime));
    expect(anchor(tp, tags.old)!.trusted).toBe(false);
    expect(anchor(tp, tags.new)).toMatchObject({ state: 'Valid', trusted: true });
    expect(tp.state).toBe('Active');
    await loop.askedIn('new-only', QUERIES_PER_PHASE);
    tp = await refreshUntil('a successful refresh on the new key alone', (t) => t.lastResult?.startsWith('ok:') === true && ms(t.lastSuccess) > ms(anchor(t, tags.old)!.enteredState));

    // Every state change after the restart is in this server's log.
    const log = km!.log();
    for (const [from, to] of [['AddPend', 'Valid'], ['Valid', 'Revoked'], ['Revoked', 'Removed']])
      expect(log).toMatch(new RegExp(`"trust-anchor\\.state-changed".*"from":"${from}","to":"${to}"`));

    await loop.stop();
    expect(loop.failures).toEqual([]);
    for (const phase of ROOT_PHASES) expect(loop.asked.get(phase) ?? 0, `queries during ${phase}`).toBeGreaterThanOrEqual(QUERIES_PER_PHASE);
  }, 300_000);
});
