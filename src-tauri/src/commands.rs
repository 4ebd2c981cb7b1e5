//! The Tauri commands, a few lines each over `client` and `signing`.

pub mod cards;
pub mod confirm;
pub mod consent;
pub mod modules;
pub mod pin;
pub mod portal;
pub mod settings;
pub mod sign;
pub mod trust;
pub mod verify;
