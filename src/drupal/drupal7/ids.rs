//! SCIM ids of Drupal 7 accounts. Drupal 7 has no uuid column, so the id lives in the bridge
//! table (`scim_user.scim_id`): a random uuid for an account SCIM creates, and for an account
//! that existed before, one derived from its uid — the same every time it is read, and written
//! into the bridge the first time SCIM writes the account, so it never changes afterwards.

/// The 24 characters every derived id starts with.
const DERIVED_HEAD: &str = "00000000-0000-4000-8000-";

/// The derived id of a uid: a well-formed (version 4, RFC variant) uuid ending in the uid in hex.
pub fn derived(uid: u32) -> String {
    format!("{DERIVED_HEAD}{uid:012x}")
}

/// The uid a derived id stands for (any case), if it is one.
pub fn uid_of_derived(id: &str) -> Option<u32> {
    let head = id.get(..DERIVED_HEAD.len())?;
    let tail = id.get(DERIVED_HEAD.len()..)?;
    if !head.eq_ignore_ascii_case(DERIVED_HEAD) || tail.len() != 12 || !tail.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(tail, 16).ok()
}

/// SQL for the SCIM id of the account on alias `d` (users) with its bridge row on alias `s`.
pub const ID_SQL: &str =
    "COALESCE(s.`scim_id`, CONCAT('00000000-0000-4000-8000-', LPAD(LOWER(HEX(d.`uid`)), 12, '0')))";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_round_trip_and_are_uuids() {
        assert_eq!(derived(2), "00000000-0000-4000-8000-000000000002");
        assert_eq!(derived(0xdead_beef), "00000000-0000-4000-8000-0000deadbeef");
        assert!(uuid::Uuid::parse_str(&derived(7)).is_ok());
        assert_eq!(uid_of_derived("00000000-0000-4000-8000-00000000002A"), Some(42));
        assert_eq!(uid_of_derived(&derived(u32::MAX)), Some(u32::MAX));
        assert_eq!(uid_of_derived("00000000-0000-4000-8000-010000000000"), None, "beyond u32");
        assert_eq!(uid_of_derived("3bb89aac-5e14-41d9-ae91-2a186ddece7a"), None);
        assert_eq!(uid_of_derived("00000000-0000-4000-8000-00000000002"), None);
        assert_eq!(uid_of_derived("00000000-0000-4000-8000-00000000002g"), None);
    }
}
