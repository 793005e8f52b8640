-- seats.sql: machine seats. A license whose max_machines is not NULL may be used on at
-- most that many machines at once; the database is the only place seats are counted.
-- Run after schema.sql, as the same schema owner, on ORDS 20.4 or later (the JSON
-- problem bodies) and Oracle Database 12.2 or later (JSON_OBJECT_T). Re-runnable: each
-- column, table and index is looked up (user_tab_columns, user_tables, user_indexes)
-- and created only when missing, the package is CREATE OR REPLACE, and the templates
-- and handlers are redefined.
--
-- Creates:
--   * column licenses.max_machines (already there when schema.sql created the table);
--   * table license_activations, one row per seat ever taken;
--   * unique index license_activations_live_uk on the live (customer_id, machine_hash)
--     pair, so one machine never holds two live seats of one license;
--   * columns licenses.license_model (NODE_LOCKED, the default, or FLOATING) and
--     licenses.max_borrow_days (default 0: no borrowing);
--   * table license_products (a product's trial_days) and table license_trials (one
--     trial per product and machine, keyed by a hash the broker makes under its own
--     secret, so nothing here maps back to a machine);
--   * package license_seats;
--   * seven plsql/block handlers on module customers (so privilege license_priv, which
--     the broker's role holds, covers them):
--       POST customers/seats/:id/activate  license_seats.activate(:id, :body_text)
--       POST customers/seats/:id/renew     license_seats.renew(:id, :body_text)
--       POST customers/seats/:id/release   license_seats.release_seat(:id, :body_text)
--       GET  customers/seats/:id           license_seats.list_seats(:id)
--       POST customers/seats/:id/checkout  license_seats.checkout(:id, :body_text)
--       POST customers/seats/:id/checkin   license_seats.checkin(:id, :body_text)
--       POST customers/trials/start        license_seats.start_trial(:body_text)
--
-- Node-locked and floating seats are rows of the same table. A node-locked seat is
-- held for days and renewed by validations; a floating seat is a short lease (minutes)
-- renewed by checking out again while the app runs, freed by checkin at exit, and
-- lapsing by itself when the app died. A FLOATING license refuses activate and renew
-- (FLOATING), a NODE_LOCKED one refuses checkout and checkin (NOT_FLOATING), and renew
-- gives each model's seat its own lease, so no call can give a floating seat a
-- node-locked lease.
--
-- Each function writes its JSON answer with HTP and returns the HTTP status, which
-- the handler assigns to the implicit parameter :status_code
-- (https://docs.oracle.com/en/database/oracle/oracle-rest-data-services/24.4/orddg/implicit-parameters.html).
-- Handlers stay one line and the SQL lives in the package
-- (https://docs.oracle.com/en/database/oracle/apex/26.2/apxdc/keeping-pl-sql-handlers-maintainable.html).
-- An error the package does not handle reaches ORDS, which answers HTTP 555 "User
-- Defined Resource Error" with the ORA- text
-- (https://www.thatjeffsmith.com/archive/2018/10/preventing-500-status-codes-with-oracle-rest-data-services/).

whenever sqlerror exit failure rollback
set serveroutput on

-- For a licenses table created before the column existed; a whole number the broker
-- can read (schema.sql says why). ORA-01430 (column being added already exists in
-- table) is a backstop for a run racing another.
DECLARE
  e_column_exists EXCEPTION;
  PRAGMA EXCEPTION_INIT(e_column_exists, -1430);
  l_found PLS_INTEGER;
BEGIN
  SELECT COUNT(*) INTO l_found
    FROM user_tab_columns
   WHERE table_name = 'LICENSES'
     AND column_name = 'MAX_MACHINES';
  IF l_found > 0 THEN
    RETURN;
  END IF;
  EXECUTE IMMEDIATE q'[ALTER TABLE licenses ADD (max_machines NUMBER CONSTRAINT licenses_max_machines_ck CHECK (max_machines = TRUNC(max_machines) AND max_machines BETWEEN 0 AND 4294967295))]';
EXCEPTION
  WHEN e_column_exists THEN
    NULL;
END;
/

-- license_model and max_borrow_days, for a licenses table from before floating
-- licenses; ORA-01430 is a backstop for a run racing another.
DECLARE
  e_column_exists EXCEPTION;
  PRAGMA EXCEPTION_INIT(e_column_exists, -1430);
  TYPE t_statements IS TABLE OF VARCHAR2(400);
  l_columns t_statements := t_statements('LICENSE_MODEL', 'MAX_BORROW_DAYS');
  l_add_columns t_statements := t_statements(
    q'[ALTER TABLE licenses ADD (license_model VARCHAR2(16) DEFAULT 'NODE_LOCKED' NOT NULL CONSTRAINT licenses_license_model_ck CHECK (license_model IN ('NODE_LOCKED', 'FLOATING')))]',
    q'[ALTER TABLE licenses ADD (max_borrow_days NUMBER DEFAULT 0 NOT NULL CONSTRAINT licenses_max_borrow_days_ck CHECK (max_borrow_days = TRUNC(max_borrow_days) AND max_borrow_days BETWEEN 0 AND 3650))]');
  l_found PLS_INTEGER;
BEGIN
  FOR i IN 1 .. l_columns.COUNT LOOP
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

-- A product's trial: trial_days NULL means the product has no trial.
DECLARE
  e_exists EXCEPTION;
  PRAGMA EXCEPTION_INIT(e_exists, -955);
  l_found PLS_INTEGER;
BEGIN
  SELECT COUNT(*) INTO l_found
    FROM user_tables
   WHERE table_name = 'LICENSE_PRODUCTS';
  IF l_found > 0 THEN
    RETURN;
  END IF;
  EXECUTE IMMEDIATE q'[CREATE TABLE license_products (
  product    VARCHAR2(64 CHAR) NOT NULL,
  trial_days NUMBER,
  CONSTRAINT license_products_pk PRIMARY KEY (product),
  CONSTRAINT license_products_trial_days_ck CHECK (trial_days = TRUNC(trial_days) AND trial_days BETWEEN 1 AND 3650)
)]';
EXCEPTION
  WHEN e_exists THEN
    NULL;
END;
/

-- One trial per product and machine, ever. machine_key is the broker's HMAC-SHA256 of
-- the machine's fingerprint under a broker secret: the table holds nothing that maps
-- back to a machine, and a reinstall (same machine, same key) finds its old trial.
DECLARE
  e_exists EXCEPTION;
  PRAGMA EXCEPTION_INIT(e_exists, -955);
  l_found PLS_INTEGER;
BEGIN
  SELECT COUNT(*) INTO l_found
    FROM user_tables
   WHERE table_name = 'LICENSE_TRIALS';
  IF l_found > 0 THEN
    RETURN;
  END IF;
  EXECUTE IMMEDIATE q'[CREATE TABLE license_trials (
  product     VARCHAR2(64 CHAR) NOT NULL,
  machine_key VARCHAR2(64 CHAR) NOT NULL,
  started_at  TIMESTAMP         NOT NULL,
  expires_at  TIMESTAMP         NOT NULL,
  CONSTRAINT license_trials_pk PRIMARY KEY (product, machine_key),
  CONSTRAINT license_trials_product_fk FOREIGN KEY (product) REFERENCES license_products (product) ON DELETE CASCADE
)]';
EXCEPTION
  WHEN e_exists THEN
    NULL;
