//! `parse_path` on arbitrary UTF-8: no panic; a parsed path prints and re-parses to itself.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        drupal_scim_fuzz::checks::check_path(text);
    }
});
