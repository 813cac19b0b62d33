//! SCIM attribute definitions (RFC 7643 §2, §4, §7): the static schemas of User, Group and the
//! enterprise User extension, the message schema URNs, and case-insensitive attribute lookup.
//!
//! The tables are plain `static` data built with small `const` helpers so that the PATCH engine,
//! the `/Schemas` endpoint and attribute projection all read the same definitions.

use serde_json::{Map, Value, json};

use crate::scim::path::AttrPath;

/// Core User schema URN.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// Core Group schema URN.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// Enterprise User extension schema URN.
pub const ENTERPRISE_USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// List response message URN.
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// PATCH request message URN.
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// Error response message URN.
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// `.search` request message URN.
pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
/// Bulk request message URN.
pub const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
/// Bulk response message URN.
pub const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
/// ServiceProviderConfig resource schema URN.
pub const SERVICE_PROVIDER_CONFIG_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
/// ResourceType resource schema URN.
pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
/// Schema resource schema URN.
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// The data type of an attribute (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Reference,
    Complex,
    Binary,
}

impl AttrType {
    /// The wire spelling used in `/Schemas`, e.g. `dateTime`.
    pub fn as_str(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Boolean => "boolean",
            AttrType::Decimal => "decimal",
            AttrType::Integer => "integer",
            AttrType::DateTime => "dateTime",
            AttrType::Reference => "reference",
            AttrType::Complex => "complex",
            AttrType::Binary => "binary",
        }
    }
}

/// Whether and when an attribute may be written (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

impl Mutability {
    /// The wire spelling, e.g. `readOnly`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        }
    }
}

/// When an attribute appears in responses (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

impl Returned {
    /// The wire spelling, e.g. `default`.
    pub fn as_str(self) -> &'static str {
        match self {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        }
    }
}

/// The uniqueness guarantee of an attribute value (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    None,
    Server,
    Global,
}

impl Uniqueness {
    /// The wire spelling, e.g. `server`.
    pub fn as_str(self) -> &'static str {
        match self {
            Uniqueness::None => "none",
            Uniqueness::Server => "server",
            Uniqueness::Global => "global",
        }
    }
}

/// One attribute definition (RFC 7643 §7), possibly with sub-attributes when complex.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttributeDef {
    pub name: &'static str,
    pub attr_type: AttrType,
    pub multi_valued: bool,
    pub description: &'static str,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    pub canonical_values: &'static [&'static str],
    pub reference_types: &'static [&'static str],
    pub sub_attributes: &'static [AttributeDef],
}

/// A schema (RFC 7643 §7): its URN, a name and its top-level attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaDef {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub attributes: &'static [AttributeDef],
}

// ---- const builders: every table entry starts from the RFC defaults (§2.2) ----

/// An attribute with the RFC 7643 §2.2 defaults: single-valued, optional, case-insensitive,
/// readWrite, returned by default, not unique.
const fn attr(name: &'static str, attr_type: AttrType, description: &'static str) -> AttributeDef {
    AttributeDef {
        name,
        attr_type,
        multi_valued: false,
        description,
        required: false,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        returned: Returned::Default,
        uniqueness: Uniqueness::None,
        canonical_values: &[],
        reference_types: &[],
        sub_attributes: &[],
    }
}

const fn string(name: &'static str, description: &'static str) -> AttributeDef {
    attr(name, AttrType::String, description)
}

const fn boolean(name: &'static str, description: &'static str) -> AttributeDef {
    attr(name, AttrType::Boolean, description)
}

