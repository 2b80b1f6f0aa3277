//! First-start seeding: the permission catalog, built-in roles with their permissions, the
//! default tenant, and a default persona in every tenant. Idempotent: every insert is
//! `ON CONFLICT DO NOTHING`, and built-in role permissions are rewritten to the catalog's.

use tome_domain::catalog::{
    BUILTIN_ROLES, DEFAULT_PERSONA_DISPLAY_NAME, DEFAULT_PERSONA_NAME, DEFAULT_SYSTEM_PROMPT, DEFAULT_TENANT_NAME,
    DEFAULT_TENANT_SLUG, PERMISSIONS, builtin_role_permissions,
};
use tome_domain::identity::{Role, Tenant};
use tome_domain::{DomainResult, PermissionId, PersonaId, RoleId, TenantId, now};

use crate::SqlStore;
use crate::access::ROLE;
use crate::sql::{Sql, values};
use crate::tenants::TENANT;

pub(crate) async fn seed(store: &SqlStore) -> DomainResult<()> {
    let now = now();
    let mut statements = Vec::new();
    for (name, description) in PERMISSIONS {
        let values =
            values!["id" => PermissionId::new(), "name" => *name, "description" => *description, "created_at" => now];
        statements.push(Sql::insert("permissions", values, "id").on_conflict_update("name", &["description"]));
    }
    for (name, description, _) in BUILTIN_ROLES {
        let values = values![
            "id" => RoleId::new(), "tenant_id" => Option::<TenantId>::None, "name" => *name,
            "description" => *description, "created_at" => now, "updated_at" => now,
        ];
        statements.push(on_conflict_do_nothing(Sql::insert("roles", values, "id")));
    }
    let values = values![
        "id" => TenantId::new(), "name" => DEFAULT_TENANT_NAME, "slug" => DEFAULT_TENANT_SLUG,
        "description" => Option::<String>::None, "is_default" => true, "created_at" => now, "updated_at" => now,
    ];
    statements.push(on_conflict_do_nothing(Sql::insert("tenants", values, "id")));
    store.transaction("seed", statements).await?;

    let builtin: Vec<Role> =
        store.all("role", Sql::new(format!("SELECT {ROLE} FROM roles WHERE tenant_id IS NULL"))).await?;
    for role in builtin {
        let wanted: Vec<String> = builtin_role_permissions(&role.name).into_iter().map(str::to_owned).collect();
        store.write_role_permissions(role.id, &wanted).await?;
    }

    let missing: Vec<Tenant> = store
        .all(
            "tenant",
            Sql::new(format!(
                "SELECT {TENANT} FROM tenants t WHERE NOT EXISTS \
                 (SELECT 1 FROM personas p WHERE p.tenant_id = t.id AND p.owner_id IS NULL AND p.name = "
            ))
            .bind(DEFAULT_PERSONA_NAME)
            .push(")"),
        )
        .await?;
    for tenant in missing {
        store.exec("persona", default_persona(tenant.id)).await?;
    }
    Ok(())
}

/// The insert of a tenant's default persona (read-only to users: it has no owner).
pub(crate) fn default_persona(tenant: TenantId) -> Sql {
    let now = now();
    let values = values![
        "id" => PersonaId::new(), "tenant_id" => tenant, "name" => DEFAULT_PERSONA_NAME,
        "display_name" => DEFAULT_PERSONA_DISPLAY_NAME, "system_prompt" => DEFAULT_SYSTEM_PROMPT,
        "default_temperature" => 0.2, "max_tokens" => 1024, "is_active" => true,
        "created_at" => now, "updated_at" => now,
    ];
    on_conflict_do_nothing(Sql::insert("personas", values, "id"))
}

fn on_conflict_do_nothing(insert: Sql) -> Sql {
    insert.before_returning(" ON CONFLICT DO NOTHING")
}
