// The fallback load generator where wrk is not installed: autocannon in its own process (so it can
// be pinned to its own core like wrk), given a LoadSpec as JSON in argv[2], printing a LoadResult
// as JSON on stdout. autocannon spends more CPU per request than wrk: see BENCH.md.
import autocannon from 'autocannon';
import { mulberry32, zipfSampler } from '@cdn-lab/service-kit';
import type { LoadResult, LoadSpec } from './wrk.ts';

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as LoadSpec;
  const pattern = spec.pattern;
  let counter = pattern.kind === 'counter' ? pattern.start : 0;
  const nextId = pattern.kind === 'zipf' ? zipfSampler(pattern.objects, pattern.exponent, mulberry32(pattern.seed)) : () => counter++;
  const result = await autocannon({
    url: spec.baseUrl,
    connections: spec.connections,
    duration: Math.max(1, Math.round(spec.durationMs / 1000)),
    requests: [
      pattern.kind === 'fixed'
        ? { method: 'GET', path: pattern.path }
        : { method: 'GET', setupRequest: (request) => ({ ...request, path: `/obj/${nextId()}` }) },
    ],
  });
  const out: LoadResult = {
    requests: result.requests.total,
    durationS: result.duration,
    requestsPerSec: result.requests.total / result.duration,
    bytesPerSec: result.throughput.average,
    latencyMs: {
      avg: result.latency.average,
      p50: result.latency.p50,
      p75: result.latency.p75,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
    },
    non2xx: result['4xx'] + result['5xx'],
    // autocannon's errors include its timeouts.
    errors: result.errors - result.timeouts,
    timeouts: result.timeouts,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${String((error as Error)?.stack ?? error)}\n`);
  process.exit(1);
});
