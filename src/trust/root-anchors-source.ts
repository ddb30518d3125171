import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { verifyRootAnchorsSignature } from './root-anchors-signature.js';
import { RootAnchorsError, parseRootAnchorsXml, type RootAnchors } from './root-anchors-xml.js';

/** The copy of IANA's root-anchors.xml shipped in `trust-anchors/`: the offline fallback. */
export const SHIPPED_ROOT_ANCHORS = fileURLToPath(new URL('../../trust-anchors/root-anchors.xml', import.meta.url));
/** ICANN's root CA (from Debian's unbound-anchor), the trust root of root-anchors.p7s. */
export const SHIPPED_ICANN_CA = fileURLToPath(new URL('../../trust-anchors/icannbundle.pem', import.meta.url));

/** How long a root-anchors.xml download may take, headers and body each. */
export const ROOT_ANCHORS_FETCH_TIMEOUT_MS = 15_000;
const MAX_BYTES = 1 << 20;

export type RootAnchorsLocation = { readonly kind: 'url'; readonly url: string } | { readonly kind: 'file'; readonly path: string };

export interface LoadedRootAnchors {
  readonly anchors: RootAnchors;
  /** The URL or file the anchors came from. */
  readonly from: string;
  /** Why the URL was not used, when the shipped copy stood in for it. */
  readonly fallbackReason?: string;
  /** The detached signature: verified (by whom), or why the file was taken without one. */
  readonly signature: { readonly verified: true; readonly from: string; readonly signer: string } | { readonly verified: false; readonly reason: string };
}

export interface RootAnchorsLoadOptions {
  readonly timeoutMs?: number;
  readonly fallbackFile?: string;
  /** The p7s (URL or file); default: beside the XML, `.xml` replaced by `.p7s`. */
  readonly signature?: string;
  /** PEM of the CA the signature must chain to; default the shipped trust-anchors/icannbundle.pem. */
  readonly caFile?: string;
  /** Milliseconds since the epoch, for certificate validity (the server's clock). */
  readonly now?: number;
}

/** Where the p7s of a root-anchors.xml is: beside it, as IANA publishes (and unbound-anchor fetches) them. */
export function signatureBeside(location: string): string {
  return /\.xml$/i.test(location) ? location.replace(/\.xml$/i, '.p7s') : `${location}.p7s`;
}

/** GETs a root-anchors.xml (http/https) with undici, bounded in time and size. */
export async function fetchRootAnchorsXml(url: string, timeoutMs = ROOT_ANCHORS_FETCH_TIMEOUT_MS): Promise<string> {
  return (await fetchBytes(url, timeoutMs)).toString('utf8');
}

/** GETs a file (http/https), bounded in time and size: the XML or its p7s. */
export async function fetchBytes(url: string, timeoutMs = ROOT_ANCHORS_FETCH_TIMEOUT_MS): Promise<Buffer> {
  const response = await request(url, { method: 'GET', headersTimeout: timeoutMs, bodyTimeout: timeoutMs, signal: AbortSignal.timeout(timeoutMs * 2) });
  if (response.statusCode !== 200) {
    await response.body.dump();
    throw new Error(`${url}: HTTP ${response.statusCode}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BYTES) {
      response.body.destroy();
      throw new Error(`${url}: more than ${MAX_BYTES} bytes; not a root-anchors.xml`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * Root anchors from a file, or from a URL with the shipped copy as the fallback when the
 * download, its signature or its parsing fails (the reason is returned so the caller can log
 * which was used). A download is used only with a `root-anchors.p7s` that verifies against
 * ICANN's CA (root-anchors-signature.ts), as unbound-anchor does. A file is verified the same way
 * when its p7s is there (or named), and refused when that fails; a file without one is taken,
 * and `signature.verified` says so. A file that does not parse is an error: the operator named it.
 */
export async function loadRootAnchors(location: RootAnchorsLocation, options: RootAnchorsLoadOptions = {}): Promise<LoadedRootAnchors> {
  if (location.kind === 'file') return loadRootAnchorsFile(location.path, options);
  try {
    const xml = await fetchBytes(location.url, options.timeoutMs);
    const signatureUrl = options.signature ?? signatureBeside(location.url);
    let p7s: Buffer;
    try {
      p7s = await fetchBytes(signatureUrl, options.timeoutMs);
    } catch (error) {
      throw new Error(`no signature for ${location.url}: ${(error as Error).message}`);
    }
    const signer = await checkSignature(xml, p7s, location.url, signatureUrl, options);
    return { anchors: parseRootAnchorsXml(xml.toString('utf8'), location.url), from: location.url, signature: { verified: true, from: signatureUrl, signer } };
  } catch (error) {
    const fallback = options.fallbackFile ?? SHIPPED_ROOT_ANCHORS;
    return { ...(await loadRootAnchorsFile(fallback, { ...options, signature: undefined })), fallbackReason: (error as Error).message };
  }
}

async function loadRootAnchorsFile(path: string, options: RootAnchorsLoadOptions): Promise<LoadedRootAnchors> {
  const xml = await readBytes(path, 'root anchors file');
  const signaturePath = options.signature ?? signatureBeside(path);
  let p7s: Buffer | undefined;
  try {
    p7s = await readFile(signaturePath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || options.signature !== undefined) throw new RootAnchorsError(`cannot read the signature ${signaturePath} of ${path}: ${(error as Error).message}`);
  }
  if (!p7s) return { anchors: parseRootAnchorsXml(xml.toString('utf8'), path), from: path, signature: { verified: false, reason: `no signature ${signaturePath} beside it` } };
  // The signature first: a changed file is reported as changed, not as whatever its parse says.
  const signer = await checkSignature(xml, p7s, path, signaturePath, options);
  return { anchors: parseRootAnchorsXml(xml.toString('utf8'), path), from: path, signature: { verified: true, from: signaturePath, signer } };
}

async function checkSignature(xml: Uint8Array, p7s: Uint8Array, xmlFrom: string, p7sFrom: string, options: RootAnchorsLoadOptions): Promise<string> {
  const caFile = options.caFile ?? SHIPPED_ICANN_CA;
  const caPem = (await readBytes(caFile, 'CA file')).toString('utf8');
  try {
    return verifyRootAnchorsSignature(xml, p7s, { caPem, now: options.now ?? Date.now() }).signer.replace(/\n/g, ', ');
  } catch (error) {
    throw new RootAnchorsError(`${xmlFrom} is refused: its signature ${p7sFrom} does not verify against ${caFile}: ${(error as Error).message}`);
  }
}

async function readBytes(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new Error(`cannot read ${what} ${path}: ${(error as Error).message}`);
  }
}

export async function readRootAnchorsFile(path: string): Promise<RootAnchors> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new RootAnchorsError(`cannot read root anchors file ${path}: ${(error as Error).message}`);
  }
  return parseRootAnchorsXml(text, path);
}
