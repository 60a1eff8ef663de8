#!/usr/bin/env bash
# Makes a PostgreSQL server available on 127.0.0.1:5432 with a test database, idempotently:
# installs Debian's postgresql package if no server is installed, creates and starts a cluster,
# and creates the role and database the tests use. Prints the DATABASE_URL to use.
set -euo pipefail

DB_NAME="${SOVR_TEST_DB:-sovr_test}"
DB_USER="${SOVR_TEST_DB_USER:-sovr}"
DB_PASS="${SOVR_TEST_DB_PASSWORD:-sovr}"
PORT=5432

as_postgres() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }

if ! command -v pg_lsclusters >/dev/null 2>&1 || [ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]; then
  echo "install-postgres: installing PostgreSQL from Debian's packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
fi

version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^${version} main$"; then
  pg_createcluster "$version" main --port "$PORT" >/dev/null
fi
if ! pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $4}' | grep -q online; then
  pg_ctlcluster "$version" main start
fi
for _ in $(seq 1 50); do
  pg_isready -q -h 127.0.0.1 -p "$PORT" && break
  sleep 0.2
done
pg_isready -q -h 127.0.0.1 -p "$PORT" || { echo "install-postgres: server did not come up" >&2; exit 1; }

as_postgres "psql -qtA -p $PORT -c \"select 1 from pg_roles where rolname='${DB_USER}'\"" | grep -q 1 ||
  as_postgres "psql -q -p $PORT -c \"create role ${DB_USER} login superuser password '${DB_PASS}'\""
as_postgres "psql -qtA -p $PORT -c \"select 1 from pg_database where datname='${DB_NAME}'\"" | grep -q 1 ||
  as_postgres "psql -q -p $PORT -c \"create database ${DB_NAME} owner ${DB_USER}\""

echo "postgres://${DB_USER}:${DB_PASS}@127.0.0.1:${PORT}/${DB_NAME}"
