import { rcodeToString } from '../wire/message.js';
import { Name } from '../wire/name.js';
import { parseType, typeToString } from '../wire/rr-type.js';
import { rdataToText } from '../wire/rdata-text.js';
import type { Resolver } from '../resolver/resolver.js';
import type { Explanation } from '../control-contract/explain.js';
import type { ControlApi } from './control-api.js';
import { ControlError } from './control-router.js';
import { CONTROL_ROUTES } from '../control-contract/routes.js';

/**
 * POST /v1/explain {name, type}: resolves the name as a client query would (from the cache where
 * it can) but walks the chain of trust afresh and records each step, so an operator sees why an
 * answer is secure, insecure or SERVFAIL without a packet capture.
 */
export function registerExplainRoute(api: ControlApi, resolver: Resolver): void {
  api.registerRoute(CONTROL_ROUTES.explain, async (request) => {
    const body = (request.body ?? {}) as { name?: unknown; type?: unknown };
    if (typeof body.name !== 'string') throw new ControlError(400, 'bad-name', 'name must be a string');
    let name: Name;
    let type: number;
    try {
      name = Name.parse(body.name);
    } catch (e) {
      throw new ControlError(400, 'bad-name', `"${body.name}" is not a domain name: ${(e as Error).message}`);
    }
    try {
      type = parseType(typeof body.type === 'string' ? body.type : 'A');
    } catch (e) {
      throw new ControlError(400, 'bad-type', `"${String(body.type)}" is not a record type: ${(e as Error).message}`);
    }
    const result = await resolver.resolve({ name, type, class: 1 }, { explain: true });
    const explanation: Explanation = {
      name: name.toString(),
      type: typeToString(type),
      rcode: rcodeToString(result.rcode),
      security: result.security,
      reason: result.outcome?.reason ?? result.failure?.reason ?? (result.security === 'unchecked' ? 'validation is off' : ''),
      ede: (result.failure?.ede ?? (result.outcome?.ede !== undefined ? [[result.outcome.ede, result.outcome.reason] as const] : [])).map(([code, text]) => ({ code, text })),
      policy: result.policy ? { namespace: result.policy.namespace, mode: result.policy.mode, until: result.policy.until?.toISOString() ?? null } : null,
      answer: result.answer.map((r) => `${r.name} ${r.ttl} ${typeToString(r.type)} ${rdataToText(r.type, r.rdata)}`),
      trace: result.trace ?? [],
    };
    return explanation;
  });
}
