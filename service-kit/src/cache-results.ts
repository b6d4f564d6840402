// The edge's answer vocabulary (the `result` label of edge_requests_total and the access log), one
// home for the edge that counts it, the rules and dashboards that chart it, and the comparisons
// that report it.

/**
 * How the edge answered. `collapsed`: a coalesced follower, answered with the response another
 * request's fetch brought in, without an upstream request of its own (nginx's proxy_cache_lock and
 * Varnish's waiting list count these as hits too).
 */
export const CACHE_RESULTS = ['hit', 'miss', 'stale', 'revalidated', 'collapsed', 'bypass', 'error'] as const;
export type CacheResult = (typeof CACHE_RESULTS)[number];

/**
 * Results answered from the cache without a fetch of their own: fresh hits, stale serves,
 * revalidations (a 304 from upstream, the body from cache) and coalesced followers. Hit ratio and
 * byte hit ratio count these, in a run and in a dashboard alike.
 */
export const SERVED_FROM_CACHE = ['hit', 'stale', 'revalidated', 'collapsed'] as const satisfies readonly CacheResult[];

/** SERVED_FROM_CACHE as a PromQL label matcher value (`result=~"..."`). */
export const SERVED_FROM_CACHE_MATCHER = SERVED_FROM_CACHE.join('|');
