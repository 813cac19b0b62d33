//! Shared code of the fuzz targets. `checks` holds what every target asserts and is also compiled
//! into the root crate's `tests/parsers.rs`, which replays `corpus/` without a fuzzer.
pub mod checks;
pub mod patch_gen;
