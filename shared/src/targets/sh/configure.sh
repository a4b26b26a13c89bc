# shellcheck shell=bash
# Configures a node from the plan: tuning, TLS, pg_hba, the application role and database.
# Idempotent: running it again converges. Clusters run the same script on every node; the provider
# says which node it is through CLOUDSEED_NODE_ROLE (primary | replica), CLOUDSEED_PRIMARY_HOST
# (replicas) and CLOUDSEED_REPLICA_HOSTS (primary; space-separated), known only once the instances run,
# and a Patroni cluster's nodes also the load balancer's DNS name, CLOUDSEED_ENDPOINT_HOST.
# From the header: PG_BIN, DATA_DIR, CONF_DIR, SERVICE, REGION, PASSWORD_PARAMETER, CA_PARAMETER,
# CA_CERT, DB_NAME, DB_USER, ACCESS_SQL, PGOPTIONS, PASSWORD_SHAPE, SCRAM_VERIFIER_PY, POSTGRESQL_CONF,
# MEMBER_RESTART (an array of name=value: the settings of POSTGRESQL_CONF that take effect only on a
# restart, as pg_settings shows them once they do), PG_HBA, PG_IDENT, INCLUDE_LINE, CLUSTERED
# (non-empty for a cluster) and, for a cluster, REPLICATION_USER, REPLICATION_PASSWORD_PARAMETER and
# REPLICATION_MARKER (the line of PG_HBA the replicas' rules replace); ADMIT_VPC (non-empty when apps
# of the plan use the database) and APPS_MARKER (the line their rules replace).
# Continuous archiving: STANZA, ARCHIVE_CONF (pgbackrest.conf with ARCHIVE_BUCKET_TOKEN and
# ARCHIVE_CIPHER_TOKEN in it), ARCHIVE_CONF_FILE, ARCHIVE_DIRS (an array), ARCHIVE_BUCKET_PREFIX,
# CIPHER_PARAMETER, HEARTBEAT_SQL and HEARTBEAT_SECONDS. CLOUDSEED_REBUILD_REPLICA (non-empty) makes
# a replica clone its primary again even when it already is one (after a point-in-time restore).
# METRICS_COLLECTOR_BASE64, METRICS_CONFIG_BASE64 and METRICS_SECONDS: the metrics collector, its
# settings (JSON) and how often a timer runs it; METRICS_PUBLISHER_BASE64 (GCP, Azure): the script the
# timer runs instead, which stores the collector's samples beside the backups.
# SERVER_CERT and SERVER_KEY: where the server's certificate goes. PATRONI (non-empty) hands the node
# to Patroni (patroni.sh, sent before this file); the rewind role's rules join the replication ones.
set -euo pipefail
umask 077
NODE_ROLE="${CLOUDSEED_NODE_ROLE:-primary}"
export PATH="$PG_BIN:$PATH"
# Superuser sessions find no function or operator of the tenant's by name (admin-session.ts).
export PGOPTIONS
run_sql() { runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 "$@"; }
# Installs and starts cloudseed-$1: a oneshot service run as postgres ($4, the command) every $3 s by
# its timer, which starts counting at boot. $2 says what it does.
install_postgres_timer() {
  cat > "/etc/systemd/system/cloudseed-$1.service" <<UNIT
[Unit]
Description=CloudSeed: $2

[Service]
Type=oneshot
User=postgres
Environment="PGOPTIONS=$PGOPTIONS"
ExecStart=$4
UNIT
  cat > "/etc/systemd/system/cloudseed-$1.timer" <<UNIT
[Unit]
Description=CloudSeed: $2, every $3 s

[Timer]
OnBootSec=${3}s
OnUnitActiveSec=${3}s
AccuracySec=1s

[Install]
WantedBy=timers.target
UNIT
  chmod 0644 "/etc/systemd/system/cloudseed-$1.service" "/etc/systemd/system/cloudseed-$1.timer"
  systemctl daemon-reload
  systemctl enable --now "cloudseed-$1.timer"
}
# Whether the server runs with another value than the plan's of a setting that needs a restart.
# PostgreSQL marks such a setting pending_restart only once its reload is done; the values are
# compared instead, so a check right after a reload is not too early.
runs_stale_settings() {
  local check
  for check in "${MEMBER_RESTART[@]}"; do
    [ "$(run_sql -tA -c "SELECT setting FROM pg_settings WHERE name = '${check%%=*}'")" = "${check#*=}" ] || return 0
  done
  return 1
}
is_ipv4() { [[ "$1" =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}$ ]]; }
# $1: the parameter, $2: what it is. A password of another shape could break out of a pgpass line.
read_password() {
  local password
  password="$(read_secret "$1")"
  [[ "$password" =~ $PASSWORD_SHAPE ]] || { echo "$2 does not hold a CloudSeed-generated password" >&2; exit 1; }
  printf '%s' "$password"
}
# Prints the SCRAM-SHA-256 verifier of password $1; printf, a shell builtin, hands it to python3.
scram_verifier() {
  local verifier
  verifier="$(printf '%s' "$1" | python3 -c "$SCRAM_VERIFIER_PY")"
  [[ "$verifier" =~ ^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$ ]] || { echo "could not compute a SCRAM verifier" >&2; exit 1; }
  printf '%s' "$verifier"
}
# Prints pg_hba.conf: the plan's rules, and for a cluster one rule per replica address in CLOUDSEED_REPLICA_HOSTS.
render_hba() {
  if [ -z "$CLUSTERED" ]; then
    printf '%s\n' "$PG_HBA"
    return
  fi
  local host rules=""
  for host in ${CLOUDSEED_REPLICA_HOSTS:-}; do
    is_ipv4 "$host" || { echo "CLOUDSEED_REPLICA_HOSTS holds something that is not an IPv4 address" >&2; exit 1; }
    rules+="hostssl  replication  $REPLICATION_USER    $host/32               scram-sha-256"$'\n'
    if [ -n "$PATRONI" ]; then rules+="hostssl  postgres     $REWIND_USER $host/32               scram-sha-256"$'\n'; fi
  done
  printf '%s\n' "${PG_HBA/"$REPLICATION_MARKER"/$rules}"
}

