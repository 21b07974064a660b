#!/usr/bin/env bash
# Start the local PostgreSQL 15 cluster and make a role that may create test databases.
# Prints the admin URL the tests use (WARDCAST_TEST_POSTGRES_URL) on stdout, and nothing
# else there: whatever the PostgreSQL tools say goes to stderr.
set -euo pipefail
if [[ $(id -u) -eq 0 ]]; then as_pg=(su postgres -c); sudo=(); else as_pg=(sudo -u postgres sh -c); sudo=(sudo); fi

if ! pg_lsclusters -h 2>/dev/null | grep -q online; then
  cluster=$(pg_lsclusters -h | awk 'NR==1 {print $1" "$2}')
  if [[ -z "$cluster" ]]; then
    "${sudo[@]}" pg_createcluster 15 main >&2
    cluster="15 main"
  fi
  # shellcheck disable=SC2086
  "${sudo[@]}" pg_ctlcluster $cluster start >&2
fi
for _ in $(seq 1 50); do pg_isready -q -h 127.0.0.1 && break; sleep 0.2; done
"${as_pg[@]}" "psql -q -v ON_ERROR_STOP=1 -c \"DO \\\$\\\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'wardcast_test') THEN
    CREATE ROLE wardcast_test LOGIN PASSWORD 'wardcast_test' CREATEDB;
  END IF; END \\\$\\\$; GRANT pg_signal_backend TO wardcast_test;\"" >&2
echo "postgresql+psycopg://wardcast_test:wardcast_test@127.0.0.1:5432/postgres"
