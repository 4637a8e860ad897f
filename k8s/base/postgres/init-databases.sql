-- One database per service, so that each service owns its schema and migrations. The
-- postgres image runs this with psql when it initialises an empty data directory
-- (Kubernetes: k8s/base/postgres; compose: docker-compose.yml). It is idempotent, so
-- after adding a name below, apply it to an existing deployment with
--   kubectl -n shop exec postgres-0 -- psql -U shop -d postgres -f /docker-entrypoint-initdb.d/init-databases.sql
--   docker compose exec postgres psql -U shop -d postgres -f /docker-entrypoint-initdb.d/10-init-databases.sql
-- %I quotes names that need it: "user" and "order" are SQL keywords.
SELECT format('CREATE DATABASE %I', name)
FROM unnest(ARRAY['product', 'order', 'cart', 'user', 'payment', 'reports']) AS name
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = name)
\gexec
