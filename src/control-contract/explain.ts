import type { TraceStep } from '../resolver/validation-trace.js';

export type { TraceStep };

export interface ExplainBody {
  readonly name: string;
  /** A type mnemonic or number; A when absent. */
  readonly type?: string;
}

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
