//! `Access`: who is acting, in which tenant, with which permissions. The HTTP edge builds
//! it; domain functions decide with it.

use std::collections::BTreeSet;

use crate::{DomainError, TenantId, UserId};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Access {
    pub user_id: UserId,
    pub tenant_id: TenantId,
    pub is_superadmin: bool,
    pub permissions: BTreeSet<String>,
}

impl Access {
    /// Whether this access holds `permission` (superadmins hold every one).
    pub fn can(&self, permission: &str) -> bool {
        self.is_superadmin || self.permissions.contains(permission)
    }

    /// Fails with `Forbidden` naming the missing permission.
    pub fn require(&self, permission: &str) -> Result<(), DomainError> {
        if self.can(permission) {
            Ok(())
        } else {
            Err(DomainError::Forbidden(format!("this needs the permission `{permission}`")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_permission_is_forbidden_unless_superadmin() {
        let mut access = Access {
            user_id: UserId::new(),
            tenant_id: TenantId::new(),
            is_superadmin: false,
            permissions: ["chat.use".to_owned()].into(),
        };
        assert!(access.require("chat.use").is_ok());
        assert!(matches!(access.require("audit.read"), Err(DomainError::Forbidden(_))));
        access.is_superadmin = true;
        assert!(access.require("audit.read").is_ok());
    }
}
