import type { RolloverStatus } from '../../src/authority/rollover/rollover-state.js';

/**
 * The CurrentRolloverStatus values a KSK meets, in order, through an algorithm rollover
 * (RFC 6781 §4.1.4): new algorithm signs, its keys published, the DS replaced, the old keys
 * withdrawn while their signatures stay, then done. Written out here, not taken from src/, so
 * the tests check the engine against the order the design specifies.
 */
export const ALGORITHM_ROLLOVER_STAGES: readonly RolloverStatus[] = [
  'Queued',
  'RollStarted',
  'AlgorithmWaitingForMaxZoneTtl',
  'AlgorithmWaitingForNewDnsKeyTtl',
  'KskWaitingForDSUpdate',
  'KskWaitingForDSTtl',
  'AlgorithmWaitingForOldDnsKeyTtl',
  'NotRolling',
];
