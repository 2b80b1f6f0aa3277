-- A counter that every change to who may do what moves forward: users, tenants, memberships,
-- roles and their permissions, sessions, API keys and second factors. A server caches what a
-- credential resolves to, tagged with the counter, and reads the counter once per request, so a
-- revocation, a deactivation or a role change made by any process (or by hand) counts at once.
CREATE TABLE auth_epoch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
) STRICT;
INSERT INTO auth_epoch (id, value) VALUES (1, 0);
CREATE TRIGGER users_auth_epoch_insert AFTER INSERT ON users BEGIN UPDATE auth_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER users_auth_epoch_update AFTER UPDATE ON users BEGIN UPDATE auth_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER users_auth_epoch_delete AFTER DELETE ON users BEGIN UPDATE auth_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER tenants_auth_epoch_insert AFTER INSERT ON tenants BEGIN UPDATE auth_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER tenants_auth_epoch_update AFTER UPDATE ON tenants BEGIN UPDATE auth_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER tenants_auth_epoch_delete AFTER DELETE ON tenants BEGIN UPDATE auth_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER memberships_auth_epoch_insert AFTER INSERT ON memberships BEGIN UPDATE auth_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER memberships_auth_epoch_update AFTER UPDATE ON memberships BEGIN UPDATE auth_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER memberships_auth_epoch_delete AFTER DELETE ON memberships BEGIN UPDATE auth_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER roles_auth_epoch_insert AFTER INSERT ON roles BEGIN UPDATE auth_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER roles_auth_epoch_update AFTER UPDATE ON roles BEGIN UPDATE auth_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER roles_auth_epoch_delete AFTER DELETE ON roles BEGIN UPDATE auth_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER permissions_auth_epoch_insert AFTER INSERT ON permissions BEGIN UPDATE auth_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER permissions_auth_epoch_update AFTER UPDATE ON permissions BEGIN UPDATE auth_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER permissions_auth_epoch_delete AFTER DELETE ON permissions BEGIN UPDATE auth_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER role_permissions_auth_epoch_insert AFTER INSERT ON role_permissions BEGIN UPDATE auth_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER role_permissions_auth_epoch_update AFTER UPDATE ON role_permissions BEGIN UPDATE auth_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER role_permissions_auth_epoch_delete AFTER DELETE ON role_permissions BEGIN UPDATE auth_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER user_roles_auth_epoch_insert AFTER INSERT ON user_roles BEGIN UPDATE auth_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER user_roles_auth_epoch_update AFTER UPDATE ON user_roles BEGIN UPDATE auth_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER user_roles_auth_epoch_delete AFTER DELETE ON user_roles BEGIN UPDATE auth_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER auth_sessions_auth_epoch_insert AFTER INSERT ON auth_sessions BEGIN UPDATE auth_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER auth_sessions_auth_epoch_update AFTER UPDATE ON auth_sessions BEGIN UPDATE auth_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER auth_sessions_auth_epoch_delete AFTER DELETE ON auth_sessions BEGIN UPDATE auth_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER api_keys_auth_epoch_insert AFTER INSERT ON api_keys BEGIN UPDATE auth_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER api_keys_auth_epoch_update AFTER UPDATE ON api_keys BEGIN UPDATE auth_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER api_keys_auth_epoch_delete AFTER DELETE ON api_keys BEGIN UPDATE auth_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER user_two_factor_auth_epoch_insert AFTER INSERT ON user_two_factor BEGIN UPDATE auth_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER user_two_factor_auth_epoch_update AFTER UPDATE ON user_two_factor BEGIN UPDATE auth_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER user_two_factor_auth_epoch_delete AFTER DELETE ON user_two_factor BEGIN UPDATE auth_epoch SET value = value + 1 WHERE id = 1; END;
