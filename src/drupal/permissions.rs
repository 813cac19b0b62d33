//! Drupal permissions that make a role privileged, on every Drupal version: [`crate::drupal::reach`]
//! keeps their holders out of SCIM's reach, and each schema's role listing flags the roles that
//! hold one.

/// Permissions that let their holder take over accounts or give themselves more power; a role
/// holding any of them is privileged, like an administrator role. Drupal core marks each of
/// these `restrict access: true` (or, on Drupal 7, documents it as such), and each leads to a
/// login to any account:
/// - `administer permissions`: grant any permission to any role (user module, 7 and 8+);
/// - `administer users`: edit any account's e-mail, password, roles (user module, 7 and 8+);
/// - `administer modules`, `administer software updates`: install or run code (system module);
/// - `import configuration`, `synchronize configuration`: rewrite the role config itself (config
///   module, 8+);
/// - `use PHP for settings`: run PHP (Drupal 7's php module);
/// - `assign all roles`: the contrib role_delegation module's "grant any role".
pub const ESCALATING_PERMISSIONS: [&str; 8] = [
    "administer permissions",
    "administer users",
    "administer modules",
    "administer software updates",
    "import configuration",
    "synchronize configuration",
    "use PHP for settings",
    "assign all roles",
];

/// Whether a set of permissions makes its role privileged.
pub fn escalates<'a>(mut permissions: impl Iterator<Item = &'a str>) -> bool {
    permissions.any(|p| ESCALATING_PERMISSIONS.contains(&p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escalating_permissions_make_a_role_privileged() {
        assert!(escalates(["access content", "administer users"].into_iter()));
        assert!(escalates(["administer permissions"].into_iter()));
        assert!(!escalates(["access content", "administer nodes", "view user email addresses"].into_iter()));
        assert!(!escalates(std::iter::empty()));
    }
}