# A re-deploy may have grown the disk: grow the partition and the file system to match.
ROOT_SOURCE="$(findmnt -n -o SOURCE /)"
ROOT_DISK="/dev/$(lsblk -n -o PKNAME "$ROOT_SOURCE")"
ROOT_PARTITION="$(cat "/sys/class/block/$(basename "$ROOT_SOURCE")/partition")"
growpart "$ROOT_DISK" "$ROOT_PARTITION" || [ "$?" -eq 1 ]  # 1: already the full size
case "$(findmnt -n -o FSTYPE /)" in
  xfs) xfs_growfs / ;;
  ext4) resize2fs "$ROOT_SOURCE" ;;
esac
grow_data_disk

# The plan's CA: its certificate stays (replicas verify their primary with it), its key only while this runs.
CA_WORK="$(mktemp -d)"
trap 'rm -rf "$CA_WORK"' EXIT
read_secret "$CA_PARAMETER" > "$CA_WORK/ca.pem"
openssl x509 -in "$CA_WORK/ca.pem" -out "$CA_WORK/ca.crt"
install -D -m 644 "$CA_WORK/ca.crt" "$CA_CERT"

CLONED=''
if [ -n "$CLUSTERED" ] && [ -z "$PATRONI" ] && [ "$NODE_ROLE" = replica ] && { [ ! -f "$DATA_DIR/standby.signal" ] || [ -n "${CLOUDSEED_REBUILD_REPLICA:-}" ]; }; then
  # A new replica starts as a copy of the primary, streamed over TLS.
  PRIMARY_HOST="${CLOUDSEED_PRIMARY_HOST:?the primary host is required for a replica}"
  is_ipv4 "$PRIMARY_HOST" || { echo "CLOUDSEED_PRIMARY_HOST is not an IPv4 address" >&2; exit 1; }
  REPLICATION_PASSWORD="$(read_password "$REPLICATION_PASSWORD_PARAMETER" "the replication password parameter")"
  systemctl stop "$SERVICE" || true
  find "$DATA_DIR" -mindepth 1 -delete
  PGPASS_FILE="$(mktemp)"
  printf '%s:5432:replication:%s:%s\n' "$PRIMARY_HOST" "$REPLICATION_USER" "$REPLICATION_PASSWORD" > "$PGPASS_FILE"
  chown postgres:postgres "$PGPASS_FILE"
  runuser -u postgres -- env PGPASSFILE="$PGPASS_FILE" pg_basebackup --pgdata="$DATA_DIR" --wal-method=stream --write-recovery-conf \
    --dbname="host=$PRIMARY_HOST port=5432 user=$REPLICATION_USER sslmode=verify-full sslrootcert=$CA_CERT"
  rm -f "$PGPASS_FILE"
  unset REPLICATION_PASSWORD
  CLONED=yes
fi

