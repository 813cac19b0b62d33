//! PATCH bodies through `parse_request` + `apply` on a sample User and a sample Group.
//!
//! An input that is a JSON document is used as the body as it is (the committed seeds are real
//! Entra/Okta bodies, and byte mutations of them stay close to what clients send). Any other input
//! drives a structured generator (`patch_gen`) that builds a body from a vocabulary of op names,
//! paths and values.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let body = match serde_json::from_slice::<serde_json::Value>(data) {
        Ok(body) => body,
        Err(_) => {
            let mut u = arbitrary::Unstructured::new(data);
            match drupal_scim_fuzz::patch_gen::body(&mut u) {
                Ok(body) => body,
                Err(_) => return,
            }
        }
    };
    let _ = drupal_scim_fuzz::checks::check_patch_body(&body);
});