END;
/

-- The samples: product desktop-pro has a 14-day trial, desktop-lite none; customer 7
-- is a floating license (2 machines at once, borrowable for up to 7 days), made so
-- once, while its row still has the defaults.
INSERT INTO license_products (product, trial_days)
  SELECT 'desktop-pro', 14 FROM dual
   WHERE NOT EXISTS (SELECT NULL FROM license_products WHERE product = 'desktop-pro');
INSERT INTO license_products (product, trial_days)
  SELECT 'desktop-lite', NULL FROM dual
   WHERE NOT EXISTS (SELECT NULL FROM license_products WHERE product = 'desktop-lite');
UPDATE licenses
   SET license_model = 'FLOATING', max_borrow_days = 7
 WHERE customer_id = 7
   AND license_model = 'NODE_LOCKED'
   AND max_borrow_days = 0;
COMMIT;

-- One row per seat ever taken. status: ACTIVE (held until lease_until), LAPSED (not
-- renewed in time), RELEASED (freed; released_remotely = 'Y' when another machine
-- freed it; every release counts against the license's release budget). Times are UTC.
-- VARCHAR2(64 CHAR): 64 characters, not 64 bytes, as the package checks.
-- ORA-00955 (name is already used by an existing object) is a backstop for a run
-- racing another.
DECLARE
  e_exists EXCEPTION;
  PRAGMA EXCEPTION_INIT(e_exists, -955);
  l_found PLS_INTEGER;
BEGIN
  SELECT COUNT(*) INTO l_found
    FROM user_tables
   WHERE table_name = 'LICENSE_ACTIVATIONS';
  IF l_found > 0 THEN
    RETURN;
  END IF;
  EXECUTE IMMEDIATE q'[CREATE TABLE license_activations (
  activation_id     NUMBER GENERATED BY DEFAULT AS IDENTITY,
  customer_id       NUMBER             NOT NULL,
  machine_hash      VARCHAR2(64 CHAR)  NOT NULL,
  machine_name      VARCHAR2(64 CHAR),
  status            VARCHAR2(16)       NOT NULL,
  activated_at      TIMESTAMP          NOT NULL,
  last_seen         TIMESTAMP          NOT NULL,
  lease_until       TIMESTAMP          NOT NULL,
  released_at       TIMESTAMP,
  released_remotely CHAR(1)            DEFAULT 'N' NOT NULL,
  activation_ref    VARCHAR2(64 CHAR),
  CONSTRAINT license_activations_pk PRIMARY KEY (activation_id),
  CONSTRAINT license_activations_fk FOREIGN KEY (customer_id) REFERENCES licenses (customer_id) ON DELETE CASCADE,
  CONSTRAINT license_activations_status_ck CHECK (status IN ('ACTIVE', 'LAPSED', 'RELEASED')),
  CONSTRAINT license_activations_remote_ck CHECK (released_remotely IN ('Y', 'N'))
)]';
EXCEPTION
  WHEN e_exists THEN
    NULL;
END;
/

-- A table from before offline activation gets its activation_ref column (the name of
-- the offline activation that holds the seat); one that has it already is skipped
-- (ORA-01430).
DECLARE
  e_column_exists EXCEPTION;
  PRAGMA EXCEPTION_INIT(e_column_exists, -1430);
BEGIN
  EXECUTE IMMEDIATE q'[ALTER TABLE license_activations ADD (activation_ref VARCHAR2(64 CHAR))]';
EXCEPTION
  WHEN e_column_exists THEN
    NULL;
END;
/

-- The live pair is unique. Rows that are not ACTIVE have both keys NULL, and Oracle
-- does not index entries whose keys are all NULL, so any number of LAPSED and RELEASED
-- rows may share a machine. A second live seat raises DUP_VAL_ON_INDEX.
DECLARE
  e_exists EXCEPTION;
  PRAGMA EXCEPTION_INIT(e_exists, -955);
  l_found PLS_INTEGER;
BEGIN
  SELECT COUNT(*) INTO l_found
    FROM user_indexes
   WHERE index_name = 'LICENSE_ACTIVATIONS_LIVE_UK';
  IF l_found > 0 THEN
    RETURN;
  END IF;
  EXECUTE IMMEDIATE q'[CREATE UNIQUE INDEX license_activations_live_uk ON license_activations (CASE WHEN status = 'ACTIVE' THEN customer_id END, CASE WHEN status = 'ACTIVE' THEN machine_hash END)]';
EXCEPTION
  WHEN e_exists THEN
    NULL;
END;
/

-- The counts and the lists: a license's rows by status.
DECLARE
  e_exists EXCEPTION;
  PRAGMA EXCEPTION_INIT(e_exists, -955);
  l_found PLS_INTEGER;
BEGIN
  SELECT COUNT(*) INTO l_found
    FROM user_indexes
   WHERE index_name = 'LICENSE_ACTIVATIONS_STATUS_IX';
  IF l_found > 0 THEN
    RETURN;
  END IF;
  EXECUTE IMMEDIATE q'[CREATE INDEX license_activations_status_ix ON license_activations (customer_id, status, lease_until)]';
EXCEPTION
  WHEN e_exists THEN
    NULL;
END;
/

