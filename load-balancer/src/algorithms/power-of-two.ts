// Power of two choices: sample two distinct healthy backends at random, send the request to the
// one with fewer requests in flight. Mitzenmacher, "The Power of Two Choices in Randomized Load
// Balancing" (IEEE TPDS 2001; Azar, Broder, Karlin, Upfal 1994): the maximum load drops from
// O(log n / log log n) for one random choice to O(log log n). It needs no global scan and copes
// with stale load information, so it wins with many backends or many balancers sharing a fleet.
// The PRNG is seeded (LB_SEED) so a run is reproducible.
import { mulberry32 } from '@cdn-lab/service-kit';
import { isCandidate, type AlgorithmFactory, type Backend } from './types.ts';

export const createPowerOfTwo: AlgorithmFactory = (options) => {
  const random = mulberry32(options.seed);
  const healthy: Backend[] = [];
  return {
    name: 'power-of-two',
    pick(request, backends) {
      healthy.length = 0;
      for (const backend of backends) if (isCandidate(backend, request)) healthy.push(backend);
      const n = healthy.length;
      if (n <= 1) return healthy[0];
      const a = Math.floor(random() * n);
      // A second index drawn from the other n - 1 slots, so the two choices are distinct.
      let b = Math.floor(random() * (n - 1));
      if (b >= a) b++;
      const first = healthy[a] as Backend;
      const second = healthy[b] as Backend;
      return second.inFlight < first.inFlight ? second : first;
    },
  };
};
