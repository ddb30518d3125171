import type { QueryHandler } from './query-handler.js';

export type HandlerResult = ReturnType<QueryHandler>;
export type PendingHandlerResult = PromiseLike<Uint8Array | undefined>;

/**
 * True when the handler answered later rather than now. Listeners test the synchronous shapes
 * (`undefined`, bytes) first and only then look for `then`, so a cache hit answered synchronously
 * goes out without a promise, a microtask or a closure.
 */
export function isPendingResult(result: HandlerResult | unknown): result is PendingHandlerResult {
  return typeof result === 'object' && result !== null && typeof (result as { then?: unknown }).then === 'function';
}

/** Says why a value a handler produced cannot be sent. */
export function describeBadResult(result: unknown): string {
  return `query handler returned ${result === null ? 'null' : typeof result}, expected Uint8Array or undefined`;
}
