import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../clock.js';
import { logEvent, type Logger } from '../logging/logger.js';
import { writeFileAtomic } from '../storage/atomic-file.js';
import type { CookieSecrets } from './server-cookies.js';

/** The file in stateDir: one secret for every worker and every restart, so cookies stay valid across both. */
export const COOKIE_SECRET_FILE = 'cookie-secret.json';
const SECRET_LENGTH = 16;

interface SecretFile {
  readonly version: 1;
  readonly current: string;
  readonly previous?: string;
  /** ISO 8601: when `current` was made; the next rotation is due `rotation` after it. */
  readonly rotatedAt: string;
}

/**
 * The server-cookie secret (RFC 9018 §4.3), kept in `stateDir/cookie-secret.json` (0600, written
 * atomically). Rotation moves the current secret to `previous`, which is still accepted: a
 * cookie made just before the rotation stays valid for its hour. Every process reads the file
 * before rotating, so a rotation made by another worker is taken, not repeated.
 */
export class CookieSecretStore implements CookieSecrets {
  private state: { current: Uint8Array; previous?: Uint8Array; rotatedAt: number };

  private constructor(
    private readonly path: string,
    private readonly rotationMs: number,
    private readonly clock: Clock,
    private readonly logger: Logger,
    state: CookieSecretStore['state'],
  ) {
    this.state = state;
  }

  /** Reads the secret, or makes and writes one; a damaged file is replaced (cookies only need to be new). */
  static async open(stateDir: string, rotationSeconds: number, clock: Clock, logger: Logger): Promise<CookieSecretStore> {
    const path = join(stateDir, COOKIE_SECRET_FILE);
    const read = await readSecretFile(path, logger);
    const store = new CookieSecretStore(path, rotationSeconds * 1000, clock, logger, read ?? { current: randomBytes(SECRET_LENGTH), rotatedAt: clock.now() });
    if (!read) await store.write();
    await store.rotateIfDue();
    return store;
  }

  current(): Uint8Array {
    return this.state.current;
  }

  previous(): Uint8Array | undefined {
    return this.state.previous;
  }

  /** When the next rotation is due (ms since the epoch). */
  get nextRotation(): number {
    return this.state.rotatedAt + this.rotationMs;
  }

  /** Takes a newer secret from the file if another process rotated; rotates when due. */
  async rotateIfDue(): Promise<boolean> {
    const onDisk = await readSecretFile(this.path, this.logger);
    if (onDisk && onDisk.rotatedAt > this.state.rotatedAt) this.state = onDisk;
    if (this.clock.now() < this.nextRotation) return false;
    this.state = { current: randomBytes(SECRET_LENGTH), previous: this.state.current, rotatedAt: this.clock.now() };
    await this.write();
    logEvent(this.logger, 'cookies.secret-rotated', { file: this.path, next: new Date(this.nextRotation).toISOString() });
    return true;
  }

  private async write(): Promise<void> {
    const file: SecretFile = {
      version: 1,
      current: Buffer.from(this.state.current).toString('hex'),
      ...(this.state.previous ? { previous: Buffer.from(this.state.previous).toString('hex') } : {}),
      rotatedAt: new Date(this.state.rotatedAt).toISOString(),
    };
    await writeFileAtomic(this.path, `${JSON.stringify(file, null, 2)}\n`, 0o600);
  }
}

async function readSecretFile(path: string, logger: Logger): Promise<CookieSecretStore['state'] | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read the cookie secret ${path}: ${(error as Error).message}`);
  }
  const bad = (why: string) => {
    logEvent(logger, 'cookies.secret-replaced', { file: path, reason: why }, { level: 'warn' });
    return undefined;
  };
  let parsed: Partial<SecretFile>;
  try {
    parsed = JSON.parse(text) as Partial<SecretFile>;
  } catch (error) {
    return bad(`not JSON: ${(error as Error).message}`);
  }
  const secret = (hex: unknown) => (typeof hex === 'string' && /^[0-9a-f]{32}$/i.test(hex) ? new Uint8Array(Buffer.from(hex, 'hex')) : undefined);
  const current = secret(parsed.current);
  const rotatedAt = typeof parsed.rotatedAt === 'string' ? Date.parse(parsed.rotatedAt) : NaN;
  if (parsed.version !== 1 || !current || Number.isNaN(rotatedAt)) return bad('version, current or rotatedAt missing or malformed');
  const previous = secret(parsed.previous);
  return { current, rotatedAt, ...(previous ? { previous } : {}) };
}
