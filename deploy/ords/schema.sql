-- schema.sql: the license table and the REST module the broker reads.
-- Run as the schema owner that ORDS exposes under the alias `page`, then seats.sql,
-- then either ords_security.sql (ORDS 24.3+) or oauth_legacy.sql (before 25.3).
-- ORDS.DEFINE_MODULE replaces the module with its templates, so after re-running this
-- file run seats.sql again.
-- The ords-emulator's default seed (tests/ords-emulator/seeds/article.toml) names the
-- same objects; a test in tests/ords-emulator checks that they agree.

whenever sqlerror exit failure rollback

-- The columns the broker reads: expires_at (DATE, NULL = perpetual) and
-- license_status ('ACTIVE' | 'SUSPENDED' | 'REVOKED'). An expired license stays
-- ACTIVE with expires_at in the past; the broker derives EXPIRED from the date.
-- max_machines: how many machines may hold a seat at once (seats.sql); NULL = no limit.
CREATE TABLE licenses (
  customer_id    NUMBER        NOT NULL,
  product        VARCHAR2(64),
  license_status VARCHAR2(16)  NOT NULL,
  expires_at     DATE,
  updated_at     TIMESTAMP     DEFAULT SYSTIMESTAMP NOT NULL,
  max_machines   NUMBER,
  CONSTRAINT licenses_pk PRIMARY KEY (customer_id),
  CONSTRAINT licenses_status_ck CHECK (license_status IN ('ACTIVE', 'SUSPENDED', 'REVOKED')),
  CONSTRAINT licenses_max_machines_ck CHECK (max_machines >= 0)
);

-- The article's three customers: 1 valid for a year, 2 expired, 3 suspended, all
-- without a machine limit; and 4, valid for a year on at most 2 machines at once.
INSERT INTO licenses (customer_id, product, license_status, expires_at, updated_at, max_machines)
  VALUES (1, 'desktop-pro', 'ACTIVE', TRUNC(SYSDATE, 'MI') + 365, SYSTIMESTAMP, NULL);
INSERT INTO licenses (customer_id, product, license_status, expires_at, updated_at, max_machines)
  VALUES (2, 'desktop-pro', 'ACTIVE', TRUNC(SYSDATE, 'MI') - 30, SYSTIMESTAMP, NULL);
INSERT INTO licenses (customer_id, product, license_status, expires_at, updated_at, max_machines)
  VALUES (3, 'desktop-pro', 'SUSPENDED', TRUNC(SYSDATE, 'MI') + 365, SYSTIMESTAMP, NULL);
INSERT INTO licenses (customer_id, product, license_status, expires_at, updated_at, max_machines)
  VALUES (4, 'desktop-pro', 'ACTIVE', TRUNC(SYSDATE, 'MI') + 365, SYSTIMESTAMP, 2);
COMMIT;

-- ORDS prints DATE values in UTC with a Z; start ORDS with -Duser.timezone=UTC so
-- they are not shifted by the JVM's zone.

DECLARE
  l_roles    OWA.VC_ARR;
  l_patterns OWA.VC_ARR;
  l_modules  OWA.VC_ARR;
BEGIN
  ORDS.ENABLE_SCHEMA(
    p_enabled             => TRUE,
    p_url_mapping_type    => 'BASE_PATH',
    p_url_mapping_pattern => 'page',
    p_auto_rest_auth      => FALSE);

  ORDS.DEFINE_MODULE(
    p_module_name    => 'customers',
    p_base_path      => 'customers/',
    p_items_per_page => 25,
    p_status         => 'PUBLISHED',
    p_comments       => 'License validation for the license broker');

  ORDS.DEFINE_TEMPLATE(
    p_module_name => 'customers',
    p_pattern     => 'validation/:id');

  -- json/item: one flat row plus a "collection" link, 404 when there is no row.
  -- (ORDS.source_type_collection_feed, 'json/collection', would answer 200 with
  -- "items":[] instead; the emulator can serve either.)
  ORDS.DEFINE_HANDLER(
    p_module_name => 'customers',
    p_pattern     => 'validation/:id',
    p_method      => 'GET',
    p_source_type => ORDS.source_type_collection_item,
    p_source      => q'[SELECT customer_id, product, license_status, expires_at, updated_at, max_machines FROM licenses WHERE customer_id = :id]');

  ORDS.CREATE_ROLE(p_role_name => 'license_role');

  l_roles(1)   := 'license_role';
  l_modules(1) := 'customers';
  ORDS.DEFINE_PRIVILEGE(
    p_privilege_name => 'license_priv',
    p_roles          => l_roles,
    p_patterns       => l_patterns,
    p_modules        => l_modules,
    p_label          => 'License validation',
    p_description    => 'Read license rows through customers/validation/:id');

  COMMIT;
END;
/
