// Reads services' own /metrics, so every figure a run reports comes from the services' counters.
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

/**
 * One scrape: metric name -> samples (labels + value), for counters and gauges. Histograms and
 * summaries are left out: parse-prometheus-text-format drops their _sum/_count when they carry
 * labels, and run figures come from counters (latency is measured at the client).
 */
export type Scrape = Map<string, { labels: Record<string, string>; value: number }[]>;

export function parseMetrics(text: string): Scrape {
  const scrape: Scrape = new Map();
  for (const family of parsePrometheusTextFormat(text)) {
    if (family.type === 'HISTOGRAM' || family.type === 'SUMMARY') continue;
    scrape.set(family.name, family.metrics.map((m) => ({ labels: m.labels ?? {}, value: Number(m.value) })));
  }
  return scrape;
}

export async function scrapeMetrics(url: string): Promise<Scrape> {
  const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) });
  if (!response.ok) throw new Error(`GET ${url}/metrics answered ${response.status}`);
  return parseMetrics(await response.text());
}

/** Sum of a metric's samples whose labels match every given label (a value list means any of). */
export function sumMetric(scrape: Scrape, name: string, match: Record<string, string | string[]> = {}): number {
  let total = 0;
  for (const sample of scrape.get(name) ?? []) {
    const matches = Object.entries(match).every(([label, want]) =>
      Array.isArray(want) ? want.includes(sample.labels[label] ?? '') : sample.labels[label] === want,
    );
    if (matches) total += sample.value;
  }
  return total;
}

/** Sum over several scrapes (e.g. every edge). */
export function sumAcross(scrapes: Scrape[], name: string, match: Record<string, string | string[]> = {}): number {
  return scrapes.reduce((total, scrape) => total + sumMetric(scrape, name, match), 0);
}
