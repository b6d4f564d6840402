// Every query of every panel, so tests can parse them and run them against real backends.
import { DATASOURCES, type DatasourceKind } from './datasources.ts';
import { DASHBOARDS } from './dashboards/index.ts';

export interface PanelQuery {
  /** Dashboard title. */
  dashboard: string;
  panel: string;
  refId: string;
  expr: string;
  datasource: DatasourceKind;
  /** Instant (one value at the end of the range) rather than range. */
  instant: boolean;
}

interface PanelJson {
  type?: string;
  title?: string;
  datasource?: { uid?: string };
  targets?: { expr?: string; refId?: string; instant?: boolean; queryType?: string; datasource?: { uid?: string } }[];
  panels?: PanelJson[];
}

function kindOfUid(uid: string | undefined, where: string): DatasourceKind {
  for (const [kind, datasource] of Object.entries(DATASOURCES) as [DatasourceKind, (typeof DATASOURCES)[DatasourceKind]][]) {
    if (datasource.uid === uid) return kind;
  }
  throw new Error(`${where}: datasource uid ${JSON.stringify(uid)} is not one of the provisioned datasources`);
}

/** The queries of one built dashboard (rows' nested panels included). */
export function queriesOf(dashboard: { title?: string; panels?: unknown[] }): PanelQuery[] {
  const title = dashboard.title ?? '(untitled)';
  const out: PanelQuery[] = [];
  const visit = (panel: PanelJson) => {
    for (const child of panel.panels ?? []) visit(child);
    for (const target of panel.targets ?? []) {
      if (target.expr === undefined) continue;
      const where = `${title} / ${panel.title} / ${target.refId}`;
      out.push({
        dashboard: title,
        panel: panel.title ?? '(untitled)',
        refId: target.refId ?? 'A',
        expr: target.expr,
        datasource: kindOfUid(target.datasource?.uid ?? panel.datasource?.uid, where),
        instant: target.instant === true || target.queryType === 'instant',
      });
    }
  };
  for (const panel of (dashboard.panels ?? []) as PanelJson[]) visit(panel);
  return out;
}

/** Every panel query of every dashboard. */
export function panelQueries(): PanelQuery[] {
  return Object.values(DASHBOARDS).flatMap((build) => queriesOf(build().build()));
}

/** Values for Grafana's built-in and dashboard variables, to run a panel's query outside Grafana. */
export interface QueryVariables {
  /** `$__rate_interval`, `$__interval`, `$__auto` (default 1m). */
  interval?: string;
  /** `$__range` (default 5m). */
  range?: string;
  /** Dashboard variables by name; unset ones become "All" (`.*`, or `.+` for Loki label matchers). */
  values?: Record<string, string>;
}

/** Substitutes Grafana variables in a query the way Grafana would before sending it. */
export function substituteVariables(expr: string, datasource: DatasourceKind, variables: QueryVariables = {}): string {
  const interval = variables.interval ?? '1m';
  const range = variables.range ?? '5m';
  const all = datasource === 'loki' ? '.+' : '.*';
  return expr
    .replaceAll('$__rate_interval', interval)
    .replaceAll('$__interval', interval)
    .replaceAll('$__auto', interval)
    .replaceAll('$__range', range)
    .replace(/\$(\w+)/g, (_match, name: string) => variables.values?.[name] ?? (name === 'search' ? '' : all));
}
