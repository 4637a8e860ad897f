-- One database per service, each owned by a role of its own (shop_product, shop_order, …)
-- that can connect to that database only: a service's credentials open nothing else, and
-- the superuser's password stays in the Postgres container. The postgres image runs this
-- with psql when it initialises an empty data directory (Kubernetes: k8s/base/postgres;
-- compose: docker-compose.yml); the roles' passwords come from the container's
-- environment (<SERVICE>_DB_PASSWORD, psql's \getenv). An unset one stops the
-- initialisation with an error naming the psql variable.
--
-- It is idempotent and sets the passwords again, so after adding a name below or
-- changing a password, apply it to an existing deployment with
--   kubectl -n shop exec postgres-0 -- psql -v ON_ERROR_STOP=1 -U shop -d postgres -f /docker-entrypoint-initdb.d/init-databases.sql
--   docker compose exec postgres psql -v ON_ERROR_STOP=1 -U shop -d postgres -f /docker-entrypoint-initdb.d/10-init-databases.sql
-- Tables created before the roles existed stay the superuser's: hand them over with
-- ALTER TABLE … OWNER TO shop_<service> (k8s/README.md), or start from a new volume.
-- %I quotes names that need it: "user" and "order" are SQL keywords.
\getenv product_password PRODUCT_DB_PASSWORD
\getenv order_password ORDER_DB_PASSWORD
\getenv cart_password CART_DB_PASSWORD
\getenv user_password USER_DB_PASSWORD
\getenv payment_password PAYMENT_DB_PASSWORD
\getenv reports_password REPORTS_DB_PASSWORD

CREATE TEMPORARY TABLE service_database (name text PRIMARY KEY, password text NOT NULL);
INSERT INTO service_database VALUES
  ('product', :'product_password'),
  ('order', :'order_password'),
  ('cart', :'cart_password'),
  ('user', :'user_password'),
  ('payment', :'payment_password'),
  ('reports', :'reports_password');

SELECT format('CREATE ROLE %I', 'shop_' || name)
FROM service_database
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'shop_' || name)
\gexec

SELECT format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L', 'shop_' || name, password)
FROM service_database
\gexec

SELECT format('CREATE DATABASE %I OWNER %I', name, 'shop_' || name)
FROM service_database
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = name)
\gexec

-- Databases made before the roles existed change hands too; nobody else may connect.
SELECT format('ALTER DATABASE %I OWNER TO %I', name, 'shop_' || name), format('REVOKE ALL ON DATABASE %I FROM PUBLIC', name)
FROM service_database
\gexec
