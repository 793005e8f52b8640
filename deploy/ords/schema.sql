-- schema.sql: the license table and the REST module the broker reads.
-- Run as the schema owner that ORDS exposes under the alias `page`, then seats.sql,
-- then either ords_security.sql (ORDS 24.3+) or oauth_legacy.sql (before 25.3).
-- Re-runnable: ORDS.DEFINE_MODULE replaces the module with its templates, so after
-- re-running this file run seats.sql again.
-- The ords-emulator's default seed (tests/ords-emulator/seeds/article.toml) names the
-- same objects; a test in tests/ords-emulator checks that they agree.

whenever sqlerror exit failure rollback

-- The columns the broker reads: expires_at (DATE, NULL = perpetual) and
-- license_status ('ACTIVE' | 'SUSPENDED' | 'REVOKED'). An expired license stays
-- ACTIVE with expires_at in the past; the broker derives EXPIRED from the date.
-- max_machines: how many machines may hold a seat at once (seats.sql); NULL = no limit.
-- A whole number from 0 to 4294967295 (the CHECK constraint): the broker reads it as
-- an unsigned 32-bit integer, and a value it cannot read (2.5, 1e10) would make every
-- validation of that license an upstream error.
-- Times are UTC: write expires_at as the UTC wall-clock time (a DATE keeps no zone, and
-- SYSDATE and SYSTIMESTAMP follow the database host's zone), as the samples below do.
-- entitlements: what the license lets the app do, a comma-separated list of names
-- matching [a-z0-9][a-z0-9._-]{0,63} ('export,sync'); NULL = none. ORDS prints it as a
-- JSON string or null.
-- expiry_strategy: what expiry means. REVOKE_ACCESS (also NULL): nothing works after
-- expires_at. MAINTAIN_ACCESS: builds released before expires_at keep working (a
-- perpetual-fallback license; Keygen's expiration strategy of the same name,
-- https://keygen.sh/docs/api/policies/#policies-object-attrs-expirationStrategy).
-- key_serial: the serial of the license's current key, a whole number from 0 to
-- 4294967295; NULL = 0, the key every license was issued first. Raise it to replace a
-- leaked key (`license-broker issue-key --customer-id ID --serial N`): a key of
-- another serial licenses nothing (deploy/README.md, "A key leaked").
--
-- Re-runnable: every object is looked up before it is created, so a re-run creates
-- nothing that exists: the table (user_tables), the columns a table from before them
-- lacks (user_tab_columns), the role (user_ords_roles). The exception handlers stay as
-- a backstop for a run racing another (ORA-00955: name is already used by an existing
-- object; ORA-01430: column being added already exists in table). Each sample row is
-- inserted only when its customer_id is free. Existing rows are never changed.
DECLARE
  e_exists EXCEPTION;
  PRAGMA EXCEPTION_INIT(e_exists, -955);
  l_found PLS_INTEGER;
BEGIN
  SELECT COUNT(*) INTO l_found
    FROM user_tables
   WHERE table_name = 'LICENSES';
  IF l_found > 0 THEN
    RETURN;
  END IF;
  EXECUTE IMMEDIATE q'[CREATE TABLE licenses (
  customer_id     NUMBER         NOT NULL,
  product         VARCHAR2(64),
  license_status  VARCHAR2(16)   NOT NULL,
  expires_at      DATE,
  updated_at      TIMESTAMP      DEFAULT SYS_EXTRACT_UTC(SYSTIMESTAMP) NOT NULL,
  max_machines    NUMBER,
  entitlements    VARCHAR2(512),
  expiry_strategy VARCHAR2(16),
  key_serial      NUMBER,
  CONSTRAINT licenses_pk PRIMARY KEY (customer_id),
  CONSTRAINT licenses_status_ck CHECK (license_status IN ('ACTIVE', 'SUSPENDED', 'REVOKED')),
  CONSTRAINT licenses_max_machines_ck CHECK (max_machines = TRUNC(max_machines) AND max_machines BETWEEN 0 AND 4294967295),
  CONSTRAINT licenses_entitlements_ck CHECK (REGEXP_LIKE(entitlements, '^[a-z0-9][a-z0-9._-]{0,63}(,[a-z0-9][a-z0-9._-]{0,63})*$', 'c')),
  CONSTRAINT licenses_expiry_strategy_ck CHECK (expiry_strategy IN ('REVOKE_ACCESS', 'MAINTAIN_ACCESS')),
  CONSTRAINT licenses_key_serial_ck CHECK (key_serial = TRUNC(key_serial) AND key_serial BETWEEN 0 AND 4294967295)
)]';
EXCEPTION
  WHEN e_exists THEN
    NULL;
END;
/