const fn reference(name: &'static str, types: &'static [&'static str], description: &'static str) -> AttributeDef {
    attr(name, AttrType::Reference, description).refs(types)
}

const fn complex(name: &'static str, subs: &'static [AttributeDef], description: &'static str) -> AttributeDef {
    let mut a = attr(name, AttrType::Complex, description);
    a.sub_attributes = subs;
    a
}

impl AttributeDef {
    const fn multi(mut self) -> Self {
        self.multi_valued = true;
        self
    }
    const fn req(mut self) -> Self {
        self.required = true;
        self
    }
    const fn exact(mut self) -> Self {
        self.case_exact = true;
        self
    }
    const fn mutable(mut self, m: Mutability) -> Self {
        self.mutability = m;
        self
    }
    const fn ret(mut self, r: Returned) -> Self {
        self.returned = r;
        self
    }
    const fn unique(mut self, u: Uniqueness) -> Self {
        self.uniqueness = u;
        self
    }
    const fn canon(mut self, values: &'static [&'static str]) -> Self {
        self.canonical_values = values;
        self
    }
    const fn refs(mut self, types: &'static [&'static str]) -> Self {
        self.reference_types = types;
        self
    }
    /// Shorthand for `mutable(Mutability::ReadOnly)`.
    const fn read_only(self) -> Self {
        self.mutable(Mutability::ReadOnly)
    }

    /// Looks a sub-attribute up by name, case-insensitively.
    pub fn sub(&self, name: &str) -> Option<&'static AttributeDef> {
        find(self.sub_attributes, name)
    }

    /// True for `complex` attributes.
    pub fn is_complex(&self) -> bool {
        self.attr_type == AttrType::Complex
    }

    /// The `/Schemas` representation of this attribute (RFC 7643 §7).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name));
        m.insert("type".into(), json!(self.attr_type.as_str()));
        m.insert("multiValued".into(), json!(self.multi_valued));
        m.insert("description".into(), json!(self.description));
        m.insert("required".into(), json!(self.required));
        // caseExact, canonicalValues and uniqueness only mean something for non-complex values.
        if !self.is_complex() {
            m.insert("caseExact".into(), json!(self.case_exact));
        }
        if !self.canonical_values.is_empty() {
            m.insert("canonicalValues".into(), json!(self.canonical_values));
        }
        if !self.reference_types.is_empty() {
            m.insert("referenceTypes".into(), json!(self.reference_types));
        }
        m.insert("mutability".into(), json!(self.mutability.as_str()));
        m.insert("returned".into(), json!(self.returned.as_str()));
        if !self.is_complex() {
            m.insert("uniqueness".into(), json!(self.uniqueness.as_str()));
        }
        if !self.sub_attributes.is_empty() {
            let subs: Vec<Value> = self.sub_attributes.iter().map(AttributeDef::to_json).collect();
            m.insert("subAttributes".into(), Value::Array(subs));
        }
        Value::Object(m)
    }
}

impl SchemaDef {
    /// Looks a top-level attribute up by name, case-insensitively.
    pub fn attribute(&self, name: &str) -> Option<&'static AttributeDef> {
        find(self.attributes, name)
    }

    /// The `/Schemas/{id}` resource body, without `meta` (the server knows its base URL).
    pub fn to_json(&self) -> Value {
        let attrs: Vec<Value> = self.attributes.iter().map(AttributeDef::to_json).collect();
        json!({
            "schemas": [SCHEMA_SCHEMA],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": attrs,
        })
    }
}

/// Finds an attribute by name, ignoring ASCII case (attribute names are case-insensitive, §2.1).
pub fn find<'a>(attrs: &'a [AttributeDef], name: &str) -> Option<&'a AttributeDef> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

// ---- common attributes (RFC 7643 §3.1) ----

const META_SUBS: &[AttributeDef] = &[
    string("resourceType", "Name of the resource type of this resource.").exact().read_only(),
    attr("created", AttrType::DateTime, "When the resource was added to the service provider.").read_only(),
    attr("lastModified", AttrType::DateTime, "When the resource was last changed.").read_only(),
    reference("location", &["uri"], "URI of the resource.").exact().read_only(),
    string("version", "Entity tag (ETag) version of the resource.").exact().read_only(),
];

