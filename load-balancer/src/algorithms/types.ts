// The one interface every load-balancing algorithm implements. The balancer's proxy calls `pick`
// once per request (and once more on a retry); the algorithm reads the backends' live state
// (`healthy`, `inFlight`) and never mutates it: the proxy owns that bookkeeping, so every
// algorithm sees the same numbers and the comparison between them is fair.

/** A backend as an algorithm sees it. The proxy keeps `healthy` and `inFlight` current. */
export interface Backend {
  /** Stable name (e.g. `edge-0`): hashing and metric labels use it, never the URL. */
  readonly id: string;
  readonly url: string;
  /** False once health checks (or a failed connection) took it out; algorithms skip it. */
  healthy: boolean;
  /** Requests sent to it and not yet finished. */
  inFlight: number;
}

export interface PickRequest {
  /** What key-affine algorithms hash: the request's path and query (`/obj/42?x=1`). */
  readonly key: string;
  /** Ids of backends this request already failed on (a retry): never picked again for it. */
  readonly exclude?: ReadonlySet<string> | undefined;
}

/** Whether `backend` may take `request`: healthy, and not one the request already failed on. */
export function isCandidate(backend: Backend, request: PickRequest): boolean {
  return backend.healthy && (request.exclude === undefined || !request.exclude.has(backend.id));
}

export interface LoadBalancingAlgorithm {
  readonly name: string;
  /**
   * Chooses a healthy backend for the request (never one in `request.exclude`), or undefined when
   * there is none.
   * `backends` is the balancer's full, stably ordered list (healthy or not), so hash-based
   * algorithms keep their placement when a backend goes down and comes back.
   */
  pick(request: PickRequest, backends: readonly Backend[]): Backend | undefined;
}

export interface AlgorithmOptions {
  /** Seed for randomised algorithms (power-of-two), so runs are reproducible. */
  seed: number;
  /** Bounded-load slack: a backend takes at most ceil((1 + epsilon) * average load). */
  epsilon: number;
  /** Points per backend on the hash ring (consistent-hash, bounded-load). */
  virtualNodes: number;
}

export const DEFAULT_ALGORITHM_OPTIONS: AlgorithmOptions = { seed: 1, epsilon: 0.25, virtualNodes: 160 };

export type AlgorithmFactory = (options: AlgorithmOptions) => LoadBalancingAlgorithm;
