//! `from_body` (POST/PUT normalisation) on arbitrary JSON, for Users and Groups.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = drupal_scim_fuzz::checks::check_resource_body(&body);
    }
});
