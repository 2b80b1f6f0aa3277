//! Organization records: folders (a tree with materialized paths), projects, social links.

use serde::{Deserialize, Serialize};

use crate::{FolderId, ProjectId, SocialLinkId, TenantId, Timestamp, UserId, text_enum};

/// A folder; `path` is the names from the root joined by `/`, starting with `/`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct Folder {
    pub id: FolderId,
    pub tenant_id: TenantId,
    pub parent_id: Option<FolderId>,
    pub name: String,
    pub path: String,
    pub created_by: Option<UserId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug)]
pub struct NewFolder {
    pub parent_id: Option<FolderId>,
    pub name: String,
    pub created_by: Option<UserId>,
}

/// Rename and/or move; moving under one's own subtree is refused.
#[derive(Clone, Debug, Default)]
pub struct FolderPatch {
    pub name: Option<String>,
    pub parent_id: Option<Option<FolderId>>,
}

/// A project groups documents and conversations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct Project {
    pub id: ProjectId,
    pub tenant_id: TenantId,
    pub folder_id: Option<FolderId>,
    pub name: String,
    pub description: Option<String>,
    pub icon: Option<String>,
    pub created_by: Option<UserId>,
    pub last_modified_by: Option<UserId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug)]
pub struct NewProject {
    pub folder_id: Option<FolderId>,
    pub name: String,
    pub description: Option<String>,
    pub icon: Option<String>,
    pub created_by: Option<UserId>,
}

#[derive(Clone, Debug)]
pub struct ProjectPatch {
    pub modified_by: UserId,
    pub folder_id: Option<Option<FolderId>>,
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub icon: Option<Option<String>>,
}

#[derive(Clone, Debug, Default)]
pub struct ProjectFilter {
    pub folder_id: Option<FolderId>,
}

text_enum!(
    /// The platforms a tenant may link to.
    SocialPlatform {
        Twitter => "twitter",
        Facebook => "facebook",
        Linkedin => "linkedin",
        Instagram => "instagram",
        Youtube => "youtube",
    }
);

/// A link from a tenant to one of its social profiles.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct SocialLink {
    pub id: SocialLinkId,
    pub tenant_id: TenantId,
    pub url: String,
    #[cfg_attr(feature = "sqlx", sqlx(try_from = "String"))]
    pub platform: SocialPlatform,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug)]
pub struct NewSocialLink {
    pub url: String,
    pub platform: SocialPlatform,
}

#[derive(Clone, Debug, Default)]
pub struct SocialLinkPatch {
    pub url: Option<String>,
    pub platform: Option<SocialPlatform>,
}
