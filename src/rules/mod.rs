//! Recording and alerting rules: rule groups evaluated on their own schedules, the alert state
//! machine, templates for alert labels and annotations, and notifications to Alertmanager.
//!
//! Uses `model`, `config`, `storage` and `promql`.

pub mod group;
pub mod notifier;
pub mod template;
