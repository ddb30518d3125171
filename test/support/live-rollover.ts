/**
 * Shared pieces of the live rollover tests on loopback: the lab timers that make a rollover take
 * seconds, a watch that asks validating resolvers for names every few hundred milliseconds for
 * the whole test, and `zone keys` read through the CLI.
 */
import type { ZoneKeyView } from '../../src/authority/zone-key-view.js';
import { rcodeToString } from '../../src/wire/message.js';
import { RRType } from '../../src/wire/rr-type.js';
import type { KeymasterServer } from './external-servers.js';
import { askDnssec } from './signed-hierarchy.js';

/** dnssec.rollover settings (YAML, indented under `dnssec:`) with lab timers: each stage lasts a second or a few. */
export const LAB_ROLLOVER_TIMERS =
  '  rollover: { minimumWait: 1s, propagationDelay: 0s, parentPropagationDelay: 1s, dsPollingPeriod: 2s, addHoldDown: 10s, removeHoldDown: 10s, minRefresh: 1s }\n';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One answer seen by the watch: `ok` means NOERROR, AD set and an A record in the answer. */
export interface WatchOutcome {
  readonly at: number;
  /** Which resolver answered (the label given to `watchValidation`). */
  readonly via: string;
  readonly ok: boolean;
  /** The name asked, then the rcode and AD bit, or the error. */
  readonly what: string;
}

export interface ValidationWatch {
  /** Every answer so far, in the order asked. */
  readonly outcomes: WatchOutcome[];
  failures(): WatchOutcome[];
  /** Ends the loop once the round under way is done. */
  stop(): Promise<void>;
}

/** Asks each resolver (label, address; port 53) for the A record of each name, then waits `intervalMs`, until stopped. */
export function watchValidation(resolvers: readonly (readonly [via: string, host: string])[], names: readonly string[], intervalMs = 300): ValidationWatch {
  const outcomes: WatchOutcome[] = [];
  let querying = true;
  const loop = (async () => {
    while (querying) {
      for (const [via, host] of resolvers) {
        for (const name of names) {
          try {
            const r = await askDnssec({ host, port: 53 }, name, 'A', { timeoutMs: 3000 });
            outcomes.push({ at: Date.now(), via, ok: r.rcode === 0 && r.ad && r.answer.some((x) => x.type === RRType.A), what: `${name} ${rcodeToString(r.rcode)} ad=${r.ad}` });
          } catch (error) {
            outcomes.push({ at: Date.now(), via, ok: false, what: `${name} ${(error as Error).message}` });
          }
        }
      }
      await sleep(intervalMs);
    }
  })();
  return {
    outcomes,
    failures: () => outcomes.filter((o) => !o.ok),
    stop: async () => {
      querying = false;
      await loop;
    },
  };
}

/** `zone keys ZONE --json` on `server`; a failed command throws with its stderr. */
export async function zoneKeys(server: KeymasterServer, zone: string): Promise<ZoneKeyView[]> {
  const r = await server.cli(['zone', 'keys', zone, '--json']);
  if (r.code !== 0) throw new Error(`zone keys ${zone} exited ${r.code}: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { keys: ZoneKeyView[] }).keys;
}
