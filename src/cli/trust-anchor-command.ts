import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { AnchorsChangedReply } from '../control-contract/trust.js';
import { CLIENT_OPTIONS, connectToServer } from './client-options.js';
import { formatAnchors } from './trust-point-command.js';
import { CLIENT_FLAGS_HELP, UsageError } from './usage.js';
import { CONTROL_ROUTES } from '../control-contract/routes.js';

export const TRUST_ANCHOR_USAGE = `usage: keymaster trust-anchor list [ZONE] | add ZONE (--ds RDATA | --dnskey RDATA)
                              | import (--keyset FILE | --dsset FILE) | remove ZONE KEYTAG
                              [--json] [--config FILE | --control ADDR:PORT --state-dir DIR]

Trust anchors are the DS and DNSKEY records the validator starts from, each with its RFC 5011 state.
  list [ZONE]              every anchor (of ZONE): type, key tag, algorithm, state, when it entered
                           that state and when it moves next
  add ZONE --ds RDATA      e.g. --ds "20326 8 2 E06D44B8..." (trusted at once)
  add ZONE --dnskey RDATA  e.g. --dnskey "257 3 13 mdsswUyr..."
  import --keyset FILE     a keyset- file (DNSKEYs) as a Key Master writes it (keyset-ZONE[.])
  import --dsset FILE      a dsset- file (DS records) (dsset-ZONE[.])
  remove ZONE KEYTAG       remove the zone's anchors with that key tag (a revoked key: either tag)
  --json                   machine-readable output
${CLIENT_FLAGS_HELP}
`;


export async function runTrustAnchorCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...CLIENT_OPTIONS,
      ds: { type: 'string' },
      dnskey: { type: 'string' },
      keyset: { type: 'string' },
      dsset: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(TRUST_ANCHOR_USAGE);
    return 0;
  }
  const [action, ...args] = positionals;
  const out = (json: unknown, human: string) => process.stdout.write(values.json ? `${JSON.stringify(json, null, 2)}\n` : human);
  const changed = (r: AnchorsChangedReply) => `${r.added > 0 ? `Added ${r.added} anchor(s) to ${r.zone}` : `Nothing added to ${r.zone}`}${r.skipped ? ` (${r.skipped} already present)` : ''}\n\n${formatAnchors(r.trustPoint.anchors, false)}`;
  const only = (allowed: readonly string[]) => {
    for (const flag of ['ds', 'dnskey', 'keyset', 'dsset'] as const)
      if (values[flag] !== undefined && !allowed.includes(flag)) throw new UsageError(`--${flag} does not go with ${action}`);
  };
  switch (action) {
    case 'list': {
      only([]);
      if (args.length > 1) throw new UsageError(`unexpected argument "${args[1]}"`);
      const client = await connectToServer(values);
      const r = await client.call(CONTROL_ROUTES.trustAnchorList, { query: { zone: args[0] } });
      out(r, formatAnchors(r.anchors, true));
      return 0;
    }
    case 'add': {
      only(['ds', 'dnskey']);
      if (args.length !== 1) throw new UsageError(args.length === 0 ? 'missing ZONE' : `unexpected argument "${args[1]}"`);
      if ((values.ds === undefined) === (values.dnskey === undefined)) throw new UsageError('give exactly one of --ds RDATA or --dnskey RDATA');
      const client = await connectToServer(values);
      const r = await client.call(CONTROL_ROUTES.trustAnchorAdd, { body: { zone: args[0]!, ...(values.ds !== undefined ? { ds: values.ds } : { dnskey: values.dnskey! }) } });
      out(r, changed(r));
      return 0;
    }
    case 'import': {
      only(['keyset', 'dsset']);
      if (args.length > 0) throw new UsageError(`unexpected argument "${args[0]}"`);
      if ((values.keyset === undefined) === (values.dsset === undefined)) throw new UsageError('give exactly one of --keyset FILE or --dsset FILE');
      const kind = values.keyset !== undefined ? 'keyset' : 'dsset';
      const path = (values.keyset ?? values.dsset)!;
      let text: string;
      try {
        text = await readFile(path, 'latin1');
      } catch (error) {
        throw new Error(`cannot read ${path}: ${(error as Error).message}`);
      }
      const client = await connectToServer(values);
      const r = await client.call(CONTROL_ROUTES.trustAnchorImport, { body: { kind, fileName: resolve(path), text } });
      out(r, changed(r));
      return 0;
    }
    case 'remove': {
      only([]);
      if (args.length !== 2) throw new UsageError(args.length < 2 ? 'usage: remove ZONE KEYTAG' : `unexpected argument "${args[2]}"`);
      if (!/^[0-9]{1,5}$/.test(args[1]!) || Number(args[1]) > 65535) throw new UsageError(`"${args[1]}" is not a key tag (0..65535)`);
      const client = await connectToServer(values);
      const r = await client.call(CONTROL_ROUTES.trustAnchorRemove, { query: { zone: args[0]!, keyTag: args[1]! } });
      out(r, `Removed ${r.removed} anchor(s) with key tag ${r.keyTag} from ${r.zone}${r.trustPointRemoved ? '; it was the last, so the trust point is gone' : ''}\n`);
      return 0;
    }
    default:
      throw new UsageError(action === undefined ? 'missing action: list, add, import or remove' : `unknown action "${action}"`);
  }
}
