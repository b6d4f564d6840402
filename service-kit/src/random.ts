// The lab's one seeded PRNG: catalogue sizes, fault draws, workloads and the balancer's random
// choices all use it, so the same seed reproduces a run on any machine.

/** mulberry32 (Tommy Ettinger): a tiny, fast 32-bit PRNG with good statistical quality; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