/// Attributes every resource has regardless of schema: `id`, `externalId`, `meta` (§3.1).
pub static COMMON: &[AttributeDef] = &[
    string("id", "Service-provider-issued unique identifier of the resource.")
        .exact()
        .read_only()
        .ret(Returned::Always)
        .unique(Uniqueness::Server),
    string("externalId", "Identifier of the resource as known to the provisioning client.").exact(),
    complex("meta", META_SUBS, "Resource metadata maintained by the service provider.").read_only(),
];

// ---- User (RFC 7643 §4.1) ----

const NAME_SUBS: &[AttributeDef] = &[
    string("formatted", "Full name formatted for display."),
    string("familyName", "Family (last) name."),
    string("givenName", "Given (first) name."),
    string("middleName", "Middle name(s)."),
    string("honorificPrefix", "Title prefix such as Ms. or Dr."),
    string("honorificSuffix", "Suffix such as III or Jr."),
];

const EMAIL_SUBS: &[AttributeDef] = &[
    string("value", "Email address, canonicalized per RFC 5321."),
    string("display", "Human-readable label of the address."),
    string("type", "Kind of address, e.g. work or home.").canon(&["work", "home", "other"]),
    boolean("primary", "Whether this is the preferred address."),
];

const PHONE_SUBS: &[AttributeDef] = &[
    string("value", "Phone number, ideally in RFC 3966 form."),
    string("display", "Human-readable label of the number."),
    string("type", "Kind of number, e.g. work or mobile.").canon(&["work", "home", "mobile", "fax", "pager", "other"]),
    boolean("primary", "Whether this is the preferred number."),
];

const IM_SUBS: &[AttributeDef] = &[
    string("value", "Instant messaging address."),
    string("display", "Human-readable label of the address."),
    string("type", "Messaging service, e.g. xmpp.")
        .canon(&["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"]),
    boolean("primary", "Whether this is the preferred address."),
];

const PHOTO_SUBS: &[AttributeDef] = &[
    reference("value", &["external"], "URL of an image of the user.").exact(),
    string("display", "Human-readable label of the image."),
    string("type", "Kind of image, photo or thumbnail.").canon(&["photo", "thumbnail"]),
    boolean("primary", "Whether this is the preferred image."),
];

const ADDRESS_SUBS: &[AttributeDef] = &[
    string("formatted", "Full mailing address formatted for display."),
    string("streetAddress", "Street part of the address."),
    string("locality", "City or locality."),
    string("region", "State or region."),
    string("postalCode", "Postal or zip code."),
    string("country", "Country, as an ISO 3166-1 alpha-2 code."),
    string("type", "Kind of address, e.g. work or home.").canon(&["work", "home", "other"]),
    boolean("primary", "Whether this is the preferred address."),
];

const GROUPS_SUBS: &[AttributeDef] = &[
    string("value", "Identifier of the group.").exact().read_only(),
    reference("$ref", &["User", "Group"], "URI of the group resource.").exact().read_only(),
    string("display", "Display name of the group.").read_only(),
    string("type", "Direct or indirect membership.").canon(&["direct", "indirect"]).read_only(),
];

const GENERIC_SUBS: &[AttributeDef] = &[
    string("value", "The value."),
    string("display", "Human-readable label of the value."),
    string("type", "Kind of value."),
    boolean("primary", "Whether this is the preferred value."),
];

const CERT_SUBS: &[AttributeDef] = &[
    attr("value", AttrType::Binary, "DER-encoded X.509 certificate, base64."),
    string("display", "Human-readable label of the certificate."),
    string("type", "Kind of certificate."),
    boolean("primary", "Whether this is the preferred certificate."),
];

