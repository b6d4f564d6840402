// Consistent hashing with bounded loads: Mirrokni, Thorup, Zadimoghaddam, "Consistent Hashing with
// Bounded Loads" (SODA 2018, arXiv:1608.01350, 2016). Like consistent hashing, but no backend may
// take more than capacity = ceil((1 + epsilon) * average load), where the average counts the
// requests in flight on the healthy backends plus the one being placed. A key whose owner is full
// walks on along the ring to the next backend with room. Every backend is then within (1 + epsilon)
// of the mean while keys still mostly stay put (the paper bounds the moves by O(1/epsilon^2)).
// Used by Google Cloud Pub/Sub and HAProxy (`hash-balance-factor`); Vimeo's write-up explains it for
// video caches. It wins when keys are skewed (a hot object would swamp its one edge otherwise):
// affinity for the many, spill-over for the few.
import { BackendRing } from './consistent-hash.ts';
import { isCandidate, type AlgorithmFactory, type Backend } from './types.ts';

/** The most requests one backend may have in flight after taking one more request. */
export function boundedLoadCapacity(backends: readonly Backend[], epsilon: number): number {
  let healthy = 0;
  let load = 0;
  for (const backend of backends) {
    if (!backend.healthy) continue;
    healthy++;
    load += backend.inFlight;
  }
  if (healthy === 0) return 0;
  return Math.ceil(((1 + epsilon) * (load + 1)) / healthy);
}

export const createBoundedLoad: AlgorithmFactory = (options) => {
  if (!(options.epsilon > 0)) throw new TypeError(`epsilon must be > 0, got ${options.epsilon}`);
  const ring = new BackendRing(options.virtualNodes);
  return {
    name: 'bounded-load',
    pick(request, backends) {
      const capacity = boundedLoadCapacity(backends, options.epsilon);
      // Since capacity >= the mean load including this request, some healthy backend always has room;
      // a retry may have excluded the ones that had, and then takes the next candidate on the ring.
      return (
        ring.find(request.key, backends, (backend) => isCandidate(backend, request) && backend.inFlight + 1 <= capacity) ??
        (request.exclude === undefined ? undefined : ring.find(request.key, backends, (backend) => isCandidate(backend, request)))
      );
    },
  };
};
