//! What a new installation needs: the permission catalog, the built-in roles, the default
//! tenant and its default persona. Seeding writes these idempotently.

/// Every permission, with what it allows.
pub const PERMISSIONS: &[(&str, &str)] = &[
    ("documents.read", "Read the tenant's shared documents and search them"),
    ("documents.ingest", "Upload documents and re-index one's own"),
    ("documents.manage", "Edit and delete any document of the tenant"),
    ("chat.use", "Hold conversations with the assistant"),
    ("personas.manage", "Create and edit the tenant's personas"),
    ("projects.manage", "Create and edit folders and projects"),
    ("transcriptions.create", "Upload recordings for transcription"),
    ("members.manage", "Add and remove members and assign their roles"),
    ("roles.manage", "Create and edit the tenant's custom roles"),
    ("users.manage", "Activate, deactivate and edit user accounts"),
    ("audit.read", "Read the tenant's audit log"),
    ("feedback.read", "Read and export everyone's ratings of answers"),
    ("usage.read", "Read the tenant's token usage"),
    ("tenant.manage", "Rename the tenant and edit its settings and links"),
];

/// The built-in roles and their permissions (`*`: every permission).
pub const BUILTIN_ROLES: &[(&str, &str, &[&str])] = &[
    ("owner", "Full control of the tenant", &["*"]),
    (
        "admin",
        "Manages members, roles, documents and personas",
        &[
            "documents.read",
            "documents.ingest",
            "documents.manage",
            "chat.use",
            "personas.manage",
            "projects.manage",
            "transcriptions.create",
            "members.manage",
            "roles.manage",
            "users.manage",
            "audit.read",
            "feedback.read",
            "usage.read",
        ],
    ),
    (
        "member",
        "Reads, uploads, chats and transcribes",
        &["documents.read", "documents.ingest", "chat.use", "projects.manage", "transcriptions.create"],
    ),
    ("viewer", "Reads and chats", &["documents.read", "chat.use"]),
];

/// The permissions of one built-in role, expanded.
pub fn builtin_role_permissions(role: &str) -> Vec<&'static str> {
    BUILTIN_ROLES
        .iter()
        .find(|(name, _, _)| *name == role)
        .map(|(_, _, permissions)| {
            if permissions.contains(&"*") {
                PERMISSIONS.iter().map(|(name, _)| *name).collect()
            } else {
                permissions.to_vec()
            }
        })
        .unwrap_or_default()
}

pub const DEFAULT_TENANT_SLUG: &str = "default";
pub const DEFAULT_TENANT_NAME: &str = "Default";
pub const DEFAULT_PERSONA_NAME: &str = "default";
pub const DEFAULT_PERSONA_DISPLAY_NAME: &str = "Tome";
pub const DEFAULT_SYSTEM_PROMPT: &str = "You are Tome, a knowledge assistant. Answer from the numbered passages \
you are given, cite them as [1], [2], …, and say so plainly when they do not contain the answer.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_role_names_only_catalog_permissions() {
        for (role, _, _) in BUILTIN_ROLES {
            for permission in builtin_role_permissions(role) {
                assert!(PERMISSIONS.iter().any(|(name, _)| *name == permission), "{role}: {permission}");
            }
        }
        assert_eq!(builtin_role_permissions("owner").len(), PERMISSIONS.len());
        assert!(!builtin_role_permissions("viewer").contains(&"documents.ingest"));
    }
}
