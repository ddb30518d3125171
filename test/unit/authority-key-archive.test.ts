import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ZoneError } from '../../src/authority/zone-error.js';
import { labsStoppedAfterAll } from './authority-update-helpers.js';

/**
 * Issue 14, Deliver 7: `zone remove` retires the zone's keys (archived, never deleted), and a
 * later `zone add` of the same name starts fresh and says so, unless told `--reuse-keys`. The
 * operator who asked for a fresh RSA zone gets RSA keys at once, not an algorithm rollover from
 * the old ECDSA ones, and `zone show` says what the keys are.
 */

const startLab = labsStoppedAfterAll();

describe('keys of a removed zone', () => {
  it('are archived on remove; add again starts fresh (and says so); --reuse-keys brings the newest back', async () => {
    const l = await startLab();
    const file = join(l.dir, 'again.zone');
    writeFileSync(file, '$TTL 300\n@ SOA ns h 1 3600 900 604800 60\n@ NS ns\nns A 192.0.2.1\n');
    await l.service.add('again.example', 'again.zone');
    await l.service.sign('again.example', { mode: 'options', options: { algorithm: 13 } });
    const ecdsa = (await l.service.keys('again.example')).keys;
    expect(ecdsa.every((k) => k.algorithm === 13)).toBe(true);
    expect(existsSync(join(l.stateDir, 'dsset-again.example.'))).toBe(true);

    await l.service.remove('again.example');
    expect(existsSync(join(l.stateDir, 'keys', 'again.example'))).toBe(false);
    expect(existsSync(join(l.stateDir, 'dsset-again.example.'))).toBe(false);
    const archives = readdirSync(join(l.stateDir, 'keys-archive'));
    expect(archives).toHaveLength(1);
    expect(readdirSync(join(l.stateDir, 'keys-archive', archives[0]!))).toEqual(expect.arrayContaining(['dsset-again.example.', ...ecdsa.map((k) => `${k.keyId}.pem`)]));

    const added = await l.service.add('again.example', 'again.zone');
    expect(added.keysNote).toMatch(/archived key set of again\.example\. .*algorithm 13\) not reused.*--reuse-keys/);
    expect((await l.service.keys('again.example')).keys).toEqual([]);
    const signed = await l.service.sign('again.example', { mode: 'options', options: { algorithm: 8 } });
    expect(signed.keys.map((k) => k.algorithm)).toEqual(signed.keys.map(() => 8));
    expect(signed.keys.some((k) => ecdsa.some((e) => e.keyId === k.keyId))).toBe(false);
    expect(l.service.show('again.example').keyAlgorithms).toEqual([8]);
    expect(l.service.show('again.example').policy!.algorithm).toBe(8);

    await l.service.remove('again.example');
    const reused = await l.service.add('again.example', 'again.zone', [], { reuseKeys: true });
    expect(reused.keysNote).toMatch(/reusing the \d+ keys \(algorithm 8\)/);
    const back = (await l.service.keys('again.example')).keys.map((k) => k.keyId).sort();
    expect(back).toEqual(signed.keys.map((k) => k.keyId).sort());
    expect(readdirSync(join(l.stateDir, 'keys-archive'))).toHaveLength(1); // the ECDSA set stays archived
  });

  it('--reuse-keys with nothing archived is refused and adds nothing', async () => {
    const l = await startLab();
    writeFileSync(join(l.dir, 'none.zone'), '$TTL 300\n@ SOA ns h 1 3600 900 604800 60\n@ NS ns\nns A 192.0.2.1\n');
    const error = await l.service.add('none.example', 'none.zone', [], { reuseKeys: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ZoneError);
    expect((error as ZoneError).code).toBe('no-archived-keys');
    expect(l.service.list().map((z) => z.name)).not.toContain('none.example.');
  });
});
