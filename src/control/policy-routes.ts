/**
 * Control API routes of the policy table (`keymaster policy`):
 *
 *   GET    /v1/policy                      → 200 { validation, storeFile, rules: [PolicyRuleView] }
 *   POST   /v1/policy                      { namespace, mode?, until?, forwarders? }
 *                                          → 201 { rule, replaced, overridesConfig }
 *   DELETE /v1/policy/:namespace           → 200 { removed, restored }
 *   DELETE /v1/policy?namespace=NAMESPACE  the same; needed for "." (a "." or "%2E" path segment
 *                                          is removed by URL normalisation)
 *
 * `mode` is require | log-only | no-validation | default (absent: default, which needs
 * forwarders). `until` (no-validation only) is an RFC 3339 time with its offset
 * (`2026-12-31T00:00:00Z`) or a duration from now on the server's clock (`1h`, `7d`).
 * Bad bodies are 400 with a message naming the field; removing a config rule is 409.
 */
import { formatServerAddress, POLICY_MODES, PolicyRuleError, type PolicyMode, type PolicyRuleEntry } from '../policy/policy-table.js';
import type { PolicyAddBody, PolicyListBody, PolicyRemoveBody, PolicyRuleView } from '../control-contract/policy.js';
import { parsePolicyForwarder, parsePolicyUntil } from '../policy/policy-request.js';
import type { ControlApi } from './control-api.js';
import { ControlError, ControlResponse, type ControlRequest } from './control-router.js';
import { PolicyChangeError, type PolicyService } from '../policy/policy-service.js';
import { CONTROL_ROUTES } from '../control-contract/routes.js';

export function policyRuleView(rule: PolicyRuleEntry, overridesConfig = false): PolicyRuleView {
  return {
    namespace: rule.namespace,
    mode: rule.mode,
    until: rule.until?.toISOString() ?? null,
    forwarders: rule.forwarders.map(formatServerAddress),
    source: rule.source,
    overridesConfig,
    addedAt: rule.addedAt?.toISOString() ?? null,
  };
}

const BODY_KEYS = new Set(['namespace', 'mode', 'until', 'forwarders']);

function badRule(message: string): ControlError {
  return new ControlError(400, 'bad-rule', message);
}

/** Turns service errors into the control API's: 400 bad input, 404 no such rule, 409 config rule. */
function asControlError(error: unknown): unknown {
  if (error instanceof PolicyRuleError) return badRule(`${error.field}: ${error.message}`);
  if (error instanceof PolicyChangeError)
    return error.kind === 'not-found' ? new ControlError(404, 'no-such-rule', error.message) : new ControlError(409, 'config-rule', error.message);
  return error;
}

async function addRule(policy: PolicyService, request: ControlRequest, now: () => number): Promise<ControlResponse<PolicyAddBody>> {
  const body = request.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw badRule('the body must be a JSON object: { "namespace": ".corp.example", "mode": "require", "until"?: "7d", "forwarders"?: ["10.0.0.53"] }');
  const fields = body as Record<string, unknown>;
  for (const key of Object.keys(fields)) if (!BODY_KEYS.has(key)) throw badRule(`${key}: unknown field (expected namespace, mode, until, forwarders)`);
  if (typeof fields['namespace'] !== 'string') throw badRule('namespace: missing or not a string');
  const mode = fields['mode'] ?? 'default';
  if (typeof mode !== 'string' || !POLICY_MODES.includes(mode as PolicyMode))
    throw badRule(`mode: ${JSON.stringify(mode)} is not one of ${POLICY_MODES.join(', ')}`);
  const forwardersValue = fields['forwarders'] ?? [];
  if (!Array.isArray(forwardersValue) || forwardersValue.some((f) => typeof f !== 'string'))
    throw badRule('forwarders: must be a list of "ADDR[:PORT]" strings');
  if (fields['until'] !== undefined && fields['until'] !== null && typeof fields['until'] !== 'string')
    throw badRule('until: must be a string (an RFC 3339 time or a duration such as 7d)');
  try {
    const until = typeof fields['until'] === 'string' ? parsePolicyUntil(fields['until'], now()) : undefined;
    const result = await policy.add({
      namespace: fields['namespace'],
      mode: mode as PolicyMode,
      until,
      forwarders: (forwardersValue as string[]).map(parsePolicyForwarder),
    });
    const reply: PolicyAddBody = {
      rule: policyRuleView(result.rule, result.overridesConfig),
      replaced: result.replaced ? policyRuleView(result.replaced) : null,
      overridesConfig: result.overridesConfig,
    };
    return new ControlResponse(201, reply);
  } catch (error) {
    throw asControlError(error);
  }
}

async function removeRule(policy: PolicyService, namespace: string | undefined | null): Promise<PolicyRemoveBody> {
  if (namespace === undefined || namespace === null || namespace === '')
    throw badRule('namespace: missing (DELETE /v1/policy/NAMESPACE, or DELETE /v1/policy?namespace=NAMESPACE for ".")');
  try {
    const { removed, restored } = await policy.remove(namespace, 'removed by the operator');
    return { removed: policyRuleView(removed), restored: restored ? policyRuleView(restored) : null };
  } catch (error) {
    throw asControlError(error);
  }
}

export interface PolicyRouteOptions {
  /** `dnssec.validation` from the config. */
  readonly validation: boolean;
  /** The clock `until` durations count from. */
  readonly now: () => number;
}

export function registerPolicyRoutes(api: ControlApi, policy: PolicyService, options: PolicyRouteOptions): void {
  api.registerRoute(CONTROL_ROUTES.policyList, (): PolicyListBody => ({
    validation: options.validation,
    storeFile: policy.storePath,
    rules: policy.list().map(({ rule, overridesConfig }) => policyRuleView(rule, overridesConfig)),
  }));
  api.registerRoute(CONTROL_ROUTES.policyAdd, (request) => addRule(policy, request, options.now));
  api.registerRoute(CONTROL_ROUTES.policyRemove, (request) => removeRule(policy, request.params['namespace']));
  api.registerRoute(CONTROL_ROUTES.policyRemoveByQuery, (request) => removeRule(policy, request.query.get('namespace')));
}
