//! `parse_filter` on arbitrary UTF-8: no panic; a parsed filter prints and re-parses to the same
//! AST, and evaluating it on sample resources does not panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        drupal_scim_fuzz::checks::check_filter(text);
    }
});
