// Every dashboard of the lab, by the file name it is rendered to (grafana/dashboards/<name>.json).
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { overviewDashboard } from './overview.ts';
import { edgeDetailDashboard } from './edge-detail.ts';
import { comparisonDashboard } from './comparison.ts';
import { logsDashboard } from './logs.ts';

export const DASHBOARDS: Record<string, () => DashboardBuilder> = {
  'cdn-overview': overviewDashboard,
  'edge-detail': edgeDetailDashboard,
  'loadtest-comparison': comparisonDashboard,
  'logs': logsDashboard,
};