-- For a licenses table created before these columns existed, one column at a time,
-- each only when user_tab_columns does not list it: an ALTER TABLE needs an exclusive
-- lock on the table, which a re-run under load need not take at all.
-- ORA-01430: column being added already exists in table.
DECLARE
  e_column_exists EXCEPTION;
  PRAGMA EXCEPTION_INIT(e_column_exists, -1430);
  TYPE t_statements IS TABLE OF VARCHAR2(400);
  l_columns t_statements := t_statements('MAX_MACHINES', 'ENTITLEMENTS', 'EXPIRY_STRATEGY', 'KEY_SERIAL');
  l_add_columns t_statements := t_statements(
    q'[ALTER TABLE licenses ADD (max_machines NUMBER CONSTRAINT licenses_max_machines_ck CHECK (max_machines = TRUNC(max_machines) AND max_machines BETWEEN 0 AND 4294967295))]',
    q'[ALTER TABLE licenses ADD (entitlements VARCHAR2(512) CONSTRAINT licenses_entitlements_ck CHECK (REGEXP_LIKE(entitlements, '^[a-z0-9][a-z0-9._-]{0,63}(,[a-z0-9][a-z0-9._-]{0,63})*$', 'c')))]',
    q'[ALTER TABLE licenses ADD (expiry_strategy VARCHAR2(16) CONSTRAINT licenses_expiry_strategy_ck CHECK (expiry_strategy IN ('REVOKE_ACCESS', 'MAINTAIN_ACCESS')))]',
    q'[ALTER TABLE licenses ADD (key_serial NUMBER CONSTRAINT licenses_key_serial_ck CHECK (key_serial = TRUNC(key_serial) AND key_serial BETWEEN 0 AND 4294967295))]');
  l_found PLS_INTEGER;
BEGIN
  FOR i IN 1 .. l_add_columns.COUNT LOOP
    SELECT COUNT(*) INTO l_found
      FROM user_tab_columns
     WHERE table_name = 'LICENSES'
       AND column_name = l_columns(i);
    IF l_found = 0 THEN
      BEGIN
        EXECUTE IMMEDIATE l_add_columns(i);
      EXCEPTION
        WHEN e_column_exists THEN
          NULL;
      END;
    END IF;
  END LOOP;
END;
/

-- A table from before the whole-number rule has max_machines CHECK (max_machines >= 0):
-- replace it. Adding the new constraint checks every existing row; a row that breaks it
-- (2.5, or above 4294967295) stops the script with ORA-02293 naming the constraint,
-- and that row must be corrected first.
DECLARE
  l_condition user_constraints.search_condition_vc%TYPE;
BEGIN
  SELECT search_condition_vc INTO l_condition
    FROM user_constraints
   WHERE table_name = 'LICENSES'
     AND constraint_name = 'LICENSES_MAX_MACHINES_CK';
  IF INSTR(UPPER(l_condition), 'TRUNC') = 0 THEN
    EXECUTE IMMEDIATE q'[ALTER TABLE licenses DROP CONSTRAINT licenses_max_machines_ck]';
    EXECUTE IMMEDIATE q'[ALTER TABLE licenses ADD CONSTRAINT licenses_max_machines_ck CHECK (max_machines = TRUNC(max_machines) AND max_machines BETWEEN 0 AND 4294967295)]';
  END IF;
EXCEPTION
  WHEN NO_DATA_FOUND THEN
    NULL;
END;
/

-- The article's three customers: 1 valid for a year (entitlements export and sync), 2
-- expired, 3 suspended, all without a machine limit; 4, valid for a year on at most 2
-- machines at once; all four for product desktop-pro. 5: product desktop-lite, valid
-- for a year, no entitlements. 6: desktop-pro, expired, MAINTAIN_ACCESS with the
-- entitlement export (a perpetual-fallback license).
INSERT INTO licenses (customer_id, product, license_status, expires_at, updated_at, max_machines, entitlements, expiry_strategy, key_serial)
  SELECT 1, 'desktop-pro', 'ACTIVE', TRUNC(CAST(SYS_EXTRACT_UTC(SYSTIMESTAMP) AS DATE), 'MI') + 365, SYS_EXTRACT_UTC(SYSTIMESTAMP), NULL, 'export,sync', NULL, NULL FROM dual
   WHERE NOT EXISTS (SELECT NULL FROM licenses WHERE customer_id = 1);
INSERT INTO licenses (customer_id, product, license_status, expires_at, updated_at, max_machines, entitlements, expiry_strategy, key_serial)
  SELECT 2, 'desktop-pro', 'ACTIVE', TRUNC(CAST(SYS_EXTRACT_UTC(SYSTIMESTAMP) AS DATE), 'MI') - 30, SYS_EXTRACT_UTC(SYSTIMESTAMP), NULL, NULL, NULL, NULL FROM dual
   WHERE NOT EXISTS (SELECT NULL FROM licenses WHERE customer_id = 2);
