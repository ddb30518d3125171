import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dssetToText } from '../../src/wire/key-files.js';
import { Name } from '../../src/wire/name.js';
import { rdataToText } from '../../src/wire/rdata-text.js';
import { RRType } from '../../src/wire/rr-type.js';
import { dsOf, makeKey, type TestKey } from '../unit/trust-fixtures.js';
import { localRootZoneYaml } from '../support/local-root-zone.js';
import { removeDir, startKeymaster, tempDir, type KeymasterServer } from '../support/external-servers.js';

/**
 * trustAnchors.import as a bootstrap on a real server: a trust point the operator removed stays
 * removed across restarts while its dsset file is unchanged and comes back when the file changes;
 * `trust-point list/show` say where each anchor came from; a bad record in an import file is
 * warned about with its file and line and the server still starts. Loopback 127.10.141.0/24.
 */

const corp = Name.parse('corp.example.');
const lab = Name.parse('lab.example.');
const root = tempDir('trust-boot-restart');
const stateDir = join(root, 'state');
const corpFile = join(root, 'dsset-corp.example.');
const labFile = join(root, 'dsset-lab.example.');
const rootAnchors = resolve('trust-anchors/root-anchors.xml');
afterAll(() => removeDir(root));

const dsLine = (zone: Name, key: TestKey) => dssetToText([{ name: zone, type: RRType.DS, class: 1, ttl: 3600, rdata: dsOf(zone, key) }]);

function start(): Promise<KeymasterServer> {
  return startKeymaster({
    address: '127.10.141.2',
    control: '127.10.141.1:5380',
    rootHints: 'builtin',
    stateDir,
    importAnchors: [corpFile, labFile],
    extraYaml: localRootZoneYaml(root, '127.10.141.2'),
  });
}

async function show(server: KeymasterServer, zone: string): Promise<{ code: number; anchors: { keyTag: number; source: string; sourceKind: string; sourceLocation?: string }[] }> {
  const r = await server.cli(['trust-point', 'show', zone, '--json']);
  return { code: r.code, anchors: r.code === 0 ? (JSON.parse(r.stdout) as { anchors: never[] }).anchors : [] };
}

describe('trustAnchors.import is a bootstrap (real server, restarts)', () => {
  it('source column; bad record warned with file:line; removed stays removed until the file changes', async () => {
    const [a, b] = [makeKey(corp), makeKey(corp)];
    writeFileSync(corpFile, dsLine(corp, a));
    const labKey = makeKey(lab);
    const [tag, alg, digestType, digest] = rdataToText(RRType.DS, dsOf(lab, labKey)).split(' ');
    writeFileSync(labFile, `lab.example. 3600 IN DS ${tag} ${alg} ${digestType} ${digest!.slice(0, 40)}\n`);

    let server = await start();
    try {
      const rejected = server
        .log()
        .split('\n')
        .filter((l) => l.includes('"trust-anchor.import-rejected"'))
        .map((l) => JSON.parse(l) as { level: string; problem: string });
      expect(rejected.map((r) => r.problem)).toEqual([`${labFile}:1: the digest has 20 octets; digest type 2 (SHA-256) has 32`]);
      expect(rejected[0]!.level).toBe('warn');

      const list = await server.cli(['trust-point', 'list']);
      expect(list.code, list.stderr).toBe(0);
      expect(list.stdout.split('\n')[0]).toMatch(/^TrustPoint\s+State\s+Anchors\s.*\sSource$/);
      expect(list.stdout).toMatch(new RegExp(`^\\.\\s+DsPending\\s+2 DS\\s.*config rootAnchors ${rootAnchors.replace(/[.]/g, '\\.')}$`, 'm'));
      expect(list.stdout).toMatch(new RegExp(`^corp\\.example\\.\\s+DsPending\\s+1 DS\\s.*config import ${corpFile.replace(/[.]/g, '\\.')}$`, 'm'));
      expect(list.stdout).toMatch(/^lab\.example\.\s+Inactive\s.*\s-$/m); // no usable anchor: fails closed
      const corpShown = await show(server, 'corp.example');
      expect(corpShown.anchors.map((x) => [x.sourceKind, x.sourceLocation])).toEqual([['config-import', corpFile]]);

      const removed = await server.cli(['trust-point', 'remove', 'corp.example']);
      expect(removed.code, removed.stderr).toBe(0);
    } finally {
      await server.stop();
    }

    server = await start(); // the file is unchanged: the operator's removal holds
    try {
      expect((await show(server, 'corp.example')).code).toBe(1);
    } finally {
      await server.stop();
    }

    writeFileSync(corpFile, dsLine(corp, a) + dsLine(corp, b)); // the config entry changed
    server = await start();
    try {
      const back = await show(server, 'corp.example');
      expect(back.code).toBe(0);
      expect(back.anchors).toHaveLength(2);
      expect(new Set(back.anchors.map((x) => x.source))).toEqual(new Set([`config import ${corpFile}`]));
    } finally {
      await server.stop();
    }
  }, 120_000);
});
