//! One file per panel, each with a `draw(app, frame, area)`: `prompt` (and the messages under
//! it), `results` (table and range table), `graph`, `heatmap`, `targets`, `alerts`, `rules`, `metrics`,
//! `overview` (the grid of sparkline panels), `dashboard_view` (a Grafana dashboard, with `dash_varbar` its variable bar and range, `dash_cursor` its time cursor, `dash_full` one
//! of its panels full screen, `dash_list` the dashboards directory's files; its tables, heatmaps, legends and colours in `dash_table`, `dash_heatmap`, `dash_legend`, `dash_color`), `relabel` (a target's relabeling), `status`, `popup` (completion) and `help`; `panel` is the frame they share. Views read the
//! `App` and draw; they change nothing. They use `app`, `data`, `format`, `highlight` and
//! `theme`, never `render` (which lays them out).

pub mod alerts;
pub mod dash_color;
pub mod dash_cursor;
pub mod dash_full;
pub mod dash_heatmap;
pub mod dash_legend;
pub mod dash_list;
pub mod dash_table;
pub mod dash_varbar;
pub mod dashboard_series;
pub mod dashboard_view;
pub mod graph;
pub mod heatmap;
pub mod help;
pub mod metrics;
pub mod overview;
pub mod panel;
pub mod popup;
pub mod prompt;
pub mod relabel;
pub mod results;
pub mod rules;
pub mod status;
pub mod targets;
