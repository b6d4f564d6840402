// Least connections: send the request to the healthy backend with the fewest requests in flight.
// As in nginx `least_conn` and HAProxy `balance leastconn`. Ties rotate (round robin among the
// least loaded), otherwise an idle fleet would send everything to the first backend.
// It wins when request costs vary a lot or a backend is slow: load follows actual capacity.
import { isCandidate, type AlgorithmFactory, type Backend } from './types.ts';

export const createLeastConnections: AlgorithmFactory = () => {
  let start = 0;
  return {
    name: 'least-connections',
    pick(request, backends) {
      const n = backends.length;
      let best: Backend | undefined;
      let bestIndex = 0;
      for (let i = 0; i < n; i++) {
        const index = (start + i) % n;
        const backend = backends[index] as Backend;
        if (isCandidate(backend, request) && (best === undefined || backend.inFlight < best.inFlight)) {
          best = backend;
          bestIndex = index;
        }
      }
      if (best !== undefined) start = (bestIndex + 1) % n;
      return best;
    },
  };
};