INSERT INTO licenses (customer_id, product, license_status, expires_at, updated_at, max_machines, entitlements, expiry_strategy, key_serial)
  SELECT 3, 'desktop-pro', 'SUSPENDED', TRUNC(CAST(SYS_EXTRACT_UTC(SYSTIMESTAMP) AS DATE), 'MI') + 365, SYS_EXTRACT_UTC(SYSTIMESTAMP), NULL, NULL, NULL, NULL FROM dual
   WHERE NOT EXISTS (SELECT NULL FROM licenses WHERE customer_id = 3);
INSERT INTO licenses (customer_id, product, license_status, expires_at, updated_at, max_machines, entitlements, expiry_strategy, key_serial)
  SELECT 4, 'desktop-pro', 'ACTIVE', TRUNC(CAST(SYS_EXTRACT_UTC(SYSTIMESTAMP) AS DATE), 'MI') + 365, SYS_EXTRACT_UTC(SYSTIMESTAMP), 2, NULL, NULL, NULL FROM dual
   WHERE NOT EXISTS (SELECT NULL FROM licenses WHERE customer_id = 4);
INSERT INTO licenses (customer_id, product, license_status, expires_at, updated_at, max_machines, entitlements, expiry_strategy, key_serial)
  SELECT 5, 'desktop-lite', 'ACTIVE', TRUNC(CAST(SYS_EXTRACT_UTC(SYSTIMESTAMP) AS DATE), 'MI') + 365, SYS_EXTRACT_UTC(SYSTIMESTAMP), NULL, NULL, NULL, NULL FROM dual
   WHERE NOT EXISTS (SELECT NULL FROM licenses WHERE customer_id = 5);
INSERT INTO licenses (customer_id, product, license_status, expires_at, updated_at, max_machines, entitlements, expiry_strategy, key_serial)
  SELECT 6, 'desktop-pro', 'ACTIVE', TRUNC(CAST(SYS_EXTRACT_UTC(SYSTIMESTAMP) AS DATE), 'MI') - 30, SYS_EXTRACT_UTC(SYSTIMESTAMP), NULL, 'export', 'MAINTAIN_ACCESS', NULL FROM dual
   WHERE NOT EXISTS (SELECT NULL FROM licenses WHERE customer_id = 6);
INSERT INTO licenses (customer_id, product, license_status, expires_at, updated_at, max_machines, entitlements, expiry_strategy, key_serial)
  SELECT 7, 'desktop-pro', 'ACTIVE', TRUNC(CAST(SYS_EXTRACT_UTC(SYSTIMESTAMP) AS DATE), 'MI') + 365, SYS_EXTRACT_UTC(SYSTIMESTAMP), 2, NULL, NULL, NULL FROM dual
   WHERE NOT EXISTS (SELECT NULL FROM licenses WHERE customer_id = 7);
COMMIT;

-- ORDS prints DATE and TIMESTAMP values in UTC with a Z, converting them from the
-- time zone its JVM runs in: start ORDS with -Duser.timezone=UTC, or a midnight DATE
-- on a CEST server prints as 22:00 the day before
-- (https://jsao.io/2016/10/working-with-dates-using-ords/). Or use TIMESTAMP WITH TIME
-- ZONE columns. NUMBER values of more than 10 digits print in exponent form
-- (12345678901 as 1.2345678901e10,
-- https://docs.oracle.com/database/ords-17.3/AELIG/GUID-4F7FA58A-1C29-4B7E-819F-21DB4B68FFE1.htm).

DECLARE
  l_roles    OWA.VC_ARR;
  l_patterns OWA.VC_ARR;
  l_modules  OWA.VC_ARR;
  l_role_found PLS_INTEGER;
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
    p_source      => q'[SELECT customer_id, product, license_status, expires_at, updated_at, max_machines, entitlements, expiry_strategy, key_serial FROM licenses WHERE customer_id = :id]');

  -- Role names are unique per schema: a second CREATE_ROLE would raise and stop the
  -- re-run (the ORDS REST API answers 409 "A role with that name already exists",
  -- https://docs.oracle.com/en/database/oracle/oracle-rest-data-services/23.2/orrst/op-ords-rest-roles-post.html).
  SELECT COUNT(*) INTO l_role_found
    FROM user_ords_roles
   WHERE name = 'license_role';
  IF l_role_found = 0 THEN
    ORDS.CREATE_ROLE(p_role_name => 'license_role');
  END IF;

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
