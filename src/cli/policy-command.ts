import { parseArgs } from 'node:util';
import { parsePolicyNamespace, PolicyRuleError, type PolicyMode } from '../policy/policy-table.js';
import { POLICY_MODE_BY_FLAG, policyModeFlag } from '../policy/policy-mode.js';
import { parsePolicyForwarder, parsePolicyUntil } from '../policy/policy-request.js';
import type { PolicyAddRequest, PolicyListBody, PolicyRuleView } from '../control-contract/policy.js';
import { CLIENT_OPTIONS, connectToServer } from './client-options.js';
import { formatFields, formatTable } from './table.js';
import { POLICY_USAGE, UsageError } from './usage.js';
import { CONTROL_ROUTES } from '../control-contract/routes.js';

const MODE_FLAGS = POLICY_MODE_BY_FLAG;

/** The mode as the flag that sets it; `-` for a forwarders-only rule. */
export const modeLabel = policyModeFlag;

/** ISO 8601 to the second (`2026-12-31T00:00:00Z`), or `-`. */
function timeLabel(iso: string | null): string {
  return iso === null ? '-' : iso.replace(/\.\d+Z$/, 'Z');
}

function sourceLabel(rule: PolicyRuleView): string {
  return rule.overridesConfig ? 'store (overrides config)' : rule.source;
}

/** The human form of `GET /v1/policy`: one aligned row per rule. */
export function formatPolicyList(list: PolicyListBody): string {
  const note = list.validation ? '' : '\nDNSSEC validation is off server-wide (dnssec.validation: false): the validation modes above do not apply until it is on.\n';
  if (list.rules.length === 0) return `No policy rules: every name is validated normally and resolved with the server's own forwarders or from the root.\n${note}`;
  const table = formatTable<PolicyRuleView>(
    [
      { header: 'Namespace', value: (r) => r.namespace },
      { header: 'Mode', value: (r) => modeLabel(r.mode) },
      { header: 'Until', value: (r) => timeLabel(r.until) },
      { header: 'Forwarders', value: (r) => (r.forwarders.length === 0 ? '-' : r.forwarders.join(',')) },
      { header: 'Source', value: sourceLabel },
    ],
    list.rules,
  );
  return `${table}\n${note}`;
}

function formatRule(rule: PolicyRuleView): string {
  return formatFields([
    ['Namespace', rule.namespace],
    ['Mode', modeLabel(rule.mode)],
    ['Until', timeLabel(rule.until)],
    ['Forwarders', rule.forwarders.length === 0 ? '-' : rule.forwarders.join(',')],
    ['Source', sourceLabel(rule)],
  ]);
}

/** Runs a parser and turns its PolicyRuleError into a usage error (exit 2). */
function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof PolicyRuleError) throw new UsageError(`${error.field === 'namespace' ? '' : `--${error.field}: `}${error.message}`);
    throw error;
  }
}

export async function runPolicyCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...CLIENT_OPTIONS,
      'require-validation': { type: 'boolean', default: false },
      'log-only': { type: 'boolean', default: false },
      'no-validation': { type: 'boolean', default: false },
      until: { type: 'string' },
      forwarders: { type: 'string', multiple: true },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(POLICY_USAGE);
    return 0;
  }
  const [action, namespaceText, extra] = positionals;
  const modes = (Object.keys(MODE_FLAGS) as (keyof typeof MODE_FLAGS)[]).filter((flag) => values[flag]);
  const ruleFlags = [...modes.map((m) => `--${m}`), ...(values.until === undefined ? [] : ['--until']), ...(values.forwarders ? ['--forwarders'] : [])];
  if (action === undefined) throw new UsageError('missing action: list, add or remove');
  if (!['list', 'add', 'remove'].includes(action)) throw new UsageError(`unknown action "${action}" (expected list, add or remove)`);
  if (action !== 'add' && ruleFlags.length > 0) throw new UsageError(`${ruleFlags[0]} applies only to "policy add"`);
  if (action === 'list') {
    if (namespaceText !== undefined) throw new UsageError(`unexpected argument "${namespaceText}"`);
  } else {
    if (namespaceText === undefined) throw new UsageError(`missing NAMESPACE (e.g. ".corp.example", "corp.example" or ".")`);
    if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
  }
  const namespace = namespaceText === undefined ? undefined : usage(() => parsePolicyNamespace(namespaceText)).text;

  let body: PolicyAddRequest | undefined;
  if (action === 'add') {
    if (modes.length > 1) throw new UsageError(`--${modes[0]} and --${modes[1]} cannot be combined: a rule has one validation mode`);
    const mode: PolicyMode = modes[0] === undefined ? 'default' : MODE_FLAGS[modes[0]];
    if (values.until !== undefined) {
      if (mode !== 'no-validation') throw new UsageError('--until applies only with --no-validation (a negative trust anchor ends at that time)');
      const now = Date.now();
      const until = usage(() => parsePolicyUntil(values.until!, now));
      if (until.getTime() <= now) throw new UsageError(`--until: ${until.toISOString()} is in the past`);
    }
    const forwarders = (values.forwarders ?? []).flatMap((list) => list.split(',')).map((f) => f.trim());
    if (forwarders.some((f) => f === '')) throw new UsageError('--forwarders: an empty address in the list (ADDR[:PORT],...)');
    for (const f of forwarders) usage(() => parsePolicyForwarder(f));
    if (mode === 'default' && forwarders.length === 0)
      throw new UsageError('a rule needs a mode (--require-validation, --log-only or --no-validation) or --forwarders');
    body = { namespace: namespace!, mode, ...(values.until === undefined ? {} : { until: values.until }), ...(forwarders.length === 0 ? {} : { forwarders }) };
  }

  const client = await connectToServer(values);
  const print = (text: string) => process.stdout.write(text);
  if (action === 'list') {
    const list = await client.call(CONTROL_ROUTES.policyList);
    print(values.json ? `${JSON.stringify(list, null, 2)}\n` : formatPolicyList(list));
  } else if (action === 'add') {
    const added = await client.call(CONTROL_ROUTES.policyAdd, { body });
    if (values.json) print(`${JSON.stringify(added, null, 2)}\n`);
    else {
      const head = added.replaced ? `Replaced the policy rule for ${added.rule.namespace} (was ${modeLabel(added.replaced.mode)})` : `Added a policy rule for ${added.rule.namespace}`;
      const tail = added.overridesConfig ? `It overrides the config file's rule for ${added.rule.namespace} until removed.\n` : '';
      print(`${head}; in effect now and kept across restarts.\n${formatRule(added.rule)}\n${tail}`);
    }
  } else {
    // "." cannot be a path segment (URL normalisation removes it), so it goes in the query.
    const removed = namespace === '.' ? await client.call(CONTROL_ROUTES.policyRemoveByQuery, { query: { namespace } }) : await client.call(CONTROL_ROUTES.policyRemove, { params: { namespace: namespace! } });
    if (values.json) print(`${JSON.stringify(removed, null, 2)}\n`);
    else {
      const restored = removed.restored ? `The config file's rule for ${removed.restored.namespace} applies again: ${modeLabel(removed.restored.mode)}.\n` : '';
      print(`Removed the policy rule for ${removed.removed.namespace} (${modeLabel(removed.removed.mode)}).\n${restored}`);
    }
  }
  return 0;
}
