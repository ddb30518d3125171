import { parseArgs } from 'node:util';
import { CLIENT_OPTIONS, connectToServer } from './client-options.js';
import { UsageError } from './usage.js';
import { CONTROL_ROUTES } from '../control-contract/routes.js';

export const CACHE_USAGE = `usage: keymaster cache flush [NAME] [--config FILE | --control ADDR:PORT --state-dir DIR] [--json]

Removes NAME and everything below it from the cache (RRsets, negative answers and encoded
answers), or the whole cache without NAME.
`;

export async function runCacheCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...CLIENT_OPTIONS, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) {
    process.stdout.write(CACHE_USAGE);
    return 0;
  }
  const [action, name, extra] = positionals;
  if (action !== 'flush') throw new UsageError(action === undefined ? 'missing action: flush' : `unknown action "${action}"`);
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
  const client = await connectToServer(values);
  const result = await client.call(CONTROL_ROUTES.cacheFlush, { body: name === undefined ? {} : { name } });
  process.stdout.write(values.json ? `${JSON.stringify(result)}\n` : `Flushed ${result.flushed} entries ${result.name ? `at and below ${result.name}` : '(whole cache)'}\n`);
  return 0;
}
