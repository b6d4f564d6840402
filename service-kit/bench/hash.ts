// Ring hash choice: time per key and evenness of ring shares, hash32 (FNV-1a + fmix32) vs md5.
// Run: npx tsx service-kit/bench/hash.ts
import { createHash } from 'node:crypto';
import { hash32, HashRing } from '../src/hash-ring.ts';

const md5 = (input: string) => createHash('md5').update(input).digest().readUInt32BE(0);
const keys = Array.from({ length: 100_000 }, (_, i) => `/obj/${i}`);

for (const [name, hash] of [['hash32', hash32], ['md5', md5]] as const) {
  let sink = 0;
  for (const key of keys) sink ^= hash(key); // warm up
  const start = process.hrtime.bigint();
  for (let round = 0; round < 5; round++) for (const key of keys) sink ^= hash(key);
  const nsPerKey = Number(process.hrtime.bigint() - start) / (5 * keys.length);
  // Relative standard deviation of each node's share of the keys, over several fleets.
  const deviations: number[] = [];
  for (const prefix of ['edge-', 'e', 'http://127.0.0.1:400', 'backend-']) {
    for (const size of [3, 5, 10]) {
      const ring = new HashRing(Array.from({ length: size }, (_, i) => `${prefix}${i}`), { hash });
      const counts = new Map<string, number>();
      for (const key of keys) {
        const node = ring.lookup(key) as string;
        counts.set(node, (counts.get(node) ?? 0) + 1);
      }
      const relative = [...counts.values()].map((count) => count / (keys.length / size) - 1);
      deviations.push(Math.sqrt(relative.reduce((sum, r) => sum + r * r, 0) / size));
    }
  }
  const mean = deviations.reduce((a, b) => a + b, 0) / deviations.length;
  console.log(`${name}: ${nsPerKey.toFixed(0)} ns/key, share rel. sd mean ${mean.toFixed(3)} max ${Math.max(...deviations).toFixed(3)} (${sink & 1})`);
}
