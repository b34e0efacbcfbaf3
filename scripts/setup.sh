#!/usr/bin/env bash
# Installs what pgwarden needs on a fresh Debian machine, when missing: PostgreSQL 15 and etcd
# (Debian packages), the npm dependencies, and the build. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql-15)
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
# The fault lab (npm run test:lab) also needs nftables and iproute2.
command -v nft >/dev/null 2>&1 || need+=(nftables)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
# A floating IP (vip:) announces itself with iputils arping; the lab runs keepalived beside it.
[ -x /usr/bin/arping ] || need+=(iputils-arping)
command -v keepalived >/dev/null 2>&1 || need+=(keepalived)
# The proxy's TLS tests and `pgwarden up --tls` make throwaway certificates with openssl.
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# The proxy's driver suite runs psycopg2 (libpq) with Debian's python3, and psql/pg_dump.
/usr/bin/python3 -c 'import psycopg2' >/dev/null 2>&1 || need+=(python3-psycopg2)
command -v pg_dump >/dev/null 2>&1 || need+=(postgresql-client-15)
# Patroni's health-check paths are tested with Debian's HAProxy and Patroni's documented checks.
[ -x /usr/sbin/haproxy ] || need+=(haproxy)
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
