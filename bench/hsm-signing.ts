/**
 * Signing with keys in a PKCS#11 token against keys in this process, in one run, on one zone:
 *
 *     npm run bench:hsm
 *
 * The zone (hsm.example.) has BENCH_HSM_NAMES hosts (10000) with an A record, NSEC3 (no salt, no
 * extra iterations). For each algorithm in BENCH_HSM_ALGORITHMS (13,8) it is signed on this
 * thread (token keys cannot go to the signing workers, so the file keys sign on one thread too,
 * for a fair ratio) with a KSK and a ZSK that are
 *   file   key objects from node:crypto (what PKCS#8 files give);
 *   HSM    token objects in SoftHSM2 (made by C_GenerateKeyPair, sensitive, not extractable),
 *          every signature a C_SignInit/C_Sign round trip into the module.
 * Best of BENCH_HSM_RUNS (3) runs each; the ratio is HSM time / file time. The SoftHSM2 token
 * lives in a temporary directory (SOFTHSM2_CONF) removed afterwards. Each signed zone is checked
 * by dnssec-verify when it is installed (BENCH_HSM_VERIFY=0 skips it).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openToken } from '../src/authority/pkcs11-token.js';
import type { PrivateKeyHandle } from '../src/authority/private-key-handle.js';
import { type ZoneSigningKey, signZone } from '../src/authority/zone-signer.js';
import { generateKeyPair } from '../src/crypto/key-generation.js';
import { keyTag } from '../src/crypto/key-tag.js';
import { Name } from '../src/wire/name.js';
import { encodeRdata } from '../src/wire/rdata-codec.js';
import { RRType } from '../src/wire/rr-type.js';
import { parseZoneText, zoneToText } from '../src/wire/zone-file.js';
import { haveTool, removeDir, tempDir } from '../test/support/external-servers.js';

const NAMES = Math.max(1, Number(process.env['BENCH_HSM_NAMES'] ?? 10_000));
const RUNS = Math.max(1, Number(process.env['BENCH_HSM_RUNS'] ?? 3));
const ALGORITHMS = (process.env['BENCH_HSM_ALGORITHMS'] ?? '13,8').split(',').map(Number);
const VERIFY = process.env['BENCH_HSM_VERIFY'] !== '0' && haveTool('dnssec-verify');
const MODULE = process.env['BENCH_HSM_MODULE'] ?? '/usr/lib/softhsm/libsofthsm2.so';
const ZONE = Name.parse('hsm.example.');

const dir = tempDir('bench-hsm');
try {
  mkdirSync(join(dir, 'tokens'));
  writeFileSync(join(dir, 'softhsm2.conf'), `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  process.env['SOFTHSM2_CONF'] = join(dir, 'softhsm2.conf');
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'bench', '--pin', '1234', '--so-pin', '5678'], { stdio: 'ignore' });
  writeFileSync(join(dir, 'pin'), '1234\n');
  chmodSync(join(dir, 'pin'), 0o600);
  const token = openToken({ module: MODULE, token: 'bench', pinFile: join(dir, 'pin') });

  let text = '$TTL 300\n@ SOA ns hostmaster 1 3600 900 604800 300\n@ NS ns\nns A 192.0.2.1\n';
  for (let i = 0; i < NAMES; i++) text += `h${i} A 192.0.2.${i % 250}\n`;
  const records = parseZoneText(text, { origin: ZONE }).records;
  const now = Math.floor(Date.now() / 1000);
  const window = { inception: now - 3600, expiration: now + 14 * 86400 };

  const key = (algorithm: number, role: 'ksk' | 'zsk', privateKey: PrivateKeyHandle, publicKey: Uint8Array): ZoneSigningKey => {
    const dnskeyRdata = encodeRdata(RRType.DNSKEY, { flags: role === 'ksk' ? 257 : 256, protocol: 3, algorithm, publicKey });
    return { zone: ZONE, algorithm, keyTag: keyTag(dnskeyRdata), privateKey, dnskeyRdata, role };
  };
  const best = (keys: ZoneSigningKey[], label: string): number => {
    let fastest = Infinity;
    let signed: ReturnType<typeof signZone> = [];
    for (let r = 0; r < RUNS; r++) {
      const t = performance.now();
      signed = signZone(records, { zone: ZONE, keys, windows: { dnskey: window, ds: window, other: window }, denial: { kind: 'nsec3', iterations: 0, salt: new Uint8Array(0), optOut: false }, dnskeyTtl: 300 });
      fastest = Math.min(fastest, performance.now() - t);
    }
    if (VERIFY) {
      const file = join(dir, `${label}.zone`);
      writeFileSync(file, zoneToText(signed, ZONE));
      const v = spawnSync('dnssec-verify', ['-o', ZONE.toString(), file], { encoding: 'utf8' });
      if (v.status !== 0) throw new Error(`dnssec-verify rejected the ${label} zone: ${v.stderr}`);
    }
    return fastest;
  };

  console.log(`Signing ${NAMES} names (NSEC3), one thread, best of ${RUNS}${VERIFY ? ', each output checked by dnssec-verify' : ''}`);
  console.log('algorithm  file keys   HSM keys (SoftHSM2)   ratio HSM/file');
  for (const algorithm of ALGORITHMS) {
    const bits = algorithm === 8 || algorithm === 10 ? 2048 : undefined;
    const fileKeys = (['ksk', 'zsk'] as const).map((role) => {
      const pair = generateKeyPair(algorithm, bits);
      return key(algorithm, role, pair.privateKey, pair.publicKeyField);
    });
    const hsmKeys = (['ksk', 'zsk'] as const).map((role) => {
      const pair = token.generate(algorithm, bits ?? 0, `bench ${role}`);
      return key(algorithm, role, pair.privateKey, pair.publicKeyField);
    });
    const fileMs = best(fileKeys, `file-${algorithm}`);
    const hsmMs = best(hsmKeys, `hsm-${algorithm}`);
    console.log(`${String(algorithm).padEnd(9)}  ${(fileMs / 1000).toFixed(2).padStart(7)} s   ${(hsmMs / 1000).toFixed(2).padStart(9)} s           ${(hsmMs / fileMs).toFixed(2)}`);
  }
} finally {
  removeDir(dir);
}
