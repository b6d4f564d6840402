// CDN logs: the services' JSON request lines in Loki. Alloy makes service, edge and policy stream
// labels and attaches level, method, path, status, result, bytes and durationMs as structured
// metadata (grafana/alloy/config.alloy), so these queries filter on them without a parser stage.
import { DashboardBuilder, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { THRESHOLDS } from '../rules.ts';
import { LOKI, labelVariable, logs, loki, lokiInstant, table, textVariable, timeseries } from './common.ts';

export const LOGS_UID = 'cdn-logs';

/** `.+` rather than `.*` for "All": Loki needs one matcher that cannot match an empty value. */
const SERVICE = 'service=~"$service"';
const EDGE_LINES = 'service="edge", edge=~"$edge"';
const SLOW_MS = THRESHOLDS.edgeP99Seconds * 1000;

export function logsDashboard(): DashboardBuilder {
  return new DashboardBuilder('CDN logs')
    .uid(LOGS_UID)
    .description('Errors, slowest requests and most-missed paths from the services\' JSON logs in Loki.')
    .tags(['cdn-lab', 'generated'])
    .time({ from: 'now-1h', to: 'now' })
    .refresh('30s')
    .timezone('browser')
    .withVariable(labelVariable({ name: 'service', label: 'Service', query: 'label_values(service)', datasource: LOKI, allValue: '.+' }))
    .withVariable(labelVariable({ name: 'edge', label: 'Edge', query: 'label_values({service="edge"}, edge)', datasource: LOKI, allValue: '.+' }))
    .withVariable(textVariable('search', 'Line contains'))

    .withRow(new RowBuilder('Volume and errors'))
    .withPanel(
      timeseries('Log lines by service and level', 'Lines per interval. A rise in warn or error lines is the first thing to look at.', 'short')
        .datasource(LOKI)
        .withTarget(loki(`sum by (service, level) (count_over_time({${SERVICE}} [$__auto]))`, '{{service}} {{level}}')),
    )
    .withPanel(
      timeseries('5xx answers by edge', 'Request lines with status >= 500 per interval, by edge.', 'short')
        .datasource(LOKI)
        .withTarget(loki(`sum by (edge) (count_over_time({${EDGE_LINES}} | status >= 500 [$__auto]))`, '{{edge}}')),
    )
    .withPanel(
      logs('Errors and warnings', 'Every warn, error and fatal line of the selected services, newest first; expand a line for its fields.').withTarget(
        loki(`{${SERVICE}} | level=~"warn|error|fatal"`),
      ),
    )

    .withRow(new RowBuilder('Requests'))
    .withPanel(
      table('Slowest requests', 'The 20 slowest edge answers in the time range (durationMs from the request lines), with path and result.', { w: 12, h: 10 })
        .datasource(LOKI)
        .withTarget(
          lokiInstant(`topk(20, max by (edge, method, path, result) (max_over_time({${EDGE_LINES}} | durationMs > 0 | unwrap durationMs [$__range])))`),
        )
        .withTransformation({ id: 'organize', options: { excludeByName: { Time: true }, renameByName: { Value: 'Duration (ms)' } } })
        .withTransformation({ id: 'sortBy', options: { sort: [{ field: 'Duration (ms)', desc: true }] } }),
    )
    .withPanel(
      table('Top missed paths', 'Paths that missed the cache most often in the time range: candidates for a bigger cache, a longer TTL or a different policy.', { w: 12, h: 10 })
        .datasource(LOKI)
        .withTarget(lokiInstant(`topk(20, sum by (path) (count_over_time({${EDGE_LINES}} | result="miss" [$__range])))`))
        .withTransformation({ id: 'organize', options: { excludeByName: { Time: true }, renameByName: { Value: 'Misses' } } })
        .withTransformation({ id: 'sortBy', options: { sort: [{ field: 'Misses', desc: true }] } }),
    )
    .withPanel(
      logs(`Slow requests (over ${SLOW_MS} ms)`, `Edge request lines that took longer than ${SLOW_MS} ms (the edge p99 alert threshold).`, { h: 8 }).withTarget(
        loki(`{${EDGE_LINES}} | durationMs > ${SLOW_MS}`),
      ),
    )
    .withPanel(
      logs('Search', 'Lines of the selected services containing the "Line contains" text.', { h: 12 }).withTarget(loki(`{${SERVICE}} |= "$search"`)),
    );
}
