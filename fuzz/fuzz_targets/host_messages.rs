//! Fuzz target `host_messages`: see fuzz/src/host_messages.rs. Errors are fine; a panic is a
//! finding.
#![no_main]

#[path = "../src/host_messages.rs"]
mod host_messages;

libfuzzer_sys::fuzz_target!(|data: &[u8]| host_messages::host_messages(data));
