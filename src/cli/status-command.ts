import { parseArgs } from 'node:util';
import { formatDuration } from '../config/duration.js';
import type { ServerStatus } from '../server/status-route.js';
import { CLIENT_OPTIONS, connectToServer } from './client-options.js';
import { formatFields, formatTable } from './table.js';
import { STATUS_USAGE, UsageError } from './usage.js';

/** The human form of `GET /v1/status`: a field list, then the listeners as a table. */
export function formatStatus(status: ServerStatus): string {
  const fields = formatFields([
    ['Version', status.version],
    ['PID', String(status.pid)],
    ['Started', status.startedAt],
    ['Uptime', formatDuration(status.uptimeSeconds)],
    ['Config file', status.configFile ?? '(built-in defaults)'],
    ['State dir', status.stateDir],
  ]);
  const listeners = formatTable(
    [
      { header: 'Purpose', value: (l: ServerStatus['listeners'][number]) => l.purpose },
      { header: 'Protocol', value: (l) => l.protocol },
      { header: 'Address', value: (l) => l.address },
    ],
    status.listeners,
  );
  return `${fields}\n\n${listeners}\n`;
}

export async function runStatusCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...CLIENT_OPTIONS, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) {
    process.stdout.write(STATUS_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const client = await connectToServer(values);
  const status = await client.get<ServerStatus>('/v1/status');
  process.stdout.write(values.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
  return 0;
}
