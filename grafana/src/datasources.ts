// Grafana datasources of the lab. Dashboards refer to them by these fixed uids, so provisioning
// and dashboards agree without looking anything up.
import { stringify } from 'yaml';

export const DATASOURCES = {
  prometheus: { type: 'prometheus', uid: 'cdn-prometheus', name: 'Prometheus' },
  loki: { type: 'loki', uid: 'cdn-loki', name: 'Loki' },
} as const;

export type DatasourceKind = keyof typeof DATASOURCES;

export interface DatasourceUrls {
  /** Default http://prometheus:9090 (the Docker stack's container name). */
  prometheusUrl?: string;
  /** Default http://loki:3100. */
  lokiUrl?: string;
  /** Prometheus' scrape interval, so Grafana's $__rate_interval covers at least four scrapes (default 15s). */
  scrapeInterval?: string;
}

/** grafana/provisioning/datasources/datasources.yml */
export function renderDatasources(urls: DatasourceUrls = {}): string {
  const config = {
    apiVersion: 1,
    datasources: [
      {
        name: DATASOURCES.prometheus.name,
        uid: DATASOURCES.prometheus.uid,
        type: DATASOURCES.prometheus.type,
        access: 'proxy',
        orgId: 1,
        url: urls.prometheusUrl ?? 'http://prometheus:9090',
        isDefault: true,
        editable: false,
        jsonData: { timeInterval: urls.scrapeInterval ?? '15s', httpMethod: 'POST' },
      },
      {
        name: DATASOURCES.loki.name,
        uid: DATASOURCES.loki.uid,
        type: DATASOURCES.loki.type,
        access: 'proxy',
        orgId: 1,
        url: urls.lokiUrl ?? 'http://loki:3100',
        editable: false,
        jsonData: { maxLines: 1000 },
      },
    ],
  };
  return `# Rendered by grafana/src/render.ts; do not edit by hand.\n${stringify(config)}`;
}

/** Where the Grafana container finds the dashboards JSON (the Docker stack mounts grafana/dashboards there). */
export const DASHBOARDS_MOUNT = '/var/lib/grafana/dashboards';

/** grafana/provisioning/dashboards/dashboards.yml */
export function renderDashboardProvider(path = DASHBOARDS_MOUNT): string {
  const config = {
    apiVersion: 1,
    providers: [
      {
        name: 'cdn-lab',
        orgId: 1,
        folder: 'CDN lab',
        type: 'file',
        // Dashboards are code: edits in the UI would be lost on the next render, so refuse them.
        disableDeletion: true,
        allowUiUpdates: false,
        updateIntervalSeconds: 30,
        options: { path, foldersFromFilesStructure: false },
      },
    ],
  };
  return `# Rendered by grafana/src/render.ts; do not edit by hand.\n${stringify(config)}`;
}