# The server certificate, signed by the plan's CA for every name and address clients may use (from
# the instance metadata service), so that sslmode=verify-full holds. It is issued again when the CA
# or the names changed or its end is near. The CA's key is on the node only while it signs, in a
# directory only root can read.
PRIVATE_IP="$(private_ipv4)"
is_ipv4 "$PRIVATE_IP" || { echo "the cloud gave no private IPv4 address" >&2; exit 1; }
SANS="DNS:localhost,IP:127.0.0.1,IP:$PRIVATE_IP"
PUBLIC_IP="$(public_ipv4)"
if is_ipv4 "$PUBLIC_IP"; then SANS+=",IP:$PUBLIC_IP"; fi
# A Patroni cluster's load balancer forwards clients to whichever node leads: every node's
# certificate names it.
while read -r name; do
  if [[ "$name" =~ ^[A-Za-z0-9.-]+$ ]]; then SANS+=",DNS:$name"; fi
done < <(node_host_names; printf '%s\n' "${CLOUDSEED_ENDPOINT_HOST:-}")
CERT="$SERVER_CERT"
KEY="$SERVER_KEY"
NAMES="${SERVER_CERT%.crt}.names"
if [ -n "$PATRONI" ]; then install -d -o postgres -g postgres -m 0700 "$(dirname "$CERT")"; fi
if ! openssl verify -CAfile "$CA_WORK/ca.crt" "$CERT" >/dev/null 2>&1 \
  || ! openssl x509 -in "$CERT" -noout -checkend 2592000 >/dev/null \
  || [ "$(cat "$NAMES" 2>/dev/null)" != "$SANS" ]; then
  openssl pkey -in "$CA_WORK/ca.pem" -out "$CA_WORK/ca.key"
  openssl req -x509 -new -newkey rsa:2048 -nodes -days 397 -subj "/CN=$PRIVATE_IP" \
    -CA "$CA_WORK/ca.crt" -CAkey "$CA_WORK/ca.key" -keyout "$CA_WORK/server.key" -out "$CA_WORK/server.crt" \
    -addext "subjectAltName=$SANS" -addext "basicConstraints=critical,CA:FALSE" \
    -addext "keyUsage=critical,digitalSignature,keyEncipherment" -addext "extendedKeyUsage=serverAuth"
  install -o postgres -g postgres -m 600 "$CA_WORK/server.key" "$KEY"
  install -o postgres -g postgres -m 644 "$CA_WORK/server.crt" "$CERT"
  printf '%s\n' "$SANS" > "$NAMES"
fi
rm -rf "$CA_WORK"

# Continuous archiving: this node's own pgBackRest config (a promoted replica archives with its own
# paths). The repository is the cloud's backup bucket (archive_bucket); the passphrase comes from
# the secret store into the file alone (0640 root:postgres), never into a command line.
ARCHIVE_BUCKET="$(archive_bucket)"
install -d -o root -g postgres -m 0750 "$(dirname "$ARCHIVE_CONF_FILE")"
for dir in "${ARCHIVE_DIRS[@]}"; do install -d -o postgres -g postgres -m 0750 "$dir"; done
ARCHIVE_TEXT="${ARCHIVE_CONF/"$ARCHIVE_BUCKET_TOKEN"/"$ARCHIVE_BUCKET"}"
CIPHER_PASS="$(read_password "$CIPHER_PARAMETER" "the repository passphrase parameter")"
ARCHIVE_TEXT="${ARCHIVE_TEXT/"$ARCHIVE_CIPHER_TOKEN"/"$CIPHER_PASS"}"
printf '%s\n' "$ARCHIVE_TEXT" > "$ARCHIVE_CONF_FILE.new"
unset CIPHER_PASS ARCHIVE_TEXT
chown root:postgres "$ARCHIVE_CONF_FILE.new"
chmod 0640 "$ARCHIVE_CONF_FILE.new"
mv -f "$ARCHIVE_CONF_FILE.new" "$ARCHIVE_CONF_FILE"

# The heartbeat: a commit every HEARTBEAT_SECONDS on whichever node is the primary, so that every time
# in the recovery window has a later commit for a point-in-time restore to stop at.
install -d -m 0755 /etc/cloudseed
printf '%s\n' "$HEARTBEAT_SQL" > /etc/cloudseed/heartbeat.sql
chmod 0644 /etc/cloudseed/heartbeat.sql
cat > /usr/local/sbin/cloudseed-heartbeat <<HEARTBEAT
#!/bin/sh
# A replica (in recovery) has nothing to commit; it starts beating when it is promoted.
set -e
[ "\$("$PG_BIN/psql" -X -At -d postgres -c 'SELECT pg_catalog.pg_is_in_recovery()')" = f ] || exit 0
exec "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d postgres -f /etc/cloudseed/heartbeat.sql
HEARTBEAT
chmod 0755 /usr/local/sbin/cloudseed-heartbeat
install_postgres_timer heartbeat "a heartbeat commit for point-in-time recovery" "$HEARTBEAT_SECONDS" /usr/local/sbin/cloudseed-heartbeat

