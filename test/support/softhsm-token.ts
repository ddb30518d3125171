import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

/**
 * SoftHSM2 tokens in `dir` (their own SOFTHSM2_CONF, set in this process's environment, which
 * SoftHSM2 reads when the module is initialized and which the Keymasters this process spawns
 * inherit: every process then sees the same tokens), with one user PIN in a 0600 file.
 */
export function softHsmTokens(dir: string, labels: readonly string[]): { conf: string; pinFile: string } {
  mkdirSync(join(dir, 'tokens'), { recursive: true });
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  process.env['SOFTHSM2_CONF'] = conf;
  for (const label of labels) execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', '4321', '--so-pin', '8765'], { env: process.env, stdio: 'ignore' });
  const pinFile = join(dir, 'pin');
  writeFileSync(pinFile, '4321\n');
  chmodSync(pinFile, 0o600);
  return { conf, pinFile };
}
