/**
 * A small signed tree for the resolver benches, whose second-level servers are reached through
 * a relay that counts every query (UDP and TCP), so a bench can say how many queries a resolver
 * sent to the authoritative servers. Signed by BIND's dnssec-signzone, served by NSD.
 *
 *   PREFIX.1   NSD    .              signed, NSEC; a.root-servers. is its NS
 *   PREFIX.2   relay  (NS of the TLDs below) → PREFIX.3, counting queries per TLD
 *   PREFIX.3   NSD    bench-nsec.    signed, NSEC, names h0 … hN-1 A
 *                     bench-nsec3.   signed, NSEC3 (no salt, 0 iterations, no opt-out), the same names
 *
 * Negative TTLs (SOA minimum) are an hour, as the names' TTLs: aggressive use of NSEC/NSEC3
 * (RFC 8198) keeps a range as long as a positive answer.
 */
import dgram from 'node:dgram';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { decodeMessage } from '../src/wire/message-decoder.js';
import { type NsdServer, removeDir, signZoneWithBind, startNsd, tempDir } from '../test/support/external-servers.js';

export const TLDS = ['bench-nsec.', 'bench-nsec3.'] as const;
export type Tld = (typeof TLDS)[number];

export interface CountedSignedTree {
  readonly rootHintsFile: string;
  /** dsset-. of the root: the trust anchor. */
  readonly rootDsset: string;
  readonly rootDs: readonly string[];
  /** h0.TLD … for each TLD. */
  names(tld: Tld): string[];
  /** Queries the relay passed to the TLD servers, per TLD, since the last reset. */
  readonly counts: Record<Tld, number>;
  resetCounts(): void;
  stop(): Promise<void>;
}

function zoneText(origin: string, ns: string, records: readonly string[], minimum: number): string {
  return `$ORIGIN ${origin}\n$TTL 3600\n@ SOA ${ns} hostmaster.${origin === '.' ? '' : origin} 1 3600 600 86400 ${minimum}\n@ NS ${ns}\n${records.join('\n')}\n`;
}

export async function startCountedSignedTree(prefix: string, namesPerZone: number): Promise<CountedSignedTree> {
  const dir = tempDir('counted-tree');
  const stops: Array<() => Promise<void>> = [];
  const counts = Object.fromEntries(TLDS.map((t) => [t, 0])) as Record<Tld, number>;
  const names = (tld: Tld) => Array.from({ length: namesPerZone }, (_, i) => `h${i}.${tld}`);
  try {
    const signed = TLDS.map((tld) => {
      const records = [`ns.${tld} A ${prefix}.2`, ...names(tld).map((n, i) => `${n} A 192.0.${2 + (i >> 8)}.${i & 255}`)];
      return { tld, zone: signZoneWithBind(tld, zoneText(tld, `ns.${tld}`, records, 3600), 'ECDSAP256SHA256', { nsec3: tld === 'bench-nsec3.' }) };
    });
    const rootRecords = [`a.root-servers. A ${prefix}.1`, ...signed.flatMap(({ tld, zone }) => [`${tld} NS ns.${tld}`, `ns.${tld} A ${prefix}.2`, ...zone.dsset])];
    const root = signZoneWithBind('.', zoneText('.', 'a.root-servers.', rootRecords, 300), 'ECDSAP256SHA256');
    for (const z of [root, ...signed.map((s) => s.zone)]) stops.push(async () => removeDir(z.dir));
    const rootDsset = join(dir, 'dsset-.');
    writeFileSync(rootDsset, root.dsset.join('\n') + '\n');
    const rootHintsFile = join(dir, 'named.root');
    writeFileSync(rootHintsFile, `. 3600000 NS a.root-servers.\na.root-servers. 3600000 A ${prefix}.1\n`);

    const servers: NsdServer[] = await Promise.all([
      startNsd(`${prefix}.1`, 53, { '.': root.signedFile }),
      startNsd(`${prefix}.3`, 53, Object.fromEntries(signed.map(({ tld, zone }) => [tld, zone.signedFile]))),
    ]);
    for (const s of servers) stops.push(() => s.stop());
    const count = (bytes: Uint8Array) => {
      try {
        const name = decodeMessage(bytes).question[0]?.name.toString().toLowerCase() ?? '';
        const tld = TLDS.find((t) => name === t || name.endsWith(`.${t}`));
        if (tld) counts[tld]++;
      } catch {
        // not a DNS message: passed on uncounted
      }
    };
    stops.push(await startRelay(`${prefix}.2`, `${prefix}.3`, count));
    return {
      rootHintsFile,
      rootDsset,
      rootDs: root.dsset,
      names,
      counts,
      resetCounts: () => {
        for (const t of TLDS) counts[t] = 0;
      },
      stop: async () => {
        for (const stop of stops.reverse()) await stop().catch(() => undefined);
        removeDir(dir);
      },
    };
  } catch (error) {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    removeDir(dir);
    throw error;
  }
}

/**
 * Passes DNS over UDP (a socket per query) and TCP (a connection per connection) from `from`:53
 * to `to`:53, calling `count` with every query.
 */
async function startRelay(from: string, to: string, count: (query: Uint8Array) => void): Promise<() => Promise<void>> {
  const udp = dgram.createSocket('udp4');
  const pending = new Set<dgram.Socket>();
  udp.on('message', (msg, client) => {
    count(msg);
    const upstream = dgram.createSocket('udp4');
    pending.add(upstream);
    const close = () => {
      clearTimeout(timer);
      if (pending.delete(upstream)) upstream.close();
    };
    const timer = setTimeout(close, 5000);
    upstream.on('error', close);
    upstream.once('message', (reply) => {
      close();
      udp.send(reply, client.port, client.address, () => undefined);
    });
    upstream.send(msg, 53, to);
  });
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(53, from, () => resolve());
  });
  const sockets = new Set<net.Socket>();
  const tcp = net.createServer((client) => {
    const upstream = net.connect(53, to);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    let pending = Buffer.alloc(0);
    client.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        count(pending.subarray(2, 2 + pending.readUInt16BE(0)));
        pending = pending.subarray(2 + pending.readUInt16BE(0));
      }
    });
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(53, from, () => resolve());
  });
  return async () => {
    for (const s of sockets) s.destroy();
    for (const s of pending) s.close();
    pending.clear();
    await Promise.all([new Promise<void>((r) => udp.close(() => r())), new Promise<void>((r) => tcp.close(() => r()))]);
  };
}
