//! The confirmation protocol client and the flow that drives a confirmation.
//!
//! Empty on purpose: it is written once the sandbox portal defines the protocol (docs/protocol.md).
//! Nothing here pretends to talk to a portal yet.
