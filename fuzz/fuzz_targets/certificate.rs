//! Fuzz target `certificate`: see fuzz/src/targets.rs. Errors are fine; a panic is a finding.
#![no_main]

#[allow(dead_code)] // each target uses one of the functions
#[path = "../src/targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::certificate(data));
