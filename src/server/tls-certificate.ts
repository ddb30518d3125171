import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { TlsFilesConfig } from '../config/schema.js';
import { logEvent, type Logger } from '../logging/logger.js';

/** How often the files are looked at: certbot and the like replace them by rename, which a stat poll sees and an inotify watch on the old file does not. */
export const CERTIFICATE_POLL_MS = 2000;

/** Something serving with the certificate: a `tls.Server` or an HTTP/2 secure server. */
export interface SecureContextHolder {
  setSecureContext(options: SecureContextOptions): void;
}

/**
 * The certificate and key of `tls: { cert, key }`, shared by DoT, DoH and the console off
 * loopback. Read (and checked by building a secure context) at start, where a bad pair stops the
 * server with the file named; re-read when either file changes, where a bad pair is logged and
 * the one in use kept, so a half-written renewal never takes the service down.
 */
export class TlsCertificate {
  private current: SecureContextOptions;
  private readonly holders = new Set<SecureContextHolder>();
  private watching = false;

  constructor(
    private readonly files: TlsFilesConfig,
    private readonly logger: Logger,
    private readonly pollMs = CERTIFICATE_POLL_MS,
  ) {
    this.current = TlsCertificate.load(files);
  }

  /** The PEM pair as read last; throws naming the file when it cannot be read or does not match. */
  static load(files: TlsFilesConfig): SecureContextOptions {
    const read = (path: string, what: string) => {
      try {
        return readFileSync(path);
      } catch (error) {
        throw new Error(`tls.${what}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      }
    };
    const options = { cert: read(files.cert, 'cert'), key: read(files.key, 'key') };
    try {
      createSecureContext(options);
    } catch (error) {
      throw new Error(`tls: ${files.cert} and ${files.key} are not a usable certificate and key: ${(error as Error).message}`);
    }
    return options;
  }

  get options(): SecureContextOptions {
    return this.current;
  }

  /** Serves with the current pair from now on, and with each reloaded one. */
  attach(holder: SecureContextHolder): void {
    this.holders.add(holder);
    this.watch();
  }

  detach(holder: SecureContextHolder): void {
    this.holders.delete(holder);
    if (this.holders.size === 0) this.unwatch();
  }

  /** Reads the files again; true when the new pair is in use. */
  reload(): boolean {
    let next: SecureContextOptions;
    try {
      next = TlsCertificate.load(this.files);
    } catch (error) {
      logEvent(this.logger, 'tls.certificate-reload-failed', { cert: this.files.cert, key: this.files.key, error: (error as Error).message }, { level: 'error', msg: 'the new certificate or key is unusable; still serving the previous one' });
      return false;
    }
    this.current = next;
    for (const holder of this.holders) holder.setSecureContext(next);
    logEvent(this.logger, 'tls.certificate-reloaded', { cert: this.files.cert });
    return true;
  }

  private readonly onChange = (now: Stats, before: Stats): void => {
    if (now.mtimeMs === before.mtimeMs && now.ino === before.ino && now.size === before.size) return;
    this.reload();
  };

  private watch(): void {
    if (this.watching) return;
    this.watching = true;
    for (const path of [this.files.cert, this.files.key]) watchFile(path, { interval: this.pollMs, persistent: false }, this.onChange);
  }

  private unwatch(): void {
    if (!this.watching) return;
    this.watching = false;
    for (const path of [this.files.cert, this.files.key]) unwatchFile(path, this.onChange);
  }
}

/**
 * The Host headers a browser sends for `port` to the names and addresses the certificate is for
 * (its subjectAltName): the console off loopback answers to those and no others.
 */
export function certificateHosts(certificate: TlsCertificate, port: number): string[] {
  let names: string[];
  try {
    names = (new X509Certificate(certificate.options.cert as Buffer).subjectAltName ?? '')
      .split(/,\s*/)
      .map((entry) => /^(?:DNS|IP Address):(.+)$/.exec(entry)?.[1]?.toLowerCase())
      .filter((n): n is string => n !== undefined && !n.startsWith('*'));
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    const host = n.includes(':') ? `[${n}]` : n;
    return port === 443 ? [host, `${host}:443`] : [`${host}:${port}`];
  });
}
