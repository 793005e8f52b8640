-- oauth_legacy.sql: the OAuth client, with the legacy OAUTH package, as in the article.
-- Deprecated since ORDS 24.3 and desupported from ORDS 25.3: use ords_security.sql
-- there. Run after schema.sql, as the same schema owner.

set serveroutput on
whenever sqlerror exit failure rollback

-- Re-runnable: an existing client is kept (its secret stays readable below).
DECLARE
  l_existing NUMBER;
BEGIN
  SELECT COUNT(*) INTO l_existing
    FROM user_ords_clients
   WHERE name = 'license_backend_client';
  IF l_existing > 0 THEN
    DBMS_OUTPUT.PUT_LINE('client license_backend_client exists already (this script ran before); kept as it is.');
    RETURN;
  END IF;

  OAUTH.CREATE_CLIENT(
    p_name            => 'license_backend_client',
    p_grant_type      => 'client_credentials',
    p_owner           => 'License broker',
    p_description     => 'License broker backend (server to server)',
    p_support_email   => 'ops@example.invalid',
    p_privilege_names => 'license_priv');

  -- The role grant is what authorizes client-credentials tokens: without it the
  -- token is issued but every protected request answers 401.
  OAUTH.GRANT_CLIENT_ROLE(
    p_client_name => 'license_backend_client',
    p_role_name   => 'license_role');

  COMMIT;
END;
/

-- With the legacy package the secret stays readable:
SELECT client_id, client_secret
  FROM user_ords_clients
 WHERE name = 'license_backend_client';
