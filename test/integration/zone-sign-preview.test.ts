import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KeymasterServer, startKeymaster } from '../support/external-servers.js';

/**
 * `zone sign` on a signed zone (loopback 127.10.210.0/24): the server's preview of what would
 * change is shown and nothing is done without --yes; scripts (stdin not a terminal, as here, and
 * --json) get an error naming --yes and a non-zero exit; --yes signs as before.
 */

const SERVER = '127.10.210.1';
const ZONE = 'preview.test.';

describe('keymaster zone sign on a signed zone', () => {
  let km: KeymasterServer;
  const policy = async () => JSON.parse((await km.cli(['zone', 'show', ZONE, '--json'])).stdout).policy as Record<string, unknown>;
  const serial = async () => JSON.parse((await km.cli(['zone', 'show', ZONE, '--json'])).stdout).serial as number;

  beforeAll(async () => {
    km = await startKeymaster({ address: SERVER, control: `${SERVER}:5380`, rootHints: 'builtin' });
    const file = join(km.stateDir, 'zones', 'preview.test.zone');
    writeFileSync(file, '$TTL 300\n@ SOA ns h 1 3600 900 604800 60\n@ NS ns\nns A 192.0.2.1\n');
    expect((await km.cli(['zone', 'add', ZONE, '--file', file])).code).toBe(0);
    // Unsigned: signing needs no confirmation.
    const first = await km.cli(['zone', 'sign', ZONE]);
    expect(first.code, first.stderr).toBe(0);
  }, 60_000);

  afterAll(async () => {
    await km?.stop();
  });

  it('shows old → new and the algorithm rollover, refuses without --yes, and changes nothing', async () => {
    const before = { policy: await policy(), serial: await serial() };
    const r = await km.cli(['zone', 'sign', ZONE, '--algorithm', 'ED25519', '--zsk-rollover', '30d', '--nsec']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/algorithm\s+ECDSAP256SHA256\(13\) → ED25519\(15\)/);
    expect(r.stderr).toMatch(/denial\s+NSEC3 → NSEC/);
    expect(r.stderr).toMatch(/zskRollover\s+90d → 30d/);
    expect(r.stderr).toMatch(/An algorithm rollover starts: ECDSAP256SHA256\(13\) → ED25519\(15\)/);
    expect(r.stderr).toMatch(/nothing done: add --yes to sign/);
    expect(await policy()).toEqual(before.policy);
    expect(await serial()).toBe(before.serial);
  });

  it('the control API: dryRun must be a boolean, and a bad period is said in durations', async () => {
    const token = readFileSync(join(km.stateDir, 'control.token'), 'utf8').trim();
    const post = async (body: unknown) => {
      const r = await fetch(`http://${SERVER}:5380/v1/zones/${ZONE}/sign`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: r.status, body: (await r.json()) as { error?: { code: string; message: string } } };
    };
    expect(await post({ dryRun: 'yes' })).toMatchObject({ status: 400, body: { error: { code: 'bad-field', message: '"dryRun" must be true or false' } } });
    const bad = await post({ dryRun: true, options: { kskRollover: 1800 } });
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'bad-signing-options', message: 'kskRollover: must be at least 1h, got 30m' } } });
    const real = await post({ options: { zskRollover: 600 } });
    expect(real.body.error?.message).toBe('zskRollover: must be at least 1h, got 10m');
  });

  it('--json without --yes: the preview as JSON on stdout, the error on stderr, exit 1', async () => {
    const r = await km.cli(['zone', 'sign', ZONE, '--ksk-rollover', '365d', '--json']);
    expect(r.code).toBe(1);
    const { preview } = JSON.parse(r.stdout) as { preview: { changes: unknown[]; needsConfirmation: boolean; algorithmRollover: unknown } };
    expect(preview).toMatchObject({ needsConfirmation: true, algorithmRollover: null, changes: [{ field: 'kskRollover', from: '755d', to: '365d' }] });
    expect(r.stderr).toMatch(/--yes/);
  });

  it('signing again as it is needs no --yes; --yes applies a change as before', async () => {
    const same = await km.cli(['zone', 'sign', ZONE, '--defaults']);
    expect(same.code, same.stderr).toBe(0);
    const s = await serial();
    const yes = await km.cli(['zone', 'sign', ZONE, '--zsk-rollover', '30d', '--yes']);
    expect(yes.code, yes.stderr).toBe(0);
    expect(yes.stdout).toMatch(/ZskRolloverFrequency\s+: 30d/);
    expect(await policy()).toMatchObject({ zskRollover: 30 * 86400, algorithm: 13 });
    expect(await serial()).toBeGreaterThan(s);
  });
});
