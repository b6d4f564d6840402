// Small helpers shared by the dashboards: datasource-bound queries, panels with the lab's
// defaults (legend as a table, units, ratios from 0 to 1), and variables.
import { DataqueryBuilder as PromQuery, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { DataqueryBuilder as LokiQuery, LokiQueryType } from '@grafana/grafana-foundation-sdk/loki';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TablePanel } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as LogsPanel } from '@grafana/grafana-foundation-sdk/logs';
import {
  BigValueGraphMode,
  LegendDisplayMode,
  LegendPlacement,
  LogsSortOrder,
  ReduceDataOptionsBuilder,
  VizLegendOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common';
import { QueryVariableBuilder, TextBoxVariableBuilder, VariableRefresh, VariableSort } from '@grafana/grafana-foundation-sdk/dashboard';
import { DATASOURCES } from '../datasources.ts';

export const PROMETHEUS = { type: DATASOURCES.prometheus.type, uid: DATASOURCES.prometheus.uid };
export const LOKI = { type: DATASOURCES.loki.type, uid: DATASOURCES.loki.uid };

/** A range PromQL query drawn as one series per legend. */
export function prom(expr: string, legend = '__auto', refId = 'A'): PromQuery {
  return new PromQuery().datasource(PROMETHEUS).expr(expr).legendFormat(legend).range().refId(refId);
}

/** An instant PromQL query in table format (one row per series, for summaries over a range). */
export function promTable(expr: string, refId: string): PromQuery {
  return new PromQuery().datasource(PROMETHEUS).expr(expr).instant().format(PromQueryFormat.Table).refId(refId);
}

export function loki(expr: string, legend?: string, refId = 'A'): LokiQuery {
  const query = new LokiQuery().datasource(LOKI).expr(expr).queryType(LokiQueryType.Range).refId(refId);
  return legend ? query.legendFormat(legend) : query;
}

export function lokiInstant(expr: string, refId = 'A'): LokiQuery {
  return new LokiQuery().datasource(LOKI).expr(expr).queryType(LokiQueryType.Instant).refId(refId);
}

export function lokiLogs(expr: string): LokiQuery {
  return new LokiQuery().datasource(LOKI).expr(expr).queryType(LokiQueryType.Range).refId('A').maxLines(500);
}

const legendTable = () =>
  new VizLegendOptionsBuilder()
    .showLegend(true)
    .displayMode(LegendDisplayMode.Table)
    .placement(LegendPlacement.Bottom)
    .calcs(['mean', 'lastNotNull', 'max']);

export interface PanelSize {
  /** Grid columns, of 24. */
  w?: number;
  h?: number;
}

export function timeseries(title: string, description: string, unit: string, size: PanelSize = {}): TimeseriesPanel {
  return new TimeseriesPanel()
    .title(title)
    .description(description)
    .unit(unit)
    .datasource(PROMETHEUS)
    .legend(legendTable())
    .lineWidth(1)
    .fillOpacity(10)
    .span(size.w ?? 12)
    .height(size.h ?? 8);
}

/** A time series of a ratio (0..1 shown as a percentage). */
export function ratioSeries(title: string, description: string, size: PanelSize = {}): TimeseriesPanel {
  return timeseries(title, description, 'percentunit', size).min(0).max(1);
}

export function stat(title: string, description: string, unit: string, size: PanelSize = {}): StatPanel {
  return new StatPanel()
    .title(title)
    .description(description)
    .unit(unit)
    .datasource(PROMETHEUS)
    .graphMode(BigValueGraphMode.Area)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .span(size.w ?? 4)
    .height(size.h ?? 4);
}

export function table(title: string, description: string, size: PanelSize = {}): TablePanel {
  return new TablePanel()
    .title(title)
    .description(description)
    .span(size.w ?? 12)
    .height(size.h ?? 8);
}

export function logs(title: string, description: string, size: PanelSize = {}): LogsPanel {
  return new LogsPanel()
    .title(title)
    .description(description)
    .datasource(LOKI)
    .showTime(true)
    .wrapLogMessage(true)
    .prettifyLogMessage(false)
    .enableLogDetails(true)
    .sortOrder(LogsSortOrder.Descending)
    .span(size.w ?? 24)
    .height(size.h ?? 10);
}

export interface LabelVariableOptions {
  name: string;
  label: string;
  query: string;
  datasource?: typeof PROMETHEUS | typeof LOKI;
  /** Multi-select with an "All" entry whose value is this regex. */
  allValue?: string;
}

/** A variable listing the values of one label (`label_values(...)`). */
export function labelVariable(options: LabelVariableOptions): QueryVariableBuilder {
  const variable = new QueryVariableBuilder(options.name)
    .label(options.label)
    .datasource(options.datasource ?? PROMETHEUS)
    .query(options.query)
    .definition(options.query)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc);
  if (options.allValue !== undefined) {
    return variable.multi(true).includeAll(true).allValue(options.allValue).current({ text: 'All', value: '$__all' });
  }
  return variable;
}

export function textVariable(name: string, label: string): TextBoxVariableBuilder {
  return new TextBoxVariableBuilder(name).label(label);
}
