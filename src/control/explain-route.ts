import { rcodeToString } from '../wire/message.js';
import { Name } from '../wire/name.js';
import { parseType, typeToString } from '../wire/rr-type.js';
import { rdataToText } from '../wire/rdata-text.js';
import type { Resolver } from '../resolver/resolver.js';
import type { TraceStep } from '../resolver/validation-trace.js';
import type { ControlApi } from './control-api.js';
import { ControlError } from './control-router.js';

/** What `keymaster explain` prints: the verdict, its reason and every link the validator walked. */
export interface Explanation {
  readonly name: string;
  readonly type: string;
  readonly rcode: string;
  readonly security: string;
  readonly reason: string;
  readonly ede: readonly { code: number; text: string }[];
  readonly policy: { namespace: string; mode: string; until: string | null } | null;
  readonly answer: readonly string[];
  readonly trace: readonly TraceStep[];
}

/**
 * POST /v1/explain {name, type}: resolves the name as a client query would (from the cache where
 * it can) but walks the chain of trust afresh and records each step, so an operator sees why an
 * answer is secure, insecure or SERVFAIL without a packet capture.
 */
export function registerExplainRoute(api: ControlApi, resolver: Resolver): void {
  api.registerRoute('POST', '/v1/explain', async (request) => {
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
