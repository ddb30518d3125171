/** `keymaster cluster status` (docs/cluster.md): the reply is the cluster domain's own view. */
export type { ClusterStatus } from '../cluster/cluster-status.js';