const USER_ATTRS: &[AttributeDef] = &[
    string("userName", "Unique identifier the user signs in with.").req().unique(Uniqueness::Server),
    complex("name", NAME_SUBS, "Components of the user's real name."),
    string("displayName", "Name of the user suitable for display."),
    string("nickName", "Casual name of the user."),
    reference("profileUrl", &["external"], "URL of the user's online profile."),
    string("title", "Job title."),
    string("userType", "Relationship of the user to the organization, e.g. Employee."),
    string("preferredLanguage", "Preferred written or spoken language (Accept-Language form)."),
    string("locale", "Default location for localizing dates, currency and so on."),
    string("timezone", "Time zone in IANA (Olson) form, e.g. Europe/Berlin."),
    boolean("active", "Whether the user may sign in."),
    string("password", "Clear-text password; only ever written, never returned.")
        .exact()
        .mutable(Mutability::WriteOnly)
        .ret(Returned::Never),
    complex("emails", EMAIL_SUBS, "Email addresses of the user.").multi(),
    complex("phoneNumbers", PHONE_SUBS, "Phone numbers of the user.").multi(),
    complex("ims", IM_SUBS, "Instant messaging addresses of the user.").multi(),
    complex("photos", PHOTO_SUBS, "Images of the user.").multi(),
    complex("addresses", ADDRESS_SUBS, "Physical mailing addresses of the user.").multi(),
    complex("groups", GROUPS_SUBS, "Groups the user belongs to, maintained by the server.").multi().read_only(),
    complex("entitlements", GENERIC_SUBS, "Entitlements the user has.").multi(),
    complex("roles", GENERIC_SUBS, "Roles the user has.").multi(),
    complex("x509Certificates", CERT_SUBS, "Certificates issued to the user.").multi(),
];

/// The core User schema (RFC 7643 §4.1).
pub static USER: SchemaDef =
    SchemaDef { id: USER_SCHEMA, name: "User", description: "User Account", attributes: USER_ATTRS };

// ---- Enterprise User extension (RFC 7643 §4.3) ----

const MANAGER_SUBS: &[AttributeDef] = &[
    string("value", "Identifier of the manager's User resource.").exact(),
    reference("$ref", &["User"], "URI of the manager's User resource.").exact(),
    string("displayName", "Display name of the manager.").read_only(),
];

const ENTERPRISE_ATTRS: &[AttributeDef] = &[
    string("employeeNumber", "Organization-assigned employee number."),
    string("costCenter", "Cost center."),
    string("organization", "Organization name."),
    string("division", "Division name."),
    string("department", "Department name."),
    complex("manager", MANAGER_SUBS, "The user's manager."),
];

/// The enterprise User extension (RFC 7643 §4.3).
pub static ENTERPRISE_USER: SchemaDef = SchemaDef {
    id: ENTERPRISE_USER_SCHEMA,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attributes: ENTERPRISE_ATTRS,
};

// ---- Group (RFC 7643 §4.2) ----

const MEMBER_SUBS: &[AttributeDef] = &[
    string("value", "Identifier of the member resource.").exact().mutable(Mutability::Immutable),
    reference("$ref", &["User", "Group"], "URI of the member resource.").exact().mutable(Mutability::Immutable),
    string("display", "Display name of the member."),
    string("type", "Kind of member, User or Group.").canon(&["User", "Group"]).mutable(Mutability::Immutable),
];

const GROUP_ATTRS: &[AttributeDef] = &[
    string("displayName", "Name of the group suitable for display.").req(),
    complex("members", MEMBER_SUBS, "Users and groups that belong to the group.").multi(),
];

/// The core Group schema (RFC 7643 §4.2).
pub static GROUP: SchemaDef =
    SchemaDef { id: GROUP_SCHEMA, name: "Group", description: "Group", attributes: GROUP_ATTRS };

// ---- resource types and path resolution ----

/// A resource type's schemas: the core schema plus the extensions it may carry.
#[derive(Debug, Clone, Copy)]
pub struct ResourceSchema {
    pub core: &'static SchemaDef,
    pub extensions: &'static [&'static SchemaDef],
}

/// User resources: core User plus the enterprise extension.
pub const USER_RESOURCE: ResourceSchema = ResourceSchema { core: &USER, extensions: &[&ENTERPRISE_USER] };

/// Group resources: core Group, no extensions.
pub const GROUP_RESOURCE: ResourceSchema = ResourceSchema { core: &GROUP, extensions: &[] };

