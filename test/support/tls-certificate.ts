import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A self-signed EC certificate for `ip` (as IP SAN and CN `cn`), written as cert.pem/key.pem under `dir` with `prefix`. */
export function makeCertificate(dir: string, ip: string, cn: string, prefix = '', dnsNames: readonly string[] = []): { cert: string; key: string } {
  const cert = join(dir, `${prefix}cert.pem`);
  const key = join(dir, `${prefix}key.pem`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${cn}`, '-addext', `subjectAltName=${[`IP:${ip}`, ...dnsNames.map((n) => `DNS:${n}`)].join(',')}`,
  ], { stdio: 'ignore' });
  return { cert, key };
}

/** Writes `text` to `path` in one rename, as certbot does. */
export function replaceFile(path: string, text: string | Buffer): void {
  writeFileSync(`${path}.new`, text);
  execFileSync('mv', ['-f', `${path}.new`, path]);
}
