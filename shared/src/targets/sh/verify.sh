# shellcheck shell=bash
# Checks a node the way a client would: the local superuser runs SELECT 1, then the application role
# connects over TCP with sslmode=verify-full against the plan's CA and confirms its own connection is
# TLS. The password is read from the secret store into PGPASSWORD, never written anywhere.
# From the header: REGION, PASSWORD_PARAMETER, PGPORT, PGSSLROOTCERT, PGUSER, PGDATABASE.
set -euo pipefail
umask 077
[ "$(runuser -u postgres -- psql -X -tA -c 'SELECT 1')" = 1 ] || { echo "PostgreSQL does not answer SELECT 1 locally" >&2; exit 1; }
PGPASSWORD="$(read_secret "$PASSWORD_PARAMETER")"
export PGPASSWORD PGHOST=127.0.0.1 PGPORT PGSSLMODE=verify-full PGSSLROOTCERT PGUSER PGDATABASE PGCONNECT_TIMEOUT=10
[ "$(psql -X -tA -c 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')" = t ] || { echo "the application role's connection is not TLS" >&2; exit 1; }
echo "PostgreSQL answers over TLS"
