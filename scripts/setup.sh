#!/usr/bin/env bash
# Installs what pgwarden needs on a fresh Debian machine, when missing: PostgreSQL 15 and etcd
# (Debian packages), the npm dependencies, and the build. With --tests, also what only the tests
# and the fault lab use. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql-15)
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v pg_dump >/dev/null 2>&1 || need+=(postgresql-client-15)
# A floating IP (vip:) is added with iproute2 and announced with iputils arping.
command -v ip >/dev/null 2>&1 || need+=(iproute2)
[ -x /usr/bin/arping ] || need+=(iputils-arping)
# `pgwarden up --tls` makes throwaway certificates with openssl.
command -v openssl >/dev/null 2>&1 || need+=(openssl)
if [ "${1:-}" = "--tests" ]; then
  # The fault lab cuts links with nftables and runs keepalived beside pgwarden's floating IP.
  command -v nft >/dev/null 2>&1 || need+=(nftables)
  command -v keepalived >/dev/null 2>&1 || need+=(keepalived)
  # The proxy's driver suite runs psycopg2 (libpq) with Debian's python3.
  /usr/bin/python3 -c 'import psycopg2' >/dev/null 2>&1 || need+=(python3-psycopg2)
  # Patroni's health-check paths are tested with Debian's HAProxy and Patroni's documented checks.
  [ -x /usr/sbin/haproxy ] || need+=(haproxy)
  # The dashboard is tested in a real browser: Debian's Chromium, driven by playwright-core.
  [ -x /usr/bin/chromium ] || need+=(chromium)
fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing ${need[*]}; run as root (or install them with apt-get) and try again" >&2
    exit 1
  fi
  echo "setup: installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
rm -rf dist
npm run --silent build
chmod +x dist/src/main.js
