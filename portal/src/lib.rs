//! The sandbox portal: the reference server of the confirmation protocol.
//!
//! Empty on purpose until the protocol is written (docs/protocol.md). Its accounts will be seeded
//! from the same persons file as the virtual card, `vcard/persons.toml`.
