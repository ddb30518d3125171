/**
 * A root-anchors.xml signing lab made with the openssl CLI, in the shape of ICANN's: a CA, an
 * intermediate carried in the p7s, a signer whose subject e-mail is dnssec@iana.org, SHA-256,
 * detached CMS. Used because the real root-anchors.p7s matching the shipped XML could not be had
 * here; `openssl cms -verify` is the oracle.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface P7sLab {
  readonly dir: string;
  /** The test CA (trusted in place of ICANN's). */
  readonly caFile: string;
  openssl(...args: string[]): Buffer;
  /** A CA, self-signed without `issuer`, else issued by it; valid 30 days. */
  makeCa(name: string, subject: string, issuer?: string): void;
  /** An end-entity certificate issued by `issuer`, valid `days`. */
  certificate(name: string, subject: string, issuer: string, days?: number): void;
  /** Signs `file` (in dir) with `signer`, carrying `chain`: the DER p7s. */
  sign(file: string, signer: string, chain: readonly string[]): Buffer;
  /** `openssl cms -verify` of these bytes against the CA. */
  opensslAccepts(content: Uint8Array, signature: Uint8Array): boolean;
}

/** The lab in `dir` with `ca` → `inter` → `signer` (dnssec@iana.org) made. */
export function p7sLab(dir: string): P7sLab {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const certificateWith = (name: string, subject: string, issuer: string, ext: string, days: number) => {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${issuer}.pem`, '-CAkey', `${issuer}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', String(days), '-extfile', `${name}.ext`);
  };
  const lab: P7sLab = {
    dir,
    caFile: join(dir, 'ca.pem'),
    openssl,
    makeCa(name, subject, issuer) {
      if (issuer) return certificateWith(name, subject, issuer, 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n', 30);
      openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-subj', subject, '-days', '30', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
    },
    certificate(name, subject, issuer, days = 10) {
      certificateWith(name, subject, issuer, 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n', days);
    },
    sign(file, signer, chain) {
      const out = `${file}.${signer}.p7s`;
      openssl('cms', '-sign', '-binary', '-md', 'sha256', '-in', file, '-signer', `${signer}.pem`, '-inkey', `${signer}.key`, ...chain.flatMap((c) => ['-certfile', `${c}.pem`]), '-outform', 'DER', '-out', out);
      return readFileSync(join(dir, out));
    },
    opensslAccepts(content, signature) {
      writeFileSync(join(dir, 'try.xml'), content);
      writeFileSync(join(dir, 'try.p7s'), signature);
      try {
        openssl('cms', '-verify', '-binary', '-inform', 'DER', '-in', 'try.p7s', '-content', 'try.xml', '-CAfile', 'ca.pem', '-purpose', 'any', '-out', '/dev/null');
        return true;
      } catch {
        return false;
      }
    },
  };
  lab.makeCa('ca', '/O=Test ICANN/OU=Test Certification Authority/CN=Test Root CA/C=US');
  lab.makeCa('inter', '/O=Test ICANN/CN=Test Intermediate', 'ca');
  lab.certificate('signer', '/O=Test ICANN/CN=Test Root Anchor Signer/emailAddress=dnssec@iana.org', 'inter');
  return lab;
}
