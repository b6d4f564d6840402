// The Cache-Status response header (RFC 9211). Pure functions; the cache's name is `cdn-lab`.

export const CACHE_NAME = 'cdn-lab';

/** Why the request went upstream (RFC 9211 §2.2). */
export type ForwardReason = 'bypass' | 'method' | 'uri-miss' | 'vary-miss' | 'miss' | 'request' | 'stale' | 'partial';

export interface CacheStatusParams {
  hit?: boolean;
  fwd?: ForwardReason;
  /** Status the upstream answered with, when it differs from the one sent to the client (e.g. 304). */
  fwdStatus?: number;
  /** Remaining freshness in seconds (negative when served stale). */
  ttl?: number;
  stored?: boolean;
  collapsed?: boolean;
  /** Implementation detail token, e.g. `stale-while-revalidate`, `upstream-timeout`. */
  detail?: string;
}

/** Builds this cache's Cache-Status member, e.g. `cdn-lab; hit; ttl=123` or `cdn-lab; fwd=uri-miss; stored`. */
export function cacheStatus(params: CacheStatusParams): string {
  let value = CACHE_NAME;
  if (params.hit) value += '; hit';
  if (params.fwd) value += `; fwd=${params.fwd}`;
  if (params.fwdStatus !== undefined) value += `; fwd-status=${params.fwdStatus}`;
  if (params.ttl !== undefined) value += `; ttl=${params.ttl}`;
  if (params.stored) value += '; stored';
  if (params.collapsed) value += '; collapsed';
  if (params.detail) value += `; detail=${params.detail}`;
  return value;
}

/** Appends this cache's member after the upstream's (RFC 9211 §2: ordered origin-side first). */
export function appendCacheStatus(upstream: string | undefined, ours: string): string {
  return upstream ? `${upstream}, ${ours}` : ours;
}