# Metrics: the collector samples the node and its server as postgres every METRICS_SECONDS. On AWS it
# publishes to CloudWatch through the instance role, which may write only CloudSeed's namespace;
# elsewhere publish-metrics.sh stores its samples under the component's backup prefix.
if [ -n "${METRICS_COLLECTOR_BASE64:-}" ]; then
  install -d -m 0755 /usr/local/lib/cloudseed
  install -d -m 0700 -o postgres -g postgres /var/lib/cloudseed
  printf '%s' "$METRICS_COLLECTOR_BASE64" | base64 -d > /usr/local/lib/cloudseed/collect-metrics.py
  printf '%s' "$METRICS_CONFIG_BASE64" | base64 -d > /etc/cloudseed/metrics.json
  chmod 0644 /usr/local/lib/cloudseed/collect-metrics.py /etc/cloudseed/metrics.json
  metrics_command="/usr/bin/python3 /usr/local/lib/cloudseed/collect-metrics.py"
  if [ -n "${METRICS_PUBLISHER_BASE64:-}" ]; then
    printf '%s' "$METRICS_PUBLISHER_BASE64" | base64 -d > /usr/local/lib/cloudseed/publish-metrics.sh
    chmod 0644 /usr/local/lib/cloudseed/publish-metrics.sh
    metrics_command="/bin/bash /usr/local/lib/cloudseed/publish-metrics.sh"
  fi
  install_postgres_timer metrics "the node's metrics, to the cloud" "$METRICS_SECONDS" "$metrics_command"
fi

HBA="$(render_hba)"
# Apps of the plan run in the private network (ECS tasks get addresses from the VPC's subnets): the
# application role may connect from its IPv4 ranges; the firewall admits only the apps themselves.
if [ -n "$ADMIT_VPC" ]; then
  app_rules=""
  for cidr in $(network_ranges); do
    [[ "$cidr" =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2}$ ]] || { echo "the cloud gave a private network range that is not an IPv4 CIDR" >&2; exit 1; }
    app_rules+="hostssl  $DB_NAME  $DB_USER  $cidr  scram-sha-256"$'\n'
  done
  [ -n "$app_rules" ] || { echo "the cloud gave no private network range for the plan's apps" >&2; exit 1; }
  HBA="${HBA/"$APPS_MARKER"/$app_rules}"
fi
# The server under the distribution's service, with the plan's files.
configure_with_service() {
  printf '%s\n' "$POSTGRESQL_CONF" > "$CONF_DIR/cloudseed.conf"
  printf '%s\n' "$PG_IDENT" > "$CONF_DIR/pg_ident.conf"
  printf '%s\n' "$HBA" > "$CONF_DIR/pg_hba.conf"
  chown postgres:postgres "$CONF_DIR/cloudseed.conf" "$CONF_DIR/pg_ident.conf" "$CONF_DIR/pg_hba.conf"
  grep -qxF "$INCLUDE_LINE" "$CONF_DIR/postgresql.conf" || echo "$INCLUDE_LINE" >> "$CONF_DIR/postgresql.conf"
  systemctl start "$SERVICE"
  systemctl reload "$SERVICE"
  if runs_stale_settings || [ "$(run_sql -tA -c "SELECT count(*) FROM pg_settings WHERE pending_restart")" != 0 ]; then
    systemctl restart "$SERVICE"
  fi
}

if [ -n "$PATRONI" ]; then
  configure_patroni
  # Whichever member leads now creates the roles below; the others are configured once they stream.
  if is_leader; then
    NODE_ROLE=primary
  else
    NODE_ROLE=replica
    CLONED=yes
  fi
else
  configure_with_service
