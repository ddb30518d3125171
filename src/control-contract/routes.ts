import type { CacheFlushBody, CacheFlushReply } from './cache.js';
import type { ClusterStatus } from './cluster.js';
import type { Explanation, ExplainBody } from './explain.js';
import type { PolicyAddBody, PolicyAddRequest, PolicyListBody, PolicyRemoveBody } from './policy.js';
import { route } from './route.js';
import type { ServerStatus } from './status.js';
import type {
  AddRootBody, AddRootReply, AnchorAddBody, AnchorImportBody, AnchorListReply, AnchorRemoveReply, AnchorsChangedReply,
  RefreshBody, RefreshReply, TrustPointDetail, TrustPointListReply, TrustPointRemoveReply,
} from './trust.js';
import type {
  KeyMasterBody, KeyMasterView, RecordChangeSummary, RecordRequest, ZoneAddBody, ZoneAddReply, ZoneDetail, ZoneExportKeysReply,
  ZoneKeysReply, ZoneListReply, ZoneRemoveReply, ZoneSignBody, ZoneSignReply, ZoneSummary, ZoneUnsignBody,
} from './zones.js';

/**
 * Every JSON route of the control API (`/v1/...`), by domain. Query parameters: `zone` on the
 * trust routes (`?zone=` for one trust point or its anchors, `&keyTag=` to remove an anchor),
 * `digest` on `export-keys`, `namespace` on `DELETE /v1/policy` (needed for ".").
 */
export const CONTROL_ROUTES = {
  status: route<undefined, ServerStatus>('GET', '/v1/status'),
  explain: route<ExplainBody, Explanation>('POST', '/v1/explain'),
  cacheFlush: route<CacheFlushBody, CacheFlushReply>('POST', '/v1/cache/flush'),
  clusterStatus: route<undefined, ClusterStatus>('GET', '/v1/cluster'),

  zoneList: route<undefined, ZoneListReply>('GET', '/v1/zones'),
  zoneAdd: route<ZoneAddBody, ZoneAddReply>('POST', '/v1/zones'),
  zoneShow: route<undefined, ZoneDetail>('GET', '/v1/zones/:zone'),
  zoneRemove: route<undefined, ZoneRemoveReply>('DELETE', '/v1/zones/:zone'),
  zoneSign: route<ZoneSignBody, ZoneSignReply>('POST', '/v1/zones/:zone/sign'),
  zoneUnsign: route<ZoneUnsignBody, ZoneSummary>('POST', '/v1/zones/:zone/unsign'),
  zoneKeys: route<undefined, ZoneKeysReply>('GET', '/v1/zones/:zone/keys'),
  zoneExportKeys: route<undefined, ZoneExportKeysReply>('GET', '/v1/zones/:zone/export-keys'),
  zoneKeyMaster: route<undefined, KeyMasterView>('GET', '/v1/zones/:zone/key-master'),
  zoneSetKeyMaster: route<KeyMasterBody, KeyMasterView>('PUT', '/v1/zones/:zone/key-master'),
  zoneRecordAdd: route<RecordRequest, RecordChangeSummary>('POST', '/v1/zones/:zone/records'),
  zoneRecordRemove: route<RecordRequest, RecordChangeSummary>('DELETE', '/v1/zones/:zone/records'),
  zoneKeyRoll: route<undefined, ZoneKeysReply>('POST', '/v1/zones/:zone/keys/:key/roll'),
  zoneKeyStepRollover: route<undefined, ZoneKeysReply>('POST', '/v1/zones/:zone/keys/:key/step-rollover'),

  trustPointList: route<undefined, TrustPointListReply | TrustPointDetail>('GET', '/v1/trust-points'),
  trustPointRemove: route<undefined, TrustPointRemoveReply>('DELETE', '/v1/trust-points'),
  trustPointAddRoot: route<AddRootBody, AddRootReply>('POST', '/v1/trust-points/root'),
  trustPointRefresh: route<RefreshBody, RefreshReply>('POST', '/v1/trust-points/refresh'),
  trustAnchorList: route<undefined, AnchorListReply>('GET', '/v1/trust-anchors'),
  trustAnchorAdd: route<AnchorAddBody, AnchorsChangedReply>('POST', '/v1/trust-anchors'),
  trustAnchorImport: route<AnchorImportBody, AnchorsChangedReply>('POST', '/v1/trust-anchors/import'),
  trustAnchorRemove: route<undefined, AnchorRemoveReply>('DELETE', '/v1/trust-anchors'),

  policyList: route<undefined, PolicyListBody>('GET', '/v1/policy'),
  policyAdd: route<PolicyAddRequest, PolicyAddBody>('POST', '/v1/policy'),
  policyRemove: route<undefined, PolicyRemoveBody>('DELETE', '/v1/policy/:namespace'),
  /** For "." (a "." or "%2E" path segment is removed by URL normalisation): `?namespace=`. */
  policyRemoveByQuery: route<undefined, PolicyRemoveBody>('DELETE', '/v1/policy'),
} as const;

export type ControlRouteName = keyof typeof CONTROL_ROUTES;

/**
 * Paths served outside the JSON API, matched exactly: the Prometheus endpoint and the web
 * console's pages and session (cookie, not bearer token).
 */
export const RAW_PATHS = {
  metrics: '/metrics',
  root: '/',
  console: '/console',
  consoleIndex: '/console/',
  consoleScript: '/console/app.js',
  consoleStyle: '/console/app.css',
  consoleLogin: '/console/login',
  consoleLogout: '/console/logout',
  consoleSession: '/console/session',
} as const;
