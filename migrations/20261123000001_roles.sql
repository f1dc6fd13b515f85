-- Roles the services connect as. Roles are cluster-wide, so creation is
-- idempotent and tolerates a concurrent migration of another database in the
-- same cluster (each test gets its own database).
--
-- didroute_app:      tenant-scoped work. Not superuser, no BYPASSRLS, owns
--                    nothing: row-level security always applies to it.
-- didroute_operator: operator work (inventory, tenants, the event feed,
--                    lifecycle jobs). Also not superuser and no BYPASSRLS; it
--                    sees every row through explicit policies below.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'didroute_app') THEN
        CREATE ROLE didroute_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'didroute_operator') THEN
        CREATE ROLE didroute_operator LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;
