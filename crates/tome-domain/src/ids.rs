//! Identifier newtypes: UUIDv7, so that they sort by creation time.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($($name:ident),* $(,)?) => {$(
        #[doc = concat!("Identifier of one `", stringify!($name), "` row (UUIDv7).")]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(transparent))]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh, time-ordered identifier.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    )*};
}

id_type!(
    TenantId,
    UserId,
    MembershipId,
    RoleId,
    PermissionId,
    UserRoleId,
    AuthSessionId,
    PasswordResetTokenId,
    ApiKeyId,
    FolderId,
    ProjectId,
    SocialLinkId,
    DocumentId,
    ChunkId,
    AuditEntryId,
    PersonaId,
    ConversationId,
    MessageId,
    FeedbackId,
    ObjectId,
    TranscriptionJobId,
    JobId,
    InvitationId,
);
