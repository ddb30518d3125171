import { parseArgs } from 'node:util';
import type { Explanation } from '../control-contract/explain.js';
import { CLIENT_FLAGS_HELP } from './usage.js';
import { CLIENT_OPTIONS, connectToServer } from './client-options.js';
import { formatFields, formatTable } from './table.js';
import { UsageError } from './usage.js';
import { CONTROL_ROUTES } from '../control-contract/routes.js';

export const EXPLAIN_USAGE = `usage: keymaster explain NAME [TYPE] [--json] [--config FILE | --control ADDR:PORT --state-dir DIR]

Resolves NAME (type A by default) on the running server and shows the chain of trust as the
validator walked it: each zone cut from the trust anchor down, the DS and DNSKEY used, each
signature with its validity window, the denial proof used for a negative answer, the policy
rule that applied, and the final state (secure, insecure, bogus) with its reason.
  --json               print the explanation as JSON
${CLIENT_FLAGS_HELP}
`;

export async function runExplainCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...CLIENT_OPTIONS, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) {
    process.stdout.write(EXPLAIN_USAGE);
    return 0;
  }
  const [name, type, extra] = positionals;
  if (name === undefined) throw new UsageError('missing NAME');
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
  const client = await connectToServer(values);
  const e = await client.call(CONTROL_ROUTES.explain, { body: { name, type: type ?? 'A' } });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(e, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(`${formatExplanation(e)}\n`);
  return 0;
}

export function formatExplanation(e: Explanation): string {
  const head = formatFields([
    ['Name', `${e.name} ${e.type}`],
    ['Result', `${e.rcode}, ${e.security}`],
    ['Reason', e.reason || '-'],
    ...(e.ede.length > 0 ? e.ede.map((x) => ['EDE', `${x.code}: ${x.text}`] as const) : []),
    ['Policy', e.policy ? `${e.policy.namespace} ${e.policy.mode}${e.policy.until ? ` until ${e.policy.until}` : ''}` : '-'],
  ]);
  const rows = e.trace.flatMap((step, i) => [
    { n: String(i + 1), zone: step.zone, kind: step.kind, subject: step.subject, state: step.state, detail: step.detail },
    ...(step.signatures ?? []).map((s) => ({
      n: '',
      zone: '',
      kind: '  rrsig',
      subject: `key ${s.keyTag} alg ${s.algorithm}`,
      state: s.result,
      detail: `${s.signer} ${s.inception} .. ${s.expiration}`,
    })),
  ]);
  const table = rows.length === 0 ? '(no validation steps: validation off, CD, a negative trust anchor, or a failed resolution)' : formatTable([
    { header: '#', value: (r) => r.n, align: 'right' },
    { header: 'Zone', value: (r) => r.zone },
    { header: 'Step', value: (r) => r.kind },
    { header: 'Subject', value: (r) => r.subject },
    { header: 'State', value: (r) => r.state },
    { header: 'Detail', value: (r) => r.detail },
  ], rows);
  const answer = e.answer.length > 0 ? `\n\nAnswer:\n${e.answer.map((a) => `  ${a}`).join('\n')}` : '';
  return `${head}\n\n${table}${answer}`;
}
