//! Mirroring (doc below).
pub mod jobs;
pub mod map;
pub mod render;
pub mod rules;
pub mod text;