CREATE OR REPLACE PACKAGE license_seats AUTHID DEFINER AS
  -- Each function writes the JSON answer and returns the HTTP status for :status_code.
  -- 200: {"outcome": ..., "max_machines": n|null, "used": n, "machines": [...]}, the
  --      live seats after the operation, oldest activation first.
  -- 400 BAD_REQUEST (with "message"), 404 NO_LICENSE, 409 BUSY (row lock not had
  -- within 2 s); anything else is raised, and ORDS answers 555.

  -- {"machine_hash", "machine_name", "lease_seconds", "activation_ref"}:
  -- ACTIVATED | RENEWED | REPEATED (renewed, and already this activation's) |
  -- MACHINE_LIMIT. The seat keeps activation_ref (NULL: online).
  FUNCTION activate(p_customer_id IN NUMBER, p_body IN CLOB) RETURN PLS_INTEGER;

  -- {"machine_hash", "lease_seconds", "floating_lease_seconds"}: RENEWED | NOT_ACTIVATED.
  -- A FLOATING license's seat is renewed for floating_lease_seconds, never shortening a
  -- borrow; a node-locked one for lease_seconds.
  FUNCTION renew(p_customer_id IN NUMBER, p_body IN CLOB) RETURN PLS_INTEGER;

  -- {"machine_hash", "by_machine_hash", "release_budget",
  --  "release_window_seconds", "activation_ref"}: RELEASED | NOT_HELD | RELEASE_LIMIT.
  -- With activation_ref, a seat that does not keep it is NOT_HELD.
  FUNCTION release_seat(p_customer_id IN NUMBER, p_body IN CLOB) RETURN PLS_INTEGER;

  -- LISTED.
  FUNCTION list_seats(p_customer_id IN NUMBER) RETURN PLS_INTEGER;

  -- A FLOATING license's seat for whoever runs now; checking out again renews it.
  -- {"machine_hash", "machine_name", "lease_seconds", "borrow_seconds"}: the lease is
  -- lease_seconds, or borrow_seconds (0: not borrowed) capped at max_borrow_days, and
  -- never shortened: CHECKED_OUT | RENEWED | SEATS_IN_USE | NOT_FLOATING.
  FUNCTION checkout(p_customer_id IN NUMBER, p_body IN CLOB) RETURN PLS_INTEGER;

  -- {"machine_hash", "lease_seconds", "release_budget", "release_window_seconds"}:
  -- CHECKED_IN | NOT_HELD | RELEASE_LIMIT | NOT_FLOATING. A seat whose lease reaches
  -- past lease_seconds from now is borrowed: its machine keeps an offline verdict
  -- until then, so returning it early counts against the release budget.
  FUNCTION checkin(p_customer_id IN NUMBER, p_body IN CLOB) RETURN PLS_INTEGER;

  -- {"product", "machine_key"}: one trial per product and machine, by the database's
  -- clock. 200 {"outcome", "started_at", "expires_at"}: TRIAL_STARTED | TRIAL |
  -- TRIAL_EXPIRED, or {"outcome": "NO_TRIAL"} for a product without trial_days.
  FUNCTION start_trial(p_body IN CLOB) RETURN PLS_INTEGER;
END license_seats;
/

show errors

-- The package keeps no variables, so re-creating it does not cost the pooled ORDS
-- sessions an ORA-04068 ("existing state of packages has been discarded").
CREATE OR REPLACE PACKAGE BODY license_seats AS
  c_ok CONSTANT PLS_INTEGER := 200;
  c_bad_request CONSTANT PLS_INTEGER := 400;
  c_no_license CONSTANT PLS_INTEGER := 404;
  c_busy CONSTANT PLS_INTEGER := 409;
  c_min_lease_seconds CONSTANT PLS_INTEGER := 60;
  c_max_seconds CONSTANT PLS_INTEGER := 315360000;
  c_max_text_chars CONSTANT PLS_INTEGER := 64;
  c_max_release_budget CONSTANT PLS_INTEGER := 1000000;
  c_min_floating_lease_seconds CONSTANT PLS_INTEGER := 1;
  c_seconds_per_day CONSTANT PLS_INTEGER := 86400;

  -- ORA-30006: resource busy; acquire with WAIT timeout expired (FOR UPDATE WAIT 2).
  e_busy EXCEPTION;
  PRAGMA EXCEPTION_INIT(e_busy, -30006);
  -- Raised with the 400's message by bad_request.
  e_bad_request EXCEPTION;
  PRAGMA EXCEPTION_INIT(e_bad_request, -20400);

  PROCEDURE bad_request(p_message IN VARCHAR2) IS
  BEGIN
    RAISE_APPLICATION_ERROR(-20400, p_message);
  END bad_request;

  FUNCTION now_utc RETURN TIMESTAMP IS
  BEGIN
    RETURN SYS_EXTRACT_UTC(SYSTIMESTAMP);
  END now_utc;

  FUNCTION iso(p_at IN TIMESTAMP) RETURN VARCHAR2 IS
  BEGIN
    RETURN TO_CHAR(p_at, 'YYYY-MM-DD"T"HH24:MI:SS"Z"');
  END iso;

  -- Starts the JSON answer. It is then written with HTP one whole JSON text (or one
  -- bracket or comma) at a time, never as fixed-size pieces of a CLOB: in an AL32UTF8
  -- database CLOB offsets count UCS-2 code units, so a piece cut at a fixed count could
  -- end between the two halves of a character outside the BMP (an emoji in a
  -- machine_name) and the answer would not be valid UTF-8. Each piece is far below
  -- the 32767 bytes a VARCHAR2 holds.
  PROCEDURE start_answer IS
  BEGIN
    OWA_UTIL.MIME_HEADER('application/json', TRUE);
  END start_answer;

  -- {"outcome": p_outcome[, "message": p_message]} with status p_status.
  FUNCTION fail(
    p_status IN PLS_INTEGER, p_outcome IN VARCHAR2, p_message IN VARCHAR2 DEFAULT NULL
  ) RETURN PLS_INTEGER IS
    l_answer JSON_OBJECT_T := JSON_OBJECT_T();
  BEGIN
    l_answer.put('outcome', p_outcome);
    IF p_message IS NOT NULL THEN
      l_answer.put('message', p_message);
    END IF;
    start_answer();
    HTP.PRN(l_answer.to_string());
    RETURN p_status;
  END fail;

  -- The 200 answer: the live seats at p_now, oldest activation first.
  FUNCTION seats_answer(
    p_customer_id IN NUMBER, p_outcome IN VARCHAR2, p_max IN NUMBER, p_now IN TIMESTAMP
  ) RETURN PLS_INTEGER IS
    l_answer JSON_OBJECT_T := JSON_OBJECT_T();
    l_machines JSON_ARRAY_T := JSON_ARRAY_T();
    l_seat JSON_OBJECT_T;
    l_used PLS_INTEGER := 0;
    l_head VARCHAR2(200);
    l_element JSON_ELEMENT_T;
  BEGIN
    FOR r IN (
      SELECT machine_hash, machine_name, activated_at, last_seen, lease_until
        FROM license_activations
       WHERE customer_id = p_customer_id
         AND status = 'ACTIVE'
         AND lease_until > p_now
       ORDER BY activated_at, activation_id
    ) LOOP
      l_seat := JSON_OBJECT_T();
      l_seat.put('machine_hash', r.machine_hash);
      IF r.machine_name IS NULL THEN
        l_seat.put_null('machine_name');
      ELSE
        l_seat.put('machine_name', r.machine_name);
      END IF;
      l_seat.put('activated_at', iso(r.activated_at));
      l_seat.put('last_seen', iso(r.last_seen));
      l_seat.put('lease_until', iso(r.lease_until));
      l_machines.append(l_seat);
      l_used := l_used + 1;
    END LOOP;
    l_answer.put('outcome', p_outcome);
    IF p_max IS NULL THEN
      l_answer.put_null('max_machines');
    ELSE
      l_answer.put('max_machines', p_max);
    END IF;
    l_answer.put('used', l_used);
    -- {"outcome":…,"max_machines":…,"used":n} without its closing brace, then the
    -- machines one seat at a time: the same text to_clob would write for the whole.
    l_head := l_answer.to_string();
    start_answer();
    HTP.PRN(SUBSTR(l_head, 1, LENGTH(l_head) - 1) || ',"machines":[');
    FOR i IN 1 .. l_used LOOP
      IF i > 1 THEN
        HTP.PRN(',');
      END IF;
      l_element := l_machines.get(i - 1);
      HTP.PRN(l_element.to_string());
    END LOOP;
    HTP.PRN(']}');
    RETURN c_ok;
  END seats_answer;

  FUNCTION parse_body(p_body IN CLOB) RETURN JSON_OBJECT_T IS
  BEGIN
    IF p_body IS NULL OR DBMS_LOB.GETLENGTH(p_body) = 0 THEN
      bad_request('the body must be a JSON object');
    END IF;
    RETURN JSON_OBJECT_T.parse(p_body);
  EXCEPTION
    WHEN e_bad_request THEN
      RAISE;
    WHEN OTHERS THEN
      bad_request('the body must be a JSON object');
  END parse_body;

  -- A text member. Absent, null and "" are all NULL (Oracle stores '' as NULL).
  FUNCTION text_member(
    p_body IN JSON_OBJECT_T, p_name IN VARCHAR2, p_required IN BOOLEAN
  ) RETURN VARCHAR2 IS
    l_member JSON_ELEMENT_T := p_body.get(p_name);
    l_text VARCHAR2(32767);
  BEGIN
    IF l_member IS NOT NULL AND NOT l_member.is_null() THEN
      IF NOT l_member.is_string() THEN
        bad_request(p_name || ': must be a string');
      END IF;
      l_text := p_body.get_string(p_name);
    END IF;
    IF l_text IS NULL AND p_required THEN
      bad_request(p_name || ': required');
    END IF;
    IF LENGTH(l_text) > c_max_text_chars THEN
      bad_request(p_name || ': must be at most ' || c_max_text_chars || ' characters');
    END IF;
    RETURN l_text;
  END text_member;

  -- A required integral number from p_min to p_max.
  FUNCTION int_member(
    p_body IN JSON_OBJECT_T, p_name IN VARCHAR2, p_min IN PLS_INTEGER, p_max IN PLS_INTEGER
  ) RETURN PLS_INTEGER IS
    l_member JSON_ELEMENT_T := p_body.get(p_name);
    l_number NUMBER;
  BEGIN
    IF l_member IS NULL OR l_member.is_null() THEN
      bad_request(p_name || ': required');
    END IF;
    IF l_member.is_number() THEN
      l_number := p_body.get_number(p_name);
    END IF;
    IF l_number IS NULL OR l_number != TRUNC(l_number) OR l_number < p_min OR l_number > p_max THEN
      bad_request(p_name || ': must be an integer from ' || p_min || ' to ' || p_max);
    END IF;
    RETURN l_number;
  END int_member;

  -- Locks the license row (one writer per license at a time) and returns its limit.
  -- NO_DATA_FOUND: no such license; e_busy: locked by another session for 2 s.
  FUNCTION lock_license(p_customer_id IN NUMBER) RETURN NUMBER IS
    l_max licenses.max_machines%TYPE;
  BEGIN
    SELECT max_machines INTO l_max
      FROM licenses
     WHERE customer_id = p_customer_id
       FOR UPDATE WAIT 2;
    RETURN l_max;
  END lock_license;

  -- The license's model, read after lock_license (the row is locked).
  FUNCTION is_floating(p_customer_id IN NUMBER) RETURN BOOLEAN IS
    l_model licenses.license_model%TYPE;
  BEGIN
    SELECT license_model INTO l_model
      FROM licenses
     WHERE customer_id = p_customer_id;
    RETURN l_model = 'FLOATING';
  END is_floating;

  -- Renews this machine's live floating seat to p_until, never shortening a borrowed
  -- lease; the name changes only when one is given. FALSE when it holds none.
  FUNCTION renew_floating(
    p_customer_id IN NUMBER,
    p_machine_hash IN VARCHAR2,
    p_machine_name IN VARCHAR2,
    p_now IN TIMESTAMP,
    p_until IN TIMESTAMP
  ) RETURN BOOLEAN IS
  BEGIN
    UPDATE license_activations
       SET last_seen = p_now,
           lease_until = GREATEST(lease_until, p_until),
           machine_name = NVL(p_machine_name, machine_name)
     WHERE customer_id = p_customer_id
       AND machine_hash = p_machine_hash
       AND status = 'ACTIVE'
       AND lease_until > p_now;
    RETURN SQL%ROWCOUNT > 0;
  END renew_floating;

  -- Seats not renewed in time lapse by themselves.
  PROCEDURE lapse(p_customer_id IN NUMBER, p_now IN TIMESTAMP) IS
  BEGIN
    UPDATE license_activations
       SET status = 'LAPSED'
     WHERE customer_id = p_customer_id
       AND status = 'ACTIVE'
       AND lease_until <= p_now;
  END lapse;

  -- Renews this machine's live seat; FALSE when it holds none. The name changes only
  -- when one is given.
  FUNCTION renew_live(
    p_customer_id IN NUMBER,
    p_machine_hash IN VARCHAR2,
    p_machine_name IN VARCHAR2,
    p_now IN TIMESTAMP,
    p_lease_seconds IN PLS_INTEGER
  ) RETURN BOOLEAN IS
  BEGIN
    UPDATE license_activations
       SET last_seen = p_now,
           lease_until = p_now + NUMTODSINTERVAL(p_lease_seconds, 'SECOND'),
           machine_name = NVL(p_machine_name, machine_name)
     WHERE customer_id = p_customer_id
       AND machine_hash = p_machine_hash
       AND status = 'ACTIVE'
       AND lease_until > p_now;
    RETURN SQL%ROWCOUNT > 0;
  END renew_live;

  FUNCTION live_count(p_customer_id IN NUMBER, p_now IN TIMESTAMP) RETURN PLS_INTEGER IS
    l_count PLS_INTEGER;
  BEGIN
    SELECT COUNT(*) INTO l_count
      FROM license_activations
     WHERE customer_id = p_customer_id
       AND status = 'ACTIVE'
       AND lease_until > p_now;
    RETURN l_count;
  END live_count;

  FUNCTION holds_seat(
    p_customer_id IN NUMBER, p_machine_hash IN VARCHAR2, p_now IN TIMESTAMP
  ) RETURN BOOLEAN IS
    l_count PLS_INTEGER;
  BEGIN
    SELECT COUNT(*) INTO l_count
      FROM license_activations
     WHERE customer_id = p_customer_id
       AND machine_hash = p_machine_hash
       AND status = 'ACTIVE'
       AND lease_until > p_now;
    RETURN l_count > 0;
  END holds_seat;

  -- Whether this machine's live seat belongs to the offline activation p_activation_ref.
  FUNCTION holds_activation(
    p_customer_id IN NUMBER, p_machine_hash IN VARCHAR2, p_activation_ref IN VARCHAR2,
    p_now IN TIMESTAMP
  ) RETURN BOOLEAN IS
    l_count PLS_INTEGER;
  BEGIN
    SELECT COUNT(*) INTO l_count
      FROM license_activations
     WHERE customer_id = p_customer_id
       AND machine_hash = p_machine_hash
       AND activation_ref = p_activation_ref
       AND status = 'ACTIVE'
       AND lease_until > p_now;
    RETURN l_count > 0;
  END holds_activation;

  FUNCTION activate(p_customer_id IN NUMBER, p_body IN CLOB) RETURN PLS_INTEGER IS
    l_body JSON_OBJECT_T;
    l_machine_hash license_activations.machine_hash%TYPE;
    l_machine_name license_activations.machine_name%TYPE;
    l_lease_seconds PLS_INTEGER;
    l_activation_ref license_activations.activation_ref%TYPE;
    l_repeated BOOLEAN;
    l_max licenses.max_machines%TYPE;
    l_now TIMESTAMP;
    l_outcome VARCHAR2(16);
    l_status PLS_INTEGER;
  BEGIN
    l_body := parse_body(p_body);
    l_machine_hash := text_member(l_body, 'machine_hash', TRUE);
    l_machine_name := text_member(l_body, 'machine_name', FALSE);
    l_lease_seconds := int_member(l_body, 'lease_seconds', c_min_lease_seconds, c_max_seconds);
    l_activation_ref := text_member(l_body, 'activation_ref', FALSE);

    l_max := lock_license(p_customer_id);
    l_now := now_utc();
    lapse(p_customer_id, l_now);
    -- The same offline activation asked again (its request code submitted twice).
    l_repeated := l_activation_ref IS NOT NULL
      AND holds_activation(p_customer_id, l_machine_hash, l_activation_ref, l_now);
    IF is_floating(p_customer_id) THEN
      l_outcome := 'FLOATING';
    ELSIF renew_live(p_customer_id, l_machine_hash, l_machine_name, l_now, l_lease_seconds) THEN
      IF l_repeated THEN
        l_outcome := 'REPEATED';
      ELSE
        l_outcome := 'RENEWED';
      END IF;
    ELSIF l_max IS NOT NULL AND live_count(p_customer_id, l_now) >= l_max THEN
      l_outcome := 'MACHINE_LIMIT';
    ELSE
      BEGIN
        INSERT INTO license_activations (
          customer_id, machine_hash, machine_name, status, activated_at, last_seen, lease_until
        ) VALUES (
          p_customer_id, l_machine_hash, l_machine_name, 'ACTIVE', l_now, l_now,
          l_now + NUMTODSINTERVAL(l_lease_seconds, 'SECOND')
        );
        l_outcome := 'ACTIVATED';
      EXCEPTION
        -- The live pair exists already (a retry that raced past the lock): the seat
        -- is this machine's, renewed, never a second one.
        WHEN DUP_VAL_ON_INDEX THEN
          IF renew_live(p_customer_id, l_machine_hash, l_machine_name, l_now, l_lease_seconds) THEN
            NULL;
          END IF;
          l_outcome := 'RENEWED';
      END;
    END IF;
    -- The seat belongs to this activation now: an offline one names itself, an online
    -- one names none, so an earlier offline deactivation code frees it no more.
    IF l_outcome IN ('ACTIVATED', 'RENEWED', 'REPEATED') THEN
      UPDATE license_activations
         SET activation_ref = l_activation_ref
       WHERE customer_id = p_customer_id
         AND machine_hash = l_machine_hash
         AND status = 'ACTIVE'
         AND lease_until > l_now;
    END IF;
    l_status := seats_answer(p_customer_id, l_outcome, l_max, l_now);
    COMMIT;
    RETURN l_status;
  EXCEPTION
    WHEN e_bad_request THEN
      ROLLBACK;
      RETURN fail(c_bad_request, 'BAD_REQUEST', SUBSTR(SQLERRM, 12));
    WHEN NO_DATA_FOUND THEN
      ROLLBACK;
      RETURN fail(c_no_license, 'NO_LICENSE');
    WHEN e_busy THEN
      ROLLBACK;
      RETURN fail(c_busy, 'BUSY');
    WHEN OTHERS THEN
      ROLLBACK;
      RAISE;
  END activate;

  FUNCTION renew(p_customer_id IN NUMBER, p_body IN CLOB) RETURN PLS_INTEGER IS
    l_body JSON_OBJECT_T;
    l_machine_hash license_activations.machine_hash%TYPE;
    l_lease_seconds PLS_INTEGER;
    l_floating_lease_seconds PLS_INTEGER;
    l_max licenses.max_machines%TYPE;
    l_now TIMESTAMP;
    l_outcome VARCHAR2(16);
    l_status PLS_INTEGER;
  BEGIN
    l_body := parse_body(p_body);
    l_machine_hash := text_member(l_body, 'machine_hash', TRUE);
    l_lease_seconds := int_member(l_body, 'lease_seconds', c_min_lease_seconds, c_max_seconds);
    l_floating_lease_seconds := int_member(l_body, 'floating_lease_seconds', c_min_floating_lease_seconds, c_max_seconds);

    l_max := lock_license(p_customer_id);
    l_now := now_utc();
    lapse(p_customer_id, l_now);
    -- Renewing never creates a seat: a lapsed one is gone. A floating seat keeps its
    -- own short lease.
    IF is_floating(p_customer_id) THEN
      IF renew_floating(p_customer_id, l_machine_hash, NULL, l_now,
                        l_now + NUMTODSINTERVAL(l_floating_lease_seconds, 'SECOND')) THEN
        l_outcome := 'RENEWED';
      ELSE
        l_outcome := 'NOT_ACTIVATED';
      END IF;
    ELSIF renew_live(p_customer_id, l_machine_hash, NULL, l_now, l_lease_seconds) THEN
      l_outcome := 'RENEWED';
    ELSE
      l_outcome := 'NOT_ACTIVATED';
    END IF;
    l_status := seats_answer(p_customer_id, l_outcome, l_max, l_now);
    COMMIT;
    RETURN l_status;
  EXCEPTION
    WHEN e_bad_request THEN
      ROLLBACK;
      RETURN fail(c_bad_request, 'BAD_REQUEST', SUBSTR(SQLERRM, 12));
    WHEN NO_DATA_FOUND THEN
      ROLLBACK;
      RETURN fail(c_no_license, 'NO_LICENSE');
    WHEN e_busy THEN
      ROLLBACK;
      RETURN fail(c_busy, 'BUSY');
    WHEN OTHERS THEN
      ROLLBACK;
      RAISE;
  END renew;

  FUNCTION release_seat(p_customer_id IN NUMBER, p_body IN CLOB) RETURN PLS_INTEGER IS
    l_body JSON_OBJECT_T;
    l_machine_hash license_activations.machine_hash%TYPE;
    l_by_machine_hash license_activations.machine_hash%TYPE;
    l_budget PLS_INTEGER;
    l_window_seconds PLS_INTEGER;
    l_activation_ref license_activations.activation_ref%TYPE;
    l_remote CHAR(1);
    l_spent PLS_INTEGER;
    l_max licenses.max_machines%TYPE;
    l_now TIMESTAMP;
    l_outcome VARCHAR2(16);
    l_status PLS_INTEGER;
  BEGIN
    l_body := parse_body(p_body);
    l_machine_hash := text_member(l_body, 'machine_hash', TRUE);
    l_by_machine_hash := text_member(l_body, 'by_machine_hash', TRUE);
    l_budget := int_member(l_body, 'release_budget', 0, c_max_release_budget);
    l_window_seconds := int_member(l_body, 'release_window_seconds', 1, c_max_seconds);
    l_activation_ref := text_member(l_body, 'activation_ref', FALSE);

    l_max := lock_license(p_customer_id);
    l_now := now_utc();
    lapse(p_customer_id, l_now);
    l_remote := CASE WHEN l_machine_hash = l_by_machine_hash THEN 'N' ELSE 'Y' END;
    -- Every release has a budget per window, a machine's own too: a freed machine
    -- keeps the offline lease it was given, so releasing and re-activating could
    -- otherwise mint machines without end.
    SELECT COUNT(*) INTO l_spent
      FROM license_activations
     WHERE customer_id = p_customer_id
       AND status = 'RELEASED'
       AND released_at > l_now - NUMTODSINTERVAL(l_window_seconds, 'SECOND');
    IF NOT holds_seat(p_customer_id, l_machine_hash, l_now) THEN
      l_outcome := 'NOT_HELD';
    -- An offline deactivation frees the seat only while the activation it proves
    -- holds it: replayed after the machine activated again, it frees nothing.
    ELSIF l_activation_ref IS NOT NULL
      AND NOT holds_activation(p_customer_id, l_machine_hash, l_activation_ref, l_now) THEN
      l_outcome := 'NOT_HELD';
    ELSIF l_spent >= l_budget THEN
      l_outcome := 'RELEASE_LIMIT';
    ELSE
      UPDATE license_activations
         SET status = 'RELEASED',
             released_at = l_now,
             released_remotely = l_remote
       WHERE customer_id = p_customer_id
         AND machine_hash = l_machine_hash
         AND status = 'ACTIVE'
         AND lease_until > l_now;
      l_outcome := 'RELEASED';
    END IF;
    l_status := seats_answer(p_customer_id, l_outcome, l_max, l_now);
    COMMIT;
    RETURN l_status;
  EXCEPTION
    WHEN e_bad_request THEN
      ROLLBACK;
      RETURN fail(c_bad_request, 'BAD_REQUEST', SUBSTR(SQLERRM, 12));
    WHEN NO_DATA_FOUND THEN
      ROLLBACK;
      RETURN fail(c_no_license, 'NO_LICENSE');
    WHEN e_busy THEN
      ROLLBACK;
      RETURN fail(c_busy, 'BUSY');
    WHEN OTHERS THEN
      ROLLBACK;
      RAISE;
  END release_seat;

  FUNCTION list_seats(p_customer_id IN NUMBER) RETURN PLS_INTEGER IS
    l_max licenses.max_machines%TYPE;
  BEGIN
    -- No lock: a read sees the last committed seats.
    SELECT max_machines INTO l_max
      FROM licenses
     WHERE customer_id = p_customer_id;
    RETURN seats_answer(p_customer_id, 'LISTED', l_max, now_utc());
  EXCEPTION
    WHEN NO_DATA_FOUND THEN
      RETURN fail(c_no_license, 'NO_LICENSE');
  END list_seats;

  FUNCTION checkout(p_customer_id IN NUMBER, p_body IN CLOB) RETURN PLS_INTEGER IS
    l_body JSON_OBJECT_T;
    l_machine_hash license_activations.machine_hash%TYPE;
    l_machine_name license_activations.machine_name%TYPE;
    l_lease_seconds PLS_INTEGER;
    l_borrow_seconds PLS_INTEGER;
    l_borrow_days licenses.max_borrow_days%TYPE;
    l_max licenses.max_machines%TYPE;
    l_now TIMESTAMP;
    l_until TIMESTAMP;
    l_outcome VARCHAR2(16);
    l_status PLS_INTEGER;
  BEGIN
    l_body := parse_body(p_body);
    l_machine_hash := text_member(l_body, 'machine_hash', TRUE);
    l_machine_name := text_member(l_body, 'machine_name', FALSE);
    l_lease_seconds := int_member(l_body, 'lease_seconds', c_min_floating_lease_seconds, c_max_seconds);
    l_borrow_seconds := int_member(l_body, 'borrow_seconds', 0, c_max_seconds);

    l_max := lock_license(p_customer_id);
    l_now := now_utc();
    lapse(p_customer_id, l_now);
    SELECT max_borrow_days INTO l_borrow_days
      FROM licenses
     WHERE customer_id = p_customer_id;
    -- A borrow is capped by the license, and never shorter than a plain lease.
    l_until := l_now + NUMTODSINTERVAL(
      GREATEST(l_lease_seconds, LEAST(l_borrow_seconds, l_borrow_days * c_seconds_per_day)), 'SECOND');
    IF NOT is_floating(p_customer_id) THEN
      l_outcome := 'NOT_FLOATING';
    ELSIF renew_floating(p_customer_id, l_machine_hash, l_machine_name, l_now, l_until) THEN
      l_outcome := 'RENEWED';
    ELSIF l_max IS NOT NULL AND live_count(p_customer_id, l_now) >= l_max THEN
      l_outcome := 'SEATS_IN_USE';
    ELSE
      INSERT INTO license_activations (
        customer_id, machine_hash, machine_name, status, activated_at, last_seen, lease_until
      ) VALUES (
        p_customer_id, l_machine_hash, l_machine_name, 'ACTIVE', l_now, l_now, l_until
      );
      l_outcome := 'CHECKED_OUT';
    END IF;
    l_status := seats_answer(p_customer_id, l_outcome, l_max, l_now);
    COMMIT;
    RETURN l_status;
  EXCEPTION
    WHEN e_bad_request THEN
      ROLLBACK;
      RETURN fail(c_bad_request, 'BAD_REQUEST', SUBSTR(SQLERRM, 12));
    WHEN NO_DATA_FOUND THEN
      ROLLBACK;
      RETURN fail(c_no_license, 'NO_LICENSE');
    WHEN e_busy THEN
      ROLLBACK;
      RETURN fail(c_busy, 'BUSY');
    WHEN OTHERS THEN
      ROLLBACK;
      RAISE;
  END checkout;

  FUNCTION checkin(p_customer_id IN NUMBER, p_body IN CLOB) RETURN PLS_INTEGER IS
    l_body JSON_OBJECT_T;
    l_machine_hash license_activations.machine_hash%TYPE;
    l_lease_seconds PLS_INTEGER;
    l_budget PLS_INTEGER;
    l_window_seconds PLS_INTEGER;
    l_borrowed PLS_INTEGER;
    l_spent PLS_INTEGER;
    l_max licenses.max_machines%TYPE;
    l_now TIMESTAMP;
    l_outcome VARCHAR2(16);
    l_status PLS_INTEGER;
  BEGIN
    l_body := parse_body(p_body);
    l_machine_hash := text_member(l_body, 'machine_hash', TRUE);
    l_lease_seconds := int_member(l_body, 'lease_seconds', c_min_floating_lease_seconds, c_max_seconds);
    l_budget := int_member(l_body, 'release_budget', 0, c_max_release_budget);
    l_window_seconds := int_member(l_body, 'release_window_seconds', 1, c_max_seconds);

    l_max := lock_license(p_customer_id);
    l_now := now_utc();
    lapse(p_customer_id, l_now);
    SELECT COUNT(*) INTO l_borrowed
      FROM license_activations
     WHERE customer_id = p_customer_id
       AND machine_hash = l_machine_hash
       AND status = 'ACTIVE'
       AND lease_until > l_now + NUMTODSINTERVAL(l_lease_seconds, 'SECOND');
    SELECT COUNT(*) INTO l_spent
      FROM license_activations
     WHERE customer_id = p_customer_id
       AND status = 'RELEASED'
       AND released_at > l_now - NUMTODSINTERVAL(l_window_seconds, 'SECOND');
    IF NOT is_floating(p_customer_id) THEN
      l_outcome := 'NOT_FLOATING';
    ELSIF NOT holds_seat(p_customer_id, l_machine_hash, l_now) THEN
      l_outcome := 'NOT_HELD';
    ELSIF l_borrowed > 0 AND l_spent >= l_budget THEN
      l_outcome := 'RELEASE_LIMIT';
    ELSE
      -- A plain seat ends as if its lease ran out now (its machine's verdict reaches no
      -- further than that lease); a borrowed one is a release, counted in the budget.
      UPDATE license_activations
         SET status = CASE WHEN l_borrowed > 0 THEN 'RELEASED' ELSE 'LAPSED' END,
             released_at = CASE WHEN l_borrowed > 0 THEN l_now END,
             lease_until = l_now
       WHERE customer_id = p_customer_id
         AND machine_hash = l_machine_hash
         AND status = 'ACTIVE'
         AND lease_until > l_now;
      l_outcome := 'CHECKED_IN';
    END IF;
    l_status := seats_answer(p_customer_id, l_outcome, l_max, l_now);
    COMMIT;
    RETURN l_status;
  EXCEPTION
    WHEN e_bad_request THEN
      ROLLBACK;
      RETURN fail(c_bad_request, 'BAD_REQUEST', SUBSTR(SQLERRM, 12));
    WHEN NO_DATA_FOUND THEN
      ROLLBACK;
      RETURN fail(c_no_license, 'NO_LICENSE');
    WHEN e_busy THEN
      ROLLBACK;
      RETURN fail(c_busy, 'BUSY');
    WHEN OTHERS THEN
      ROLLBACK;
      RAISE;
  END checkin;

  -- {"outcome", "started_at", "expires_at"} with status 200.
  FUNCTION trial_answer(
    p_outcome IN VARCHAR2, p_started IN TIMESTAMP, p_expires IN TIMESTAMP
  ) RETURN PLS_INTEGER IS
    l_answer JSON_OBJECT_T := JSON_OBJECT_T();
  BEGIN
    l_answer.put('outcome', p_outcome);
    l_answer.put('started_at', iso(p_started));
    l_answer.put('expires_at', iso(p_expires));
    start_answer();
    HTP.PRN(l_answer.to_string());
    RETURN c_ok;
  END trial_answer;

  FUNCTION start_trial(p_body IN CLOB) RETURN PLS_INTEGER IS
    l_body JSON_OBJECT_T;
    l_product license_trials.product%TYPE;
    l_machine_key license_trials.machine_key%TYPE;
    l_days license_products.trial_days%TYPE;
    l_started TIMESTAMP;
    l_expires TIMESTAMP;
    l_now TIMESTAMP;
    l_outcome VARCHAR2(16);
  BEGIN
    l_body := parse_body(p_body);
    l_product := text_member(l_body, 'product', TRUE);
    l_machine_key := text_member(l_body, 'machine_key', TRUE);

    -- The product row's lock makes "look up, else insert" one step per product, so two
    -- first requests from one machine start one trial.
    BEGIN
      SELECT trial_days INTO l_days
        FROM license_products
       WHERE product = l_product
         FOR UPDATE WAIT 2;
    EXCEPTION
      WHEN NO_DATA_FOUND THEN
        l_days := NULL;
    END;
    IF l_days IS NULL THEN
      ROLLBACK;
      RETURN fail(c_ok, 'NO_TRIAL');
    END IF;
    l_now := now_utc();
    BEGIN
      SELECT started_at, expires_at INTO l_started, l_expires
        FROM license_trials
       WHERE product = l_product
         AND machine_key = l_machine_key;
      l_outcome := CASE WHEN l_expires > l_now THEN 'TRIAL' ELSE 'TRIAL_EXPIRED' END;
    EXCEPTION
      WHEN NO_DATA_FOUND THEN
        l_started := l_now;
        l_expires := l_now + NUMTODSINTERVAL(l_days, 'DAY');
        INSERT INTO license_trials (product, machine_key, started_at, expires_at)
        VALUES (l_product, l_machine_key, l_started, l_expires);
        l_outcome := 'TRIAL_STARTED';
    END;
    COMMIT;
    RETURN trial_answer(l_outcome, l_started, l_expires);
  EXCEPTION
    WHEN e_bad_request THEN
      ROLLBACK;
      RETURN fail(c_bad_request, 'BAD_REQUEST', SUBSTR(SQLERRM, 12));
    WHEN e_busy THEN
      ROLLBACK;
      RETURN fail(c_busy, 'BUSY');
    WHEN OTHERS THEN
      ROLLBACK;
      RAISE;
  END start_trial;
END license_seats;
/

show errors

-- SQL*Plus goes on after a compilation error; stop here instead. Only errors count:
-- with PLSQL_WARNINGS on (a session, login.sql or a GUI client may turn it on),
-- USER_ERRORS also lists warnings for a package that compiled and is VALID, and its
-- ATTRIBUTE column tells the two apart (ERROR or WARNING; Database Reference,
-- ALL_ERRORS:
-- https://docs.oracle.com/en/database/oracle/oracle-database/23/refrn/ALL_ERRORS.html).
DECLARE
  l_errors PLS_INTEGER;
BEGIN
  SELECT COUNT(*) INTO l_errors
    FROM user_errors
   WHERE name = 'LICENSE_SEATS'
     AND type IN ('PACKAGE', 'PACKAGE BODY')
     AND attribute = 'ERROR';
  IF l_errors > 0 THEN
    RAISE_APPLICATION_ERROR(-20000, 'package license_seats has compilation errors (above)');
  END IF;
END;
/

-- The handlers, on the module schema.sql defines. Each is one line calling the package.
BEGIN
  ORDS.DEFINE_TEMPLATE(
    p_module_name => 'customers',
    p_pattern     => 'seats/:id/activate');
  ORDS.DEFINE_HANDLER(
    p_module_name => 'customers',
    p_pattern     => 'seats/:id/activate',
    p_method      => 'POST',
    p_source_type => ORDS.source_type_plsql,
    p_source      => q'[BEGIN :status_code := license_seats.activate(:id, :body_text); END;]');

  ORDS.DEFINE_TEMPLATE(
    p_module_name => 'customers',
    p_pattern     => 'seats/:id/renew');
  ORDS.DEFINE_HANDLER(
    p_module_name => 'customers',
    p_pattern     => 'seats/:id/renew',
    p_method      => 'POST',
    p_source_type => ORDS.source_type_plsql,
    p_source      => q'[BEGIN :status_code := license_seats.renew(:id, :body_text); END;]');

  ORDS.DEFINE_TEMPLATE(
    p_module_name => 'customers',
    p_pattern     => 'seats/:id/release');
  ORDS.DEFINE_HANDLER(
    p_module_name => 'customers',
    p_pattern     => 'seats/:id/release',
    p_method      => 'POST',
    p_source_type => ORDS.source_type_plsql,
    p_source      => q'[BEGIN :status_code := license_seats.release_seat(:id, :body_text); END;]');

  ORDS.DEFINE_TEMPLATE(
    p_module_name => 'customers',
    p_pattern     => 'seats/:id');
  ORDS.DEFINE_HANDLER(
    p_module_name => 'customers',
    p_pattern     => 'seats/:id',
    p_method      => 'GET',
    p_source_type => ORDS.source_type_plsql,
    p_source      => q'[BEGIN :status_code := license_seats.list_seats(:id); END;]');

  ORDS.DEFINE_TEMPLATE(
    p_module_name => 'customers',
    p_pattern     => 'seats/:id/checkout');
  ORDS.DEFINE_HANDLER(
    p_module_name => 'customers',
    p_pattern     => 'seats/:id/checkout',
    p_method      => 'POST',
    p_source_type => ORDS.source_type_plsql,
    p_source      => q'[BEGIN :status_code := license_seats.checkout(:id, :body_text); END;]');

  ORDS.DEFINE_TEMPLATE(
    p_module_name => 'customers',
    p_pattern     => 'seats/:id/checkin');
  ORDS.DEFINE_HANDLER(
    p_module_name => 'customers',
    p_pattern     => 'seats/:id/checkin',
    p_method      => 'POST',
    p_source_type => ORDS.source_type_plsql,
    p_source      => q'[BEGIN :status_code := license_seats.checkin(:id, :body_text); END;]');

  ORDS.DEFINE_TEMPLATE(
    p_module_name => 'customers',
    p_pattern     => 'trials/start');
  ORDS.DEFINE_HANDLER(
    p_module_name => 'customers',
    p_pattern     => 'trials/start',
    p_method      => 'POST',
    p_source_type => ORDS.source_type_plsql,
    p_source      => q'[BEGIN :status_code := license_seats.start_trial(:body_text); END;]');

  COMMIT;
END;
/
