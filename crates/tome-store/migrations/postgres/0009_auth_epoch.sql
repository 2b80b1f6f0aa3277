-- A counter that every change to who may do what moves forward: users, tenants, memberships,
-- roles and their permissions, sessions, API keys and second factors. A server caches what a
-- credential resolves to, tagged with the counter, and reads the counter once per request, so a
-- revocation, a deactivation or a role change made by any process (or by hand) counts at once.
-- The increment is a deferred trigger: it runs at commit, after every other lock the transaction
-- takes, so two transactions never wait on each other through the counter's row.
CREATE TABLE auth_epoch (
    id smallint PRIMARY KEY CHECK (id = 1),
    value bigint NOT NULL
);
INSERT INTO auth_epoch (id, value) VALUES (1, 0);

CREATE FUNCTION tome_bump_auth_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE auth_epoch SET value = value + 1 WHERE id = 1;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER users_auth_epoch AFTER INSERT OR UPDATE OR DELETE ON users DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tome_bump_auth_epoch();
CREATE CONSTRAINT TRIGGER tenants_auth_epoch AFTER INSERT OR UPDATE OR DELETE ON tenants DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tome_bump_auth_epoch();
CREATE CONSTRAINT TRIGGER memberships_auth_epoch AFTER INSERT OR UPDATE OR DELETE ON memberships DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tome_bump_auth_epoch();
CREATE CONSTRAINT TRIGGER roles_auth_epoch AFTER INSERT OR UPDATE OR DELETE ON roles DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tome_bump_auth_epoch();
CREATE CONSTRAINT TRIGGER permissions_auth_epoch AFTER INSERT OR UPDATE OR DELETE ON permissions DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tome_bump_auth_epoch();
CREATE CONSTRAINT TRIGGER role_permissions_auth_epoch AFTER INSERT OR UPDATE OR DELETE ON role_permissions DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tome_bump_auth_epoch();
CREATE CONSTRAINT TRIGGER user_roles_auth_epoch AFTER INSERT OR UPDATE OR DELETE ON user_roles DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tome_bump_auth_epoch();
CREATE CONSTRAINT TRIGGER auth_sessions_auth_epoch AFTER INSERT OR UPDATE OR DELETE ON auth_sessions DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tome_bump_auth_epoch();
CREATE CONSTRAINT TRIGGER api_keys_auth_epoch AFTER INSERT OR UPDATE OR DELETE ON api_keys DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tome_bump_auth_epoch();
CREATE CONSTRAINT TRIGGER user_two_factor_auth_epoch AFTER INSERT OR UPDATE OR DELETE ON user_two_factor DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tome_bump_auth_epoch();