fi
if [ "$NODE_ROLE" = replica ]; then
  if [ -n "$CLONED" ]; then
    # A new clone is configured once it streams from its primary.
    for _ in $(seq 1 60); do
      [ "$(run_sql -tA -c "SELECT count(*) FROM pg_catalog.pg_stat_wal_receiver WHERE status = 'streaming'")" = 1 ] && break
      sleep 5
    done
    [ "$(run_sql -tA -c "SELECT count(*) FROM pg_catalog.pg_stat_wal_receiver WHERE status = 'streaming'")" = 1 ] \
      || { echo "the replica does not stream from its primary after 5 minutes" >&2; exit 1; }
  fi
  if [ -n "$PATRONI" ]; then wait_in_failsafe; fi
  echo "PostgreSQL replica configured${PATRONI:+ (Patroni)}"
  exit 0
fi

# Passwords never appear in a command line, nor reach the server: only their SCRAM verifiers do
# (pg_stat_statements and the statement log would otherwise keep the password in ALTER ROLE's text).
DB_PASSWORD="$(read_password "$PASSWORD_PARAMETER" "the password parameter")"
DB_VERIFIER="$(scram_verifier "$DB_PASSWORD")"
unset DB_PASSWORD
if [ -n "$CLUSTERED" ]; then
  REPLICATION_PASSWORD="$(read_password "$REPLICATION_PASSWORD_PARAMETER" "the replication password parameter")"
  REPLICATION_VERIFIER="$(scram_verifier "$REPLICATION_PASSWORD")"
  unset REPLICATION_PASSWORD
fi
if [ -n "$PATRONI" ]; then
  REWIND_PASSWORD="$(read_password "$REWIND_PASSWORD_PARAMETER" "the rewind password parameter")"
  REWIND_VERIFIER="$(scram_verifier "$REWIND_PASSWORD")"
  unset REWIND_PASSWORD
fi
{
  printf '\\set db_verifier '\''%s'\''\n' "$DB_VERIFIER"
  printf '\\set db_name %s\n\\set db_user %s\n' "$DB_NAME" "$DB_USER"
  cat <<'CLOUDSEED_SQL'
SET log_statement = 'none';
SET log_min_duration_statement = -1;
SELECT format('CREATE ROLE %I LOGIN', :'db_user') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'db_user') \gexec
ALTER ROLE :"db_user" WITH LOGIN NOSUPERUSER NOCREATEROLE NOREPLICATION PASSWORD :'db_verifier';
SELECT format('CREATE DATABASE %I OWNER %I', :'db_name', :'db_user') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db_name') \gexec
CLOUDSEED_SQL
  if [ -n "$CLUSTERED" ]; then
    printf '\\set replication_verifier '\''%s'\''\n\\set replication_user %s\n' "$REPLICATION_VERIFIER" "$REPLICATION_USER"
    cat <<'CLOUDSEED_SQL'
SELECT format('CREATE ROLE %I REPLICATION LOGIN', :'replication_user') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'replication_user') \gexec
ALTER ROLE :"replication_user" WITH REPLICATION LOGIN PASSWORD :'replication_verifier';
CLOUDSEED_SQL
  fi
  if [ -n "$PATRONI" ]; then
    # pg_rewind's login when an old leader rejoins: only the functions it calls, no superuser.
    printf '\\set rewind_verifier '\''%s'\''\n\\set rewind_user %s\n' "$REWIND_VERIFIER" "$REWIND_USER"
    cat <<'CLOUDSEED_SQL'
SELECT format('CREATE ROLE %I LOGIN', :'rewind_user') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'rewind_user') \gexec
ALTER ROLE :"rewind_user" WITH LOGIN NOSUPERUSER NOREPLICATION PASSWORD :'rewind_verifier';
CLOUDSEED_SQL
    for grant in "${REWIND_GRANTS[@]}"; do printf 'GRANT EXECUTE ON FUNCTION %s TO :"rewind_user";\n' "$grant"; done
  fi
  # The plan's other databases and roles (shared/src/postgres/access.ts).
  printf '%s\n' "$ACCESS_SQL"
} | run_sql -d postgres

# The cluster's stanza in the repository; done already is fine. pgBackRest writes its messages to
# standard output, which SSM would not show as the reason. The running server's asynchronous
# archive-push holds the archive lock while it pushes: a busy lock is waited out.
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  if STANZA_OUT="$(runuser -u postgres -- pgbackrest --config="$ARCHIVE_CONF_FILE" --stanza="$STANZA" stanza-create 2>&1)"; then break; fi
  if [[ "$STANZA_OUT" != *'unable to acquire lock'* ]] || [ "$attempt" -eq 10 ]; then
    printf '%s\n' "$STANZA_OUT" >&2
    echo "pgbackrest stanza-create failed (see above)" >&2
    exit 1
  fi
  sleep 1
done
echo "PostgreSQL configured"
