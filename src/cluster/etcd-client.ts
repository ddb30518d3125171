import { readFileSync } from 'node:fs';
import { Etcd3, type IOptions } from 'etcd3';
import type { ClusterConfig } from '../config/cluster-schema.js';

export interface EtcdConnectionOptions {
  /** Client URLs of the members (`http://10.0.0.1:2379`, `https://…` with TLS). */
  readonly endpoints: readonly string[];
  /** Client certificates: etcd's CA, and this server's certificate and key (PEM files). */
  readonly tls?: { readonly ca: string; readonly cert?: string; readonly key?: string };
  /** How long one unary call (get, put, transaction, keep-alive) may take before it counts as failed. */
  readonly callTimeoutMs?: number;
}

const DEFAULT_CALL_TIMEOUT_MS = 3000;

/**
 * An etcd3 client: gRPC to every endpoint (a failed member is left for the others by the
 * client's circuit breaker), each unary call bounded by a deadline so a frozen or partitioned
 * etcd turns into an error instead of a hang. Streams (watches, keep-alives) have no deadline:
 * they reconnect by themselves.
 */
export function connectEtcd(options: EtcdConnectionOptions): Etcd3 {
  const timeout = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  const config: IOptions = {
    hosts: [...options.endpoints],
    dialTimeout: timeout,
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + timeout }),
  };
  if (options.tls) {
    config.credentials = {
      rootCertificate: readFileSync(options.tls.ca),
      ...(options.tls.cert ? { certChain: readFileSync(options.tls.cert) } : {}),
      ...(options.tls.key ? { privateKey: readFileSync(options.tls.key) } : {}),
    };
  }
  return new Etcd3(config);
}

/** The connection options of `cluster.etcd`. */
export function etcdConnection(config: ClusterConfig, endpoints = config.etcd.endpoints, callTimeoutMs = config.etcd.callTimeout * 1000): EtcdConnectionOptions {
  const tls = config.etcd.tls;
  return { endpoints, callTimeoutMs, ...(tls ? { tls: { ca: tls.ca, ...(tls.cert ? { cert: tls.cert } : {}), ...(tls.key ? { key: tls.key } : {}) } } : {}) };
}
