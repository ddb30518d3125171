import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHIPPED_ROOT_ANCHORS, loadRootAnchors, signatureBeside } from '../../src/trust/root-anchors-source.js';
import { haveTool, removeDir, tempDir } from '../support/external-servers.js';
import { type P7sLab, p7sLab } from '../support/p7s-lab.js';

// Loopback address of this file: 127.10.162.1 (an HTTP server playing data.iana.org).
const HTTP_HOST = '127.10.162.1';

describe('root-anchors.xml is used only with a signature that verifies', () => {
  let lab: P7sLab;
  let dir: string;
  let xml: Buffer;
  let good: Buffer;
  let server: Server;
  let base: string;
  const files = new Map<string, Buffer>();
  const NOW = Date.now() + 3_600_000;

  beforeAll(async () => {
    if (!haveTool('openssl')) return;
    dir = tempDir('root-anchors-source');
    copyFileSync(SHIPPED_ROOT_ANCHORS, join(dir, 'root-anchors.xml'));
    xml = readFileSync(join(dir, 'root-anchors.xml'));
    lab = p7sLab(dir);
    good = lab.sign('root-anchors.xml', 'signer', ['inter']);
    server = createServer((req, res) => {
      const body = files.get(req.url ?? '');
      res.writeHead(body ? 200 : 404).end(body);
    });
    await new Promise<void>((r) => server.listen(0, HTTP_HOST, r));
    base = `http://${HTTP_HOST}:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server?.close(r));
    if (dir) removeDir(dir);
  });

  const bent = (b: Buffer, at: number) => {
    const c = Buffer.from(b);
    c[at] = c[at]! ^ 0x01;
    return c;
  };

  it('the p7s is looked for beside the XML, as IANA publishes them', () => {
    expect(signatureBeside('https://data.iana.org/root-anchors/root-anchors.xml')).toBe('https://data.iana.org/root-anchors/root-anchors.p7s');
    expect(signatureBeside('/etc/keymaster/anchors')).toBe('/etc/keymaster/anchors.p7s');
  });

  it('a file with its p7s beside it is verified; with either one byte changed it is refused, naming both files', async () => {
    if (!dir) return;
    const file = join(dir, 'signed.xml');
    writeFileSync(file, xml);
    writeFileSync(join(dir, 'signed.p7s'), good);
    const ok = await loadRootAnchors({ kind: 'file', path: file }, { caFile: lab.caFile, now: NOW });
    expect(ok.signature).toMatchObject({ verified: true, from: join(dir, 'signed.p7s') });
    expect(ok.anchors.keyDigests.map((k) => k.keyTag)).toContain(38696);

    writeFileSync(file, bent(xml, 200));
    await expect(loadRootAnchors({ kind: 'file', path: file }, { caFile: lab.caFile, now: NOW })).rejects.toThrow(`${file} is refused: its signature ${join(dir, 'signed.p7s')} does not verify`);
    writeFileSync(file, xml);
    writeFileSync(join(dir, 'signed.p7s'), bent(good, good.length - 10));
    await expect(loadRootAnchors({ kind: 'file', path: file }, { caFile: lab.caFile, now: NOW })).rejects.toThrow(/is refused: its signature/);
  });

  it('a file without a p7s is taken, and says it was not verified; a named p7s that is missing is an error', async () => {
    if (!dir) return;
    const file = join(dir, 'unsigned.xml');
    writeFileSync(file, xml);
    const loaded = await loadRootAnchors({ kind: 'file', path: file }, { caFile: lab.caFile, now: NOW });
    expect(loaded.signature).toEqual({ verified: false, reason: `no signature ${join(dir, 'unsigned.p7s')} beside it` });
    await expect(loadRootAnchors({ kind: 'file', path: file }, { caFile: lab.caFile, now: NOW, signature: join(dir, 'nope.p7s') })).rejects.toThrow(/cannot read the signature/);
  });

  it('a download is used only when its p7s verifies; otherwise the bootstrap falls back and says why, naming the URL', async () => {
    if (!dir) return;
    const fallbackFile = join(dir, 'fallback.xml');
    writeFileSync(fallbackFile, xml);
    files.set('/root-anchors/root-anchors.xml', xml);
    files.set('/root-anchors/root-anchors.p7s', good);
    const url = `${base}/root-anchors/root-anchors.xml`;
    const ok = await loadRootAnchors({ kind: 'url', url }, { caFile: lab.caFile, now: NOW, fallbackFile });
    expect(ok.from).toBe(url);
    expect(ok.signature).toMatchObject({ verified: true, from: `${base}/root-anchors/root-anchors.p7s` });
    expect(ok.fallbackReason).toBeUndefined();

    for (const [what, xmlBody, p7sBody] of [['xml', bent(xml, 300), good], ['p7s', xml, bent(good, good.length - 10)]] as const) {
      files.set('/root-anchors/root-anchors.xml', xmlBody);
      files.set('/root-anchors/root-anchors.p7s', p7sBody);
      const fell = await loadRootAnchors({ kind: 'url', url }, { caFile: lab.caFile, now: NOW, fallbackFile });
      expect(fell.from, what).toBe(fallbackFile);
      expect(fell.fallbackReason, what).toContain(`${url} is refused`);
    }
    files.set('/root-anchors/root-anchors.xml', xml);
    files.delete('/root-anchors/root-anchors.p7s');
    const unsigned = await loadRootAnchors({ kind: 'url', url }, { caFile: lab.caFile, now: NOW, fallbackFile });
    expect(unsigned.from).toBe(fallbackFile);
    expect(unsigned.fallbackReason).toMatch(/no signature for .*HTTP 404/);
  });
});
