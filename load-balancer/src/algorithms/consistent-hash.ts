// Consistent hashing: backends and keys are hashed onto the same 32-bit ring; a key belongs to the
// first backend point at or after its hash, walking clockwise. Karger et al., "Consistent Hashing
// and Random Trees" (STOC 1997). Each backend owns many points ("virtual nodes", as in ketama and
// Dynamo) so shares even out. When a backend goes down only its keys move, each to the next
// healthy backend on the ring; everyone else's keys stay put. Key = request path + query, so the
// same object always lands on the same edge: it wins for caches, where affinity means hit ratio.
// The ring itself (`HashRing`) lives in service-kit: the edges' sharding places keys with it too.
import { HashRing } from '@cdn-lab/service-kit';
import { isCandidate, type AlgorithmFactory, type Backend } from './types.ts';

/**
 * Keeps a ring over the ids of `backends` and a map back to the objects, rebuilt only when the
 * balancer hands in a different list (the list is fixed for a balancer's life, so: once).
 */
export class BackendRing {
  private readonly virtualNodes: number;
  private list: readonly Backend[] | undefined;
  private ring: HashRing | undefined;
  private byId = new Map<string, Backend>();

  constructor(virtualNodes: number) {
    this.virtualNodes = virtualNodes;
  }

  /** The first backend in ring order from `key` that `accept` takes. */
  find(key: string, backends: readonly Backend[], accept: (backend: Backend) => boolean): Backend | undefined {
    if (backends !== this.list || backends.length !== this.byId.size) {
      this.list = backends;
      this.byId = new Map(backends.map((backend) => [backend.id, backend]));
      this.ring = new HashRing(this.byId.keys(), { virtualNodes: this.virtualNodes });
    }
    const ring = this.ring as HashRing;
    // Fast path without the generator: the owner itself is acceptable (the common case).
    const owner = this.byId.get(ring.lookup(key) ?? '');
    if (owner === undefined || accept(owner)) return owner;
    for (const id of ring.walk(key)) {
      const backend = this.byId.get(id) as Backend;
      if (accept(backend)) return backend;
    }
    return undefined;
  }
}

export const createConsistentHash: AlgorithmFactory = (options) => {
  const ring = new BackendRing(options.virtualNodes);
  const isHealthy = (backend: Backend) => backend.healthy;
  return {
    name: 'consistent-hash',
    // A retry walks on along the ring past the backends it failed on: the key's next owner.
    pick: (request, backends) =>
      ring.find(request.key, backends, request.exclude === undefined ? isHealthy : (backend) => isCandidate(backend, request)),
  };
};
