import { boolean, either, fail, listOf, optional, required, table, text, withDefault, type Schema } from './schema-kit.js';
import { duration, filePath } from './value-schemas.js';

/**
 * `cluster:` (docs/cluster.md): several primaries sharing their state through etcd. Absent: one
 * server, every store in stateDir, nothing new needed.
 */
export interface ClusterConfig {
  /** This server's name among the primaries (unique; a live server with the same name is refused). */
  readonly name: string;
  readonly etcd: EtcdConfig;
  /** The key-encryption key every primary shares (private keys are sealed under it): a 0600 file, or an AES key in a PKCS#11 token. */
  readonly keyEncryptionKey?: KeyEncryptionKeySetting | undefined;
  readonly keyMaster: KeyMasterClusterConfig;
}

/** A path (the 0600 KEK file) or `{ pkcs11: { module, token, pinFile, label } }` (src/cluster/token-key-encryption-key.ts). */
export type KeyEncryptionKeySetting = string | { readonly pkcs11: TokenKekSetting };

export interface TokenKekSetting {
  /** The PKCS#11 module (shared library), e.g. /usr/lib/softhsm/libsofthsm2.so. */
  readonly module: string;
  /** The token label. */
  readonly token: string;
  /** The user PIN's file (0600). */
  readonly pinFile: string;
  /** CKA_LABEL of the AES-256 secret key (`keymaster cluster kek-create` makes one). */
  readonly label: string;
}

export interface EtcdConfig {
  /** Client URLs: `http://10.0.0.1:2379`, or `https://…` with `tls`. */
  readonly endpoints: readonly string[];
  /** Every key of this Keymaster cluster lives under it (`/keymaster/`), so one etcd can serve several. */
  readonly prefix: string;
  readonly tls?: EtcdTlsConfig | undefined;
  /** Seconds one etcd call may take before it counts as failed (etcd unreachable). */
  readonly callTimeout: number;
}

export interface EtcdTlsConfig {
  readonly ca: string;
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
}

export interface KeyMasterClusterConfig {
  /** Seconds of this server's etcd lease: how long after its death another primary may take its roles. */
  readonly leaseTtl: number;
  /** Take a zone's Key Master role by itself once the holder's lease has expired. */
  readonly autoFailover: boolean;
}

/** Server names: what `cluster.name` may be (they become etcd keys and appear in logs), as host names. */
export const SERVER_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

export const CLUSTER_DEFAULTS = {
  prefix: '/keymaster/',
  callTimeout: '3s',
  leaseTtl: '15s',
  autoFailover: false,
} as const;

const endpoint = text('an etcd client URL such as "http://10.0.0.1:2379"', (value) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail(`"${value}" is not a URL (http://HOST:PORT or https://HOST:PORT)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return fail(`"${value}": etcd is reached over http:// or https://`);
  if (url.pathname !== '/' || url.search || url.hash) return fail(`"${value}": give only the scheme, host and port`);
  return `${url.protocol}//${url.host}`;
});

const prefix = text('a key prefix such as "/keymaster/"', (value) =>
  /^\/([A-Za-z0-9._-]+\/)+$/.test(value) ? value : fail(`"${value}" must start and end with "/" (such as "/keymaster/" or "/dns/site-a/")`),
);

const serverName = text('a server name such as "ns1"', (value) =>
  SERVER_NAME.test(value) ? value : fail(`"${value}" is not a server name (lowercase letters, digits, "-" and "." as in a host name)`),
);

const nonEmptyLabel = (what: string) => text(what, (v) => (v.trim() === '' ? fail('must not be empty') : v));

const keyEncryptionKey = either<KeyEncryptionKeySetting>('a file path or { pkcs11: { module, token, pinFile, label } }', (value) => {
  if (typeof value === 'string') return filePath;
  if (value !== null && typeof value === 'object' && !Array.isArray(value))
    return table<{ pkcs11: TokenKekSetting }>({
      pkcs11: required(
        table<TokenKekSetting>({
          module: required(filePath),
          token: required(nonEmptyLabel('a token label')),
          pinFile: required(filePath),
          label: required(nonEmptyLabel("the key's CKA_LABEL")),
        }),
      ),
    });
  return undefined;
});

export const clusterSchema: Schema<ClusterConfig> = table<ClusterConfig>({
  name: required(serverName),
  etcd: required(
    table<EtcdConfig>(
      {
        endpoints: required(listOf(endpoint, { minItems: 1, unique: { key: (e) => e } })),
        prefix: withDefault(prefix, CLUSTER_DEFAULTS.prefix),
        tls: optional(table<EtcdTlsConfig>({ ca: required(filePath), cert: optional(filePath), key: optional(filePath) }, (tls, report) => {
          if ((tls.cert === undefined) !== (tls.key === undefined)) report([tls.cert === undefined ? 'cert' : 'key'], 'a client certificate needs both cert and key');
        })),
        callTimeout: withDefault(duration(1), CLUSTER_DEFAULTS.callTimeout),
      },
      (etcd, report) => {
        etcd.endpoints.forEach((e, i) => {
          if (etcd.tls && e.startsWith('http:')) report(['endpoints', i], `"${e}" is plain http but tls is set: use https://`);
          if (!etcd.tls && e.startsWith('https:')) report(['endpoints', i], `"${e}" is https: set tls: { ca: FILE } (and cert/key for client certificates)`);
        });
      },
    ),
  ),
  keyEncryptionKey: optional(keyEncryptionKey),
  keyMaster: withDefault(
    table<KeyMasterClusterConfig>({
      leaseTtl: withDefault(duration(2), CLUSTER_DEFAULTS.leaseTtl),
      autoFailover: withDefault(boolean(), CLUSTER_DEFAULTS.autoFailover),
    }),
    {},
  ),
});
