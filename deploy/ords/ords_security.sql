-- ords_security.sql: the OAuth client, with the ORDS_SECURITY package (ORDS 24.3+).
-- Run after schema.sql, as the same schema owner.
--
-- REGISTER_CLIENT returns the client id and secret ONCE: they are printed below and
-- cannot be read back later (USER_ORDS_CLIENTS shows the secret as ********). Copy
-- them into the broker's LICENSE_BROKER_CLIENT_ID and secret file now. To replace a
-- lost secret, ORDS_SECURITY.ROTATE_CLIENT_SECRET (or REGISTER_CLIENT_SECRET into the
-- other slot, for a rotation without downtime).

set serveroutput on
whenever sqlerror exit failure rollback

-- Re-runnable: when the client exists already the script stops there: the client is
-- left alone (its secret cannot be shown again), the script says how to get a new
-- secret, and the role grant below is not made again. A client whose role was revoked
-- gets it back by granting license_role to license_backend_client with the
-- package's GRANT_CLIENT_ROLE, as below.
DECLARE
  l_client ORDS_TYPES.T_CLIENT_CREDENTIALS;
  l_existing NUMBER;
BEGIN
  SELECT COUNT(*) INTO l_existing
    FROM user_ords_clients
   WHERE name = 'license_backend_client';
  IF l_existing > 0 THEN
    DBMS_OUTPUT.PUT_LINE('client license_backend_client exists already (this script ran before); its secret is not shown again.');
    DBMS_OUTPUT.PUT_LINE('For a new secret, rotate it with ORDS_SECURITY.ROTATE_CLIENT_SECRET; it is printed once, like here.');
    RETURN;
  END IF;

  l_client := ORDS_SECURITY.REGISTER_CLIENT(
    p_name            => 'license_backend_client',
    p_grant_type      => 'client_credentials',
    p_description     => 'License broker backend (server to server)',
    p_support_email   => 'ops@example.invalid',
    p_privilege_names => 'license_priv',
    -- Without p_client_secret, REGISTER_CLIENT registers no secret at all (its default
    -- is ords_constants.oauth_client_secret_skip) and every token request gets 401.
    -- oauth_client_secret() with no arguments has ORDS generate one
    -- (https://docs.oracle.com/en/database/oracle/oracle-rest-data-services/25.3/orddg/ords_security-pl-sql-package-reference.html).
    p_client_secret   => ORDS_TYPES.OAUTH_CLIENT_SECRET());

  -- The role grant is what authorizes client-credentials tokens: without it the
  -- token is issued but every protected request answers 401.
  ORDS_SECURITY.GRANT_CLIENT_ROLE(
    p_client_name => 'license_backend_client',
    p_role_name   => 'license_role');

  COMMIT;

  DBMS_OUTPUT.PUT_LINE('client_id=' || l_client.client_key.client_id);
  DBMS_OUTPUT.PUT_LINE('client_secret=' || l_client.client_secret.secret);
END;
/
