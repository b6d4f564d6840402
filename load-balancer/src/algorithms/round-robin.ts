// Round robin: hand requests to the healthy backends in turn, one each, in list order.
// The oldest scheme there is (DNS round robin, RFC 1794; every proxy's default). It ignores load
// and keys, so it wins when backends are alike and requests cost about the same.
import { isCandidate, type AlgorithmFactory, type Backend } from './types.ts';

export const createRoundRobin: AlgorithmFactory = () => {
  let next = 0;
  return {
    name: 'round-robin',
    pick(request, backends) {
      const n = backends.length;
      for (let i = 0; i < n; i++) {
        const index = (next + i) % n;
        const backend = backends[index] as Backend;
        if (isCandidate(backend, request)) {
          next = (index + 1) % n;
          return backend;
        }
      }
      return undefined;
    },
  };
};
