// The Prometheus scrape configuration of a lab, rendered from its services (every origin, edge and
// balancer), and the command-line flags to run Prometheus on it. Pure: each backend supplies only
// addresses (the local lab 127.0.0.1:port, Docker container:8080).
import { stringify } from 'yaml';

/** The kinds of service a lab runs; one scrape job each. */
export type ServiceKind = 'origin' | 'edge' | 'balancer';

/**
 * What scraping needs to know of a service: infra's `ServicePlan` has this shape. Declared here so
 * the observability config does not depend on infra (infra's stacks depend on it).
 */
export interface ScrapedService {
  id: string;
  kind: ServiceKind;
  labels: Record<string, string>;
}

export interface ScrapeTarget {
  /** Service id; becomes the `instance` label. */
  id: string;
  kind: ServiceKind;
  /** `host:port` Prometheus reaches the service at. */
  address: string;
  /** Low-cardinality labels from the plan (service, edge, policy, tier, origin, lb, algorithm). */
  labels: Record<string, string>;
}

/** One scrape job per kind of service; the job name is the kind. */
export const SCRAPE_JOBS: readonly ServiceKind[] = ['origin', 'edge', 'balancer'];

export interface PrometheusConfigOptions {
  targets: readonly ScrapeTarget[];
  /** Scrape and rule evaluation interval (the lab uses 1 s so tests see data quickly; default 15). */
  scrapeIntervalSeconds?: number;
  /** Rule files, as paths Prometheus can read (relative paths resolve against the config file). */
  ruleFiles?: readonly string[];
  /**
   * When set, targets are read from `<dir>/<kind>.json` (file_sd) instead of being inlined, so a
   * running Prometheus follows labs that come and go; write them with `renderFileSdTargets`.
   */
  fileSdDirectory?: string;
  /** Added to every series Prometheus sends elsewhere (e.g. `{ lab: 'docker' }`). */
  externalLabels?: Record<string, string>;
}

export class ScrapeConfigError extends Error {
  override name = 'ScrapeConfigError';
}

const ADDRESS = /^[A-Za-z0-9.-]+:\d{1,5}$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function checkTargets(targets: readonly ScrapeTarget[]): void {
  const seen = new Set<string>();
  for (const target of targets) {
    if (!SCRAPE_JOBS.includes(target.kind)) {
      throw new ScrapeConfigError(`target ${target.id}: unknown kind ${JSON.stringify(target.kind)}; valid kinds: ${SCRAPE_JOBS.join(', ')}`);
    }
    if (!ADDRESS.test(target.address)) {
      throw new ScrapeConfigError(`target ${target.id}: address ${JSON.stringify(target.address)} is not host:port`);
    }
    if (seen.has(target.id)) throw new ScrapeConfigError(`target id ${target.id} appears twice`);
    seen.add(target.id);
    for (const name of Object.keys(target.labels)) {
      if (!LABEL_NAME.test(name) || name.startsWith('__')) {
        throw new ScrapeConfigError(`target ${target.id}: ${JSON.stringify(name)} is not a valid label name`);
      }
    }
  }
}

/** The labels Prometheus attaches to one target's series: the plan's labels plus `instance` = id. */
function targetLabels(target: ScrapeTarget): Record<string, string> {
  return { ...target.labels, instance: target.id };
}

function targetsOfKind(targets: readonly ScrapeTarget[], kind: ServiceKind): ScrapeTarget[] {
  return targets.filter((target) => target.kind === kind).sort((a, b) => a.id.localeCompare(b.id));
}

/** prometheus.yml for a lab. */
export function renderPrometheusConfig(options: PrometheusConfigOptions): string {
  checkTargets(options.targets);
  const interval = options.scrapeIntervalSeconds ?? 15;
  if (!Number.isInteger(interval) || interval < 1 || interval > 300) {
    throw new ScrapeConfigError(`scrapeIntervalSeconds must be an integer from 1 to 300, got ${interval}`);
  }
  const scrapeConfigs = SCRAPE_JOBS.map((kind) => {
    const job: Record<string, unknown> = {
      job_name: kind,
      // The services label their own series (edge/policy, origin, lb/algorithm); with honor_labels
      // the target's copies of those labels fill gaps instead of renaming them to exported_*.
      honor_labels: true,
      metrics_path: '/metrics',
    };
    if (options.fileSdDirectory !== undefined) {
      job.file_sd_configs = [{ files: [`${options.fileSdDirectory}/${kind}.json`], refresh_interval: '5s' }];
    } else {
      job.static_configs = targetsOfKind(options.targets, kind).map((target) => ({
        targets: [target.address],
        labels: targetLabels(target),
      }));
    }
    return job;
  });
  const config: Record<string, unknown> = {
    global: {
      scrape_interval: `${interval}s`,
      // A scrape must finish before the next one starts.
      scrape_timeout: `${interval}s`,
      evaluation_interval: `${interval}s`,
      ...(options.externalLabels ? { external_labels: options.externalLabels } : {}),
    },
    ...(options.ruleFiles && options.ruleFiles.length > 0 ? { rule_files: [...options.ruleFiles] } : {}),
    scrape_configs: scrapeConfigs,
  };
  return `# Rendered by @cdn-lab/grafana (renderPrometheusConfig); do not edit by hand.\n${stringify(config)}`;
}

/** The file_sd JSON of one job (`<dir>/<kind>.json`), for a config rendered with fileSdDirectory. */
export function renderFileSdTargets(targets: readonly ScrapeTarget[], kind: ServiceKind): string {
  checkTargets(targets);
  const groups = targetsOfKind(targets, kind).map((target) => ({ targets: [target.address], labels: targetLabels(target) }));
  return `${JSON.stringify(groups, null, 2)}\n`;
}

/** Scrape targets of a plan, given how this backend addresses each service (`host:port`). */
export function scrapeTargets(plans: readonly ScrapedService[], addressOf: (id: string) => string): ScrapeTarget[] {
  return plans.map((plan) => ({ id: plan.id, kind: plan.kind, address: addressOf(plan.id), labels: { ...plan.labels } }));
}

export interface PrometheusArgsOptions {
  configFile: string;
  /** TSDB folder (Prometheus creates it). */
  dataDir: string;
  /** `host:port` of the web UI and HTTP API, e.g. 127.0.0.1:9090. */
  listenAddress: string;
  /** POST /-/reload and /-/quit (handy to reload after rewriting the config). */
  enableLifecycle?: boolean;
  /** How long to keep samples (default 1d: a lab's data is only interesting while it runs). */
  retention?: string;
}

/** Flags for the `prometheus` binary (Prometheus 2.x and 3.x). */
export function prometheusArgs(options: PrometheusArgsOptions): string[] {
  if (!ADDRESS.test(options.listenAddress)) {
    throw new ScrapeConfigError(`listenAddress ${JSON.stringify(options.listenAddress)} is not host:port`);
  }
  return [
    `--config.file=${options.configFile}`,
    `--storage.tsdb.path=${options.dataDir}`,
    `--storage.tsdb.retention.time=${options.retention ?? '1d'}`,
    `--web.listen-address=${options.listenAddress}`,
    ...(options.enableLifecycle ? ['--web.enable-lifecycle'] : []),
  ];
}
