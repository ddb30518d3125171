import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { parseRootAnchorsXml, type RootAnchors } from './root-anchors-xml.js';

/** The copy of IANA's root-anchors.xml shipped in `trust-anchors/`: the offline fallback. */
export const SHIPPED_ROOT_ANCHORS = fileURLToPath(new URL('../../trust-anchors/root-anchors.xml', import.meta.url));

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
}

/** GETs a root-anchors.xml (http/https) with undici, bounded in time and size. */
export async function fetchRootAnchorsXml(url: string, timeoutMs = ROOT_ANCHORS_FETCH_TIMEOUT_MS): Promise<string> {
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
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Root anchors from a file, or from a URL with the shipped copy as the fallback when the
 * download or its parsing fails (the reason is returned so the caller can log which was used).
 * A file that does not parse is an error: the operator named it.
 */
export async function loadRootAnchors(
  location: RootAnchorsLocation,
  options: { timeoutMs?: number; fallbackFile?: string } = {},
): Promise<LoadedRootAnchors> {
  if (location.kind === 'file') return { anchors: await readRootAnchorsFile(location.path), from: location.path };
  try {
    const text = await fetchRootAnchorsXml(location.url, options.timeoutMs);
    return { anchors: parseRootAnchorsXml(text, location.url), from: location.url };
  } catch (error) {
    const fallback = options.fallbackFile ?? SHIPPED_ROOT_ANCHORS;
    return { anchors: await readRootAnchorsFile(fallback), from: fallback, fallbackReason: (error as Error).message };
  }
}

export async function readRootAnchorsFile(path: string): Promise<RootAnchors> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read root anchors file ${path}: ${(error as Error).message}`);
  }
  return parseRootAnchorsXml(text, path);
}
