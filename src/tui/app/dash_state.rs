//! The dashboard view's panel selection: which panel is selected, whether it is shown full
//! screen, and the query picked there. Held by `app::grafana::DashView`, changed by
//! `app::dash_select`. Uses nothing.

/// Which panel is selected and how it is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Selection {
    /// (row, panel in the row).
    pub panel: Option<(usize, usize)>,
    /// Shown over the whole body.
    pub full: bool,
    /// The query picked full screen (its index in the panel's targets).
    pub query: usize,
}
