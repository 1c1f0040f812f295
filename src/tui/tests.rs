//! Rendering and the whole loop against promterm's own API (no terminal: ratatui's
//! TestBackend).
