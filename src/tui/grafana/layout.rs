//! Where each row header and panel of a dashboard goes on the terminal: Grafana's 24 columns
//! become the terminal's width (column edges scaled, so neighbours stay neighbours), one grid
//! row (30 pixels in Grafana) becomes one terminal line, row headers take one line, and a
//! collapsed row is its one header line. Like Grafana's grid, items float up (vertical
//! compaction) so a dashboard with gaps or collapsed rows has none on screen. The canvas is
//! as tall as the dashboard; `Layout::visible` cuts the part a screen shows. Side-by-side
//! copies of a repeated panel share the width equally (Grafana's 24/n columns need not be
//! whole). Uses `model`.

use super::model::{Dashboard, GridPos};

/// Terminal lines per Grafana grid row.
pub const LINES_PER_GRID_ROW: u32 = 1;

/// A rectangle in terminal cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rect {
    pub x: u16,
    pub y: u32,
    pub w: u16,
    pub h: u32,
}

impl Rect {
    pub fn overlaps(&self, o: &Rect) -> bool {
        let (ax, bx) = (u32::from(self.x), u32::from(o.x));
        ax < bx + u32::from(o.w)
            && bx < ax + u32::from(self.w)
            && self.y < o.y + o.h
            && o.y < self.y + self.h
    }
}

/// What sits in a rectangle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    /// Row `row`'s header.
    Header { row: usize },
    /// Panel `panel` of row `row`.
    Panel { row: usize, panel: usize },
}

/// The dashboard laid out on a canvas `width` wide.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Layout {
    pub items: Vec<(Item, Rect)>,
    /// The canvas height in lines.
    pub height: u32,
}

impl Layout {
    /// The items a screen of `height` lines shows when scrolled down by `scroll` lines, moved
    /// to screen coordinates and cut at the screen's edges.
    pub fn visible(&self, scroll: u32, height: u32) -> Vec<(Item, Rect)> {
        let bottom = scroll + height;
        self.items
            .iter()
            .filter(|(_, r)| r.y < bottom && r.y + r.h > scroll && r.w > 0)
            .map(|(i, r)| {
                let top = r.y.max(scroll);
                let end = (r.y + r.h).min(bottom);
                (
                    *i,
                    Rect {
                        x: r.x,
                        y: top - scroll,
                        w: r.w,
                        h: end - top,
                    },
                )
            })
            .collect()
    }
}

/// Terminal column of grid column `c` (0..=24) on a screen `width` wide.
fn column(c: u32, width: u16) -> u16 {
    ((u64::from(c.min(24)) * u64::from(width)) / 24) as u16
}

/// The (column, columns) of a side-by-side repeat copy.
fn slot(d: &Dashboard, item: Item) -> Option<(u32, u32)> {
    let Item::Panel { row, panel } = item else {
        return None;
    };
    let p = d.rows.get(row)?.panels.get(panel)?;
    p.copy.as_ref()?.slot.filter(|(_, cols)| *cols > 0)
}

/// Terminal column of the edge before share `i` of `n` equal ones.
fn share(i: u32, n: u32, width: u16) -> u16 {
    ((u64::from(i.min(n)) * u64::from(width)) / u64::from(n.max(1))) as u16
}

/// Lays `d` out `width` columns wide.
pub fn layout(d: &Dashboard, width: u16) -> Layout {
    // Grid items in order: headers at their row's place, panels of open rows.
    let mut grid: Vec<(Item, GridPos)> = Vec::new();
    let mut after = 0u32;
    for (ri, row) in d.rows.iter().enumerate() {
        if row.title.is_some() {
            let y = row.y.unwrap_or(after).max(after);
            grid.push((
                Item::Header { row: ri },
                GridPos {
                    x: 0,
                    y,
                    w: 24,
                    h: 1,
                },
            ));
            after = y + 1;
        }
        if row.collapsed {
            continue;
        }
        for (pi, p) in row.panels.iter().enumerate() {
            let mut g = p.grid;
            if g.x + g.w > 24 {
                g.w = 24 - g.x.min(23);
            }
            // A panel listed under a header sits below it.
            g.y = g.y.max(after);
            grid.push((Item::Panel { row: ri, panel: pi }, g));
        }
        after = grid
            .iter()
            .map(|(_, g)| g.y + g.h)
            .max()
            .unwrap_or(after)
            .max(after);
    }
    // Stable order by (y, x), then compact upwards.
    grid.sort_by_key(|(_, g)| (g.y, g.x));
    let mut placed: Vec<(Item, GridPos)> = Vec::with_capacity(grid.len());
    let mut floor_after_header = 0u32;
    for (item, g) in grid {
        let top = placed
            .iter()
            .filter(|(_, p)| p.x < g.x + g.w && g.x < p.x + p.w)
            .map(|(_, p)| p.y + p.h)
            .max()
            .unwrap_or(0)
            .max(floor_after_header);
        let g = GridPos { y: top, ..g };
        if matches!(item, Item::Header { .. }) {
            // Nothing may float above a header: it spans the width.
            let bottom = placed.iter().map(|(_, p)| p.y + p.h).max().unwrap_or(0);
            let g = GridPos { y: bottom, ..g };
            floor_after_header = g.y + 1;
            placed.push((item, g));
        } else {
            placed.push((item, g));
        }
    }
    let items: Vec<(Item, Rect)> = placed
        .into_iter()
        .map(|(item, g)| {
            let (left, right) = match slot(d, item) {
                // A side-by-side repeat copy: an equal share of the width, as in Grafana.
                Some((col, cols)) => (share(col, cols, width), share(col + 1, cols, width)),
                None => (column(g.x, width), column(g.x + g.w, width)),
            };
            (
                item,
                Rect {
                    x: left,
                    y: g.y * LINES_PER_GRID_ROW,
                    w: right.saturating_sub(left),
                    h: g.h * LINES_PER_GRID_ROW,
                },
            )
        })
        .collect();
    let height = items.iter().map(|(_, r)| r.y + r.h).max().unwrap_or(0);
    Layout { items, height }
}
