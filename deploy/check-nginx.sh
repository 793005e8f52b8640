#!/usr/bin/env bash
# `nginx -t` on deploy/nginx/license-broker.conf, as nginx would load it from conf.d,
# with a throwaway self-signed certificate in place of the Let's Encrypt paths. Needs
# nginx and openssl; writes only to a temporary directory.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=licenses.example.com \
  -keyout "$work/privkey.pem" -out "$work/fullchain.pem" 2>/dev/null
sed -e "s#/etc/letsencrypt/live/licenses.example.com/#$work/#g" \
  "$here/nginx/license-broker.conf" >"$work/license-broker.conf"
cat >"$work/nginx.conf" <<CONF
pid $work/nginx.pid;
error_log $work/error.log;
events {}
http {
    access_log off;
    client_body_temp_path $work/body;
    proxy_temp_path $work/proxy;
    fastcgi_temp_path $work/fastcgi;
    uwsgi_temp_path $work/uwsgi;
    scgi_temp_path $work/scgi;
    include $work/license-broker.conf;
}
CONF
nginx -t -q -e "$work/error.log" -p "$work" -c "$work/nginx.conf"
echo "nginx -t: deploy/nginx/license-broker.conf is valid ($(nginx -v 2>&1))"
