#!/bin/sh
# Check the deploy folder on this machine: the systemd units (with /srv/perkstar pointed at
# this checkout), and nginx.conf when nginx is installed. Run from the repository root.
set -eu
root=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for unit in deploy/systemd/*; do
    sed -e "s#/srv/perkstar#$root#g" -e "s#/etc/perkstar/env#$root/deploy/env.example#g" \
        -e '/^User=/d' -e '/^Group=/d' "$unit" > "$tmp/$(basename "$unit" | sed 's/@\./@1./')"
done
systemd-analyze verify "$tmp"/*.service "$tmp"/*.timer
if command -v nginx >/dev/null; then
    printf 'events {}\nhttp {\n%s\n}\n' "$(sed -e 's#/etc/letsencrypt/live/crm.example.com/#/etc/ssl/#' deploy/nginx.conf)" > "$tmp/nginx.conf"
    nginx -t -c "$tmp/nginx.conf"
fi
echo "deploy/: units OK"
