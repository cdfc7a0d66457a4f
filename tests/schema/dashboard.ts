// The dashboard JSON model as Grafana's own types describe it (@grafana/schema), made strict
// enough for `satisfies` to reject what Grafana's schema does not have:
//
// - every panel is typed by its plugin: its `options` and `fieldConfig.defaults.custom` are the
//   panel's own generated types, so an unknown key or a wrong type inside them is an error
//   (the generic Panel types both as open records);
// - targets are the schema's DataQuery plus the fields of Grafana's Prometheus query (the one
//   datasource every board uses; its type ships with the Prometheus plugin, not with
//   @grafana/schema): the generic Panel types them as open records too;
// - enums become the string values JSON carries (`Json<T>`).
//
// tests/schema/typescript.py writes one `<board>.ts` per dashboard beside this file:
//   import type { StrictDashboard } from './dashboard';
//   export const board = { ...the JSON... } satisfies StrictDashboard;
// and runs `tsc --strict --noEmit` over them.

import type * as schema from '@grafana/schema';
import type * as bargauge from '@grafana/schema/dist/esm/raw/composable/bargauge/panelcfg/x/BarGaugePanelCfg_types.gen';
import type * as gauge from '@grafana/schema/dist/esm/raw/composable/gauge/panelcfg/x/GaugePanelCfg_types.gen';
import type * as geomap from '@grafana/schema/dist/esm/raw/composable/geomap/panelcfg/x/GeomapPanelCfg_types.gen';
import type * as stat from '@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen';
import type * as statetimeline from '@grafana/schema/dist/esm/raw/composable/statetimeline/panelcfg/x/StateTimelinePanelCfg_types.gen';
import type * as table from '@grafana/schema/dist/esm/raw/composable/table/panelcfg/x/TablePanelCfg_types.gen';
import type * as text from '@grafana/schema/dist/esm/raw/composable/text/panelcfg/x/TextPanelCfg_types.gen';
import type * as timeseries from '@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen';

/** A type as JSON spells it: a string enum by its values, everything else as it is. */
type Json<T> = T extends string
  ? string extends T
    ? string
    : `${T}`
  : T extends number | boolean | null | undefined
    ? T
    : T extends ReadonlyArray<infer U>
      ? Array<Json<U>>
      : T extends object
        ? { [K in keyof T]: Json<T[K]> }
        : T;

/** Grafana's Prometheus query (its dataquery schema) on top of the common DataQuery. */
interface PrometheusQuery extends schema.DataQuery {
  expr: string;
  instant?: boolean;
  range?: boolean;
  exemplar?: boolean;
  editorMode?: 'code' | 'builder';
  format?: 'time_series' | 'table' | 'heatmap';
  legendFormat?: string;
  interval?: string;
}

/** A panel of plugin `T`, with that plugin's options and custom field config. */
type PanelOf<T extends string, Options, Custom = Record<string, never>> = Omit<
  schema.Panel,
  'type' | 'options' | 'fieldConfig' | 'targets'
> & {
  type: T;
  options?: Options;
  fieldConfig?: Omit<schema.FieldConfigSource, 'defaults'> & {
    defaults: Omit<schema.FieldConfig, 'custom'> & { custom?: Custom };
  };
  targets?: PrometheusQuery[];
};

type AnyPanel =
  | PanelOf<'bargauge', bargauge.Options>
  | PanelOf<'gauge', gauge.Options>
  | PanelOf<'geomap', geomap.Options, Record<string, unknown>>
  | PanelOf<'stat', stat.Options>
  | PanelOf<'state-timeline', statetimeline.Options, statetimeline.FieldConfig>
  | PanelOf<'table', table.Options, table.FieldConfig>
  | PanelOf<'text', text.Options>
  | PanelOf<'timeseries', timeseries.Options, timeseries.FieldConfig>;

type Row = Omit<schema.RowPanel, 'panels'> & { panels: AnyPanel[] };

export type StrictDashboard = Json<Omit<schema.Dashboard, 'panels'> & { panels?: Array<AnyPanel | Row> }>;