/// Where an attribute path points: the schema it belongs to and the canonical definitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved {
    /// URN of the schema the attribute belongs to (the core URN for common attributes).
    pub schema: &'static str,
    /// True when `schema` is an extension, so the attribute lives under `resource[schema]`.
    pub extension: bool,
    /// The top-level attribute; `attr.name` is its canonical spelling.
    pub attr: &'static AttributeDef,
    /// The sub-attribute when the path had one; `sub.name` is its canonical spelling.
    pub sub: Option<&'static AttributeDef>,
}

impl Resolved {
    /// Canonical dotted name, e.g. `name.givenName` (without URN), for messages and keys.
    pub fn display_name(&self) -> String {
        match self.sub {
            Some(s) => format!("{}.{}", self.attr.name, s.name),
            None => self.attr.name.to_string(),
        }
    }
}

impl ResourceSchema {
    /// URNs of the core schema and every extension, core first.
    pub fn schema_ids(&self) -> Vec<&'static str> {
        std::iter::once(self.core.id).chain(self.extensions.iter().map(|s| s.id)).collect()
    }

    /// The extension whose URN equals `urn` (case-insensitively).
    pub fn extension(&self, urn: &str) -> Option<&'static SchemaDef> {
        self.extensions.iter().copied().find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// Resolves a path to its definitions; `None` when the attribute or sub-attribute is unknown
    /// or the URN is not one of this resource's schemas. The value filter is not inspected.
    pub fn resolve(&self, path: &AttrPath) -> Option<Resolved> {
        let (schema, extension, attr) = match &path.urn {
            Some(urn) => self.lookup_qualified(urn, &path.attr)?,
            None => self.lookup_unqualified(&path.attr)?,
        };
        let sub = match &path.sub {
            // Only complex attributes have sub-attributes; `userName.x` is simply unknown.
            Some(name) => Some(attr.sub(name)?),
            None => None,
        };
        Some(Resolved { schema, extension, attr, sub })
    }

    /// Unqualified names: common attributes, then core, then extensions in order (§3.10).
    fn lookup_unqualified(&self, name: &str) -> Option<(&'static str, bool, &'static AttributeDef)> {
        if let Some(a) = find(COMMON, name).or_else(|| self.core.attribute(name)) {
            return Some((self.core.id, false, a));
        }
        self.extensions.iter().find_map(|ext| ext.attribute(name).map(|a| (ext.id, true, a)))
    }

    /// URN-qualified names resolve only within that schema; the core URN also covers the
    /// common attributes because clients qualify `id`/`externalId` with it.
    fn lookup_qualified(&self, urn: &str, name: &str) -> Option<(&'static str, bool, &'static AttributeDef)> {
        if self.core.id.eq_ignore_ascii_case(urn) {
            let a = find(COMMON, name).or_else(|| self.core.attribute(name))?;
            return Some((self.core.id, false, a));
        }
        let ext = self.extension(urn)?;
        ext.attribute(name).map(|a| (ext.id, true, a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(urn: Option<&str>, attr: &str, sub: Option<&str>) -> AttrPath {
        AttrPath { urn: urn.map(str::to_string), attr: attr.to_string(), filter: None, sub: sub.map(str::to_string) }
    }

    #[test]
    fn find_is_case_insensitive() {
        assert_eq!(find(USER.attributes, "USERNAME").map(|a| a.name), Some("userName"));
        assert_eq!(find(USER.attributes, "nope"), None);
    }

    #[test]
    fn user_name_definition() {
        let a = USER.attribute("userName").unwrap();
        assert!(a.required && !a.case_exact);
        assert_eq!(a.uniqueness, Uniqueness::Server);
    }

    #[test]
    fn user_table_is_complete() {
        let names: Vec<_> = USER.attributes.iter().map(|a| a.name).collect();
        for n in [
            "userName",
            "name",
            "displayName",
            "nickName",
            "profileUrl",
            "title",
            "userType",
            "preferredLanguage",
            "locale",
            "timezone",
            "active",
            "password",
            "emails",
            "phoneNumbers",
            "ims",
            "photos",
            "addresses",
            "groups",
            "entitlements",
            "roles",
            "x509Certificates",
        ] {
            assert!(names.contains(&n), "{n} missing");
        }
        let addr = USER.attribute("addresses").unwrap();
        for n in ["formatted", "streetAddress", "locality", "region", "postalCode", "country"] {
            assert!(addr.sub(n).is_some(), "addresses.{n} missing");
        }
    }

    #[test]
    fn password_is_write_only_never_returned() {
        let p = USER.attribute("password").unwrap();
        assert_eq!(p.mutability, Mutability::WriteOnly);
        assert_eq!(p.returned, Returned::Never);
    }

    #[test]
    fn common_attributes() {
        let id = find(COMMON, "id").unwrap();
        assert_eq!((id.mutability, id.returned, id.case_exact), (Mutability::ReadOnly, Returned::Always, true));
        let ext = find(COMMON, "externalId").unwrap();
        assert_eq!((ext.mutability, ext.case_exact), (Mutability::ReadWrite, true));
        let meta = find(COMMON, "meta").unwrap();
        assert!(meta.is_complex() && meta.sub("lastModified").is_some());
    }

    #[test]
    fn group_members_value_is_immutable() {
        let m = GROUP.attribute("members").unwrap();
        assert!(m.multi_valued);
        assert_eq!(m.sub("value").unwrap().mutability, Mutability::Immutable);
        assert!(GROUP.attribute("displayName").unwrap().required);
    }

    #[test]
    fn resolve_unqualified_core_common_and_extension() {
        let r = USER_RESOURCE.resolve(&path(None, "NAME", Some("GIVENNAME"))).unwrap();
        assert_eq!(
            (r.schema, r.extension, r.attr.name, r.sub.map(|s| s.name)),
            (USER_SCHEMA, false, "name", Some("givenName"))
        );
        let r = USER_RESOURCE.resolve(&path(None, "ID", None)).unwrap();
        assert_eq!(r.attr.name, "id");
        let r = USER_RESOURCE.resolve(&path(None, "department", None)).unwrap();
        assert_eq!((r.schema, r.extension), (ENTERPRISE_USER_SCHEMA, true));
    }

    #[test]
    fn resolve_qualified() {
        let urn = "URN:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let r = USER_RESOURCE.resolve(&path(Some(urn), "Manager", Some("value"))).unwrap();
        assert_eq!(
            (r.schema, r.attr.name, r.display_name()),
            (ENTERPRISE_USER_SCHEMA, "manager", "manager.value".to_string())
        );
        let r = USER_RESOURCE.resolve(&path(Some(USER_SCHEMA), "externalId", None)).unwrap();
        assert!(!r.extension && r.attr.name == "externalId");
        // Qualified lookups stay within the named schema.
        assert!(USER_RESOURCE.resolve(&path(Some(USER_SCHEMA), "department", None)).is_none());
        assert!(USER_RESOURCE.resolve(&path(Some(urn), "userName", None)).is_none());
        assert!(GROUP_RESOURCE.resolve(&path(Some(urn), "department", None)).is_none());
    }

    #[test]
    fn resolve_unknown() {
        assert!(USER_RESOURCE.resolve(&path(None, "foo", None)).is_none());
        assert!(USER_RESOURCE.resolve(&path(None, "userName", Some("x"))).is_none());
        assert!(USER_RESOURCE.resolve(&path(None, "name", Some("nope"))).is_none());
    }

    #[test]
    fn schema_json_shape() {
        let j = ENTERPRISE_USER.to_json();
        assert_eq!(j["id"], ENTERPRISE_USER_SCHEMA);
        let manager = &j["attributes"][5];
        assert_eq!(manager["name"], "manager");
        assert_eq!(manager["subAttributes"][2]["mutability"], "readOnly");
        assert!(manager.get("caseExact").is_none());
    }
}
