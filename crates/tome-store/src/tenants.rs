//! Tenants and their social links.

use async_trait::async_trait;
use tome_domain::identity::{NewTenant, Tenant, TenantPatch};
use tome_domain::organization::{NewSocialLink, SocialLink, SocialLinkPatch};
use tome_domain::repo::TenantRepo;
use tome_domain::{DomainResult, Page, PageRequest, SocialLinkId, TenantId, now};

use crate::SqlStore;
use crate::sql::{Sets, Sql, values};

pub(crate) const TENANT: &str = "id, name, slug, description, is_default, require_two_factor, created_at, updated_at";
const SOCIAL_LINK: &str = "id, tenant_id, url, platform, created_at, updated_at";

#[async_trait]
impl TenantRepo for SqlStore {
    async fn create_tenant(&self, new: NewTenant) -> DomainResult<Tenant> {
        let now = now();
        let id = TenantId::new();
        let values = values![
            "id" => id, "name" => new.name, "slug" => new.slug.as_str(),
            "description" => new.description, "is_default" => new.is_default,
            "created_at" => now, "updated_at" => now,
        ];
        // Every tenant starts with its default persona.
        let statements = vec![Sql::insert("tenants", values, "id"), crate::seed::default_persona(id)];
        self.transaction("tenant", statements).await?;
        self.get_tenant(id).await
    }

    async fn get_tenant(&self, id: TenantId) -> DomainResult<Tenant> {
        self.one("tenant", Sql::new(format!("SELECT {TENANT} FROM tenants WHERE id = ")).bind(id)).await
    }

    async fn get_tenant_by_slug(&self, slug: &str) -> DomainResult<Tenant> {
        self.one("tenant", Sql::new(format!("SELECT {TENANT} FROM tenants WHERE slug = ")).bind(slug)).await
    }

    async fn default_tenant(&self) -> DomainResult<Tenant> {
        self.one("default tenant", Sql::new(format!("SELECT {TENANT} FROM tenants WHERE is_default = ")).bind(true))
            .await
    }

    async fn list_tenants(&self, page: PageRequest) -> DomainResult<Page<Tenant>> {
        let sql = Sql::new(format!("SELECT {TENANT} FROM tenants WHERE 1 = 1"));
        self.page_of("tenant", sql, page, |t: &Tenant| t.id.0).await
    }

    async fn update_tenant(&self, id: TenantId, patch: TenantPatch) -> DomainResult<Tenant> {
        let sets = Sets::default()
            .set("name", patch.name)
            .set("slug", patch.slug.map(|slug| slug.as_str().to_owned()))
            .set("description", patch.description)
            .set("require_two_factor", patch.require_two_factor);
        let sql = Sql::update("tenants", sets.0, now()).push("id = ").bind(id).push(format!(" RETURNING {TENANT}"));
        self.one("tenant", sql).await
    }

    async fn delete_tenant(&self, id: TenantId) -> DomainResult<()> {
        self.exec_one("tenant", Sql::new("DELETE FROM tenants WHERE id = ").bind(id)).await
    }

    async fn create_social_link(&self, tenant: TenantId, new: NewSocialLink) -> DomainResult<SocialLink> {
        let now = now();
        let values = values![
            "id" => SocialLinkId::new(), "tenant_id" => tenant, "url" => new.url,
            "platform" => new.platform.as_str(), "created_at" => now, "updated_at" => now,
        ];
        self.one("social link", Sql::insert("social_links", values, SOCIAL_LINK)).await
    }

    async fn get_social_link(&self, tenant: TenantId, id: SocialLinkId) -> DomainResult<SocialLink> {
        let sql = Sql::new(format!("SELECT {SOCIAL_LINK} FROM social_links WHERE tenant_id = "))
            .bind(tenant)
            .push(" AND id = ")
            .bind(id);
        self.one("social link", sql).await
    }

    async fn list_social_links(&self, tenant: TenantId, page: PageRequest) -> DomainResult<Page<SocialLink>> {
        let sql = Sql::new(format!("SELECT {SOCIAL_LINK} FROM social_links WHERE tenant_id = ")).bind(tenant);
        self.page_of("social link", sql, page, |l: &SocialLink| l.id.0).await
    }

    async fn update_social_link(
        &self,
        tenant: TenantId,
        id: SocialLinkId,
        patch: SocialLinkPatch,
    ) -> DomainResult<SocialLink> {
        let sets = Sets::default().set("url", patch.url).set("platform", patch.platform.map(|p| p.as_str()));
        let sql = Sql::update("social_links", sets.0, now())
            .push("tenant_id = ")
            .bind(tenant)
            .push(" AND id = ")
            .bind(id)
            .push(format!(" RETURNING {SOCIAL_LINK}"));
        self.one("social link", sql).await
    }

    async fn delete_social_link(&self, tenant: TenantId, id: SocialLinkId) -> DomainResult<()> {
        let sql = Sql::new("DELETE FROM social_links WHERE tenant_id = ").bind(tenant).push(" AND id = ").bind(id);
        self.exec_one("social link", sql).await
    }
}
