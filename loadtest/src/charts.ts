// Charts as data (Vega-Lite) rendered to standalone SVG on the server, so a report is one
// self-contained HTML file that opens anywhere without scripts or network.
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** Renders a Vega-Lite spec to an SVG string. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const { spec: vegaSpec } = compile(spec);
  const view = new vega.View(vega.parse(vegaSpec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const FONT = { config: { font: 'system-ui, sans-serif', view: { stroke: null } } } as const;

export interface BarDatum {
  group: string;
  series: string;
  value: number;
  /** An interval drawn as an error bar (omit for none). */
  interval?: { low: number; high: number };
}

/** Bars grouped by `group` (e.g. a variant), one bar per `series` in each, with optional error bars. */
export function columnBars(title: string, data: BarDatum[], options: { format?: string; yTitle: string }): TopLevelSpec {
  const values = data.map((d) => ({ ...d, low: d.interval?.low ?? d.value, high: d.interval?.high ?? d.value }));
  const hasError = data.some((d) => d.interval && d.interval.high > d.interval.low);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    data: { values },
    width: 520,
    height: 240,
    encoding: {
      x: { field: 'group', type: 'nominal', title: null, axis: { labelAngle: -20 }, sort: null },
      xOffset: { field: 'series', sort: null },
    },
    layer: [
      {
        mark: { type: 'bar', tooltip: true },
        encoding: {
          y: { field: 'value', type: 'quantitative', title: options.yTitle, axis: { format: options.format ?? '' } },
          color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom' }, sort: null },
        },
      },
      ...(hasError
        ? [{ mark: { type: 'rule' as const, color: '#222' }, encoding: { y: { field: 'low', type: 'quantitative' as const }, y2: { field: 'high' } } }]
        : []),
    ],
    ...FONT,
  } as unknown as TopLevelSpec;
}

export interface LineDatum {
  series: string;
  x: number;
  y: number;
}

/** A vertical line across a line chart, labelled (e.g. where measurement began). */
export interface Marker {
  x: number;
  label: string;
}

/** Lines, one per series. */
export function lines(
  title: string,
  data: LineDatum[],
  options: { xTitle: string; yTitle: string; xScale?: 'linear' | 'log'; yScale?: 'linear' | 'log'; yFormat?: string; xFormat?: string; markers?: Marker[] },
): TopLevelSpec {
  const line = {
    data: { values: data },
    mark: { type: 'line', point: true, tooltip: true },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: options.xTitle, scale: { type: options.xScale ?? 'linear' }, axis: { format: options.xFormat ?? '' } },
      y: { field: 'y', type: 'quantitative', title: options.yTitle, scale: { type: options.yScale ?? 'linear', zero: false }, axis: { format: options.yFormat ?? '' } },
      color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom' }, sort: null },
    },
  };
  const markers = options.markers ?? [];
  const frame = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', title, width: 520, height: 240, ...FONT };
  // A single view unless there are markers (callers may adjust a single view's encoding).
  if (markers.length === 0) return { ...frame, ...line } as unknown as TopLevelSpec;
  return {
    ...frame,
    layer: [
      line,
      { data: { values: markers }, mark: { type: 'rule', strokeDash: [4, 3], color: '#555' }, encoding: { x: { field: 'x', type: 'quantitative' } } },
      { data: { values: markers }, mark: { type: 'text', align: 'left', dx: 3, dy: -110, color: '#555' }, encoding: { x: { field: 'x', type: 'quantitative' }, text: { field: 'label' } } },
    ],
  } as unknown as TopLevelSpec;
}
