import type { OsImage } from '../catalog/index.ts';
import type { Component } from '../cs-json/schema.ts';
import { REPLICATION_MARKER, REPLICATION_USER, renderPgHba, renderPostgresqlConf } from './postgres-config.ts';
import type { ServerLayout } from './postgres-config.ts';

// Shell scripts that SSM Run Command executes as root on the instance. Every value that comes
// from the plan is assigned once, single-quoted, at the top; the rest of the script only expands
// those variables in double quotes. Both scripts are idempotent: running them again converges.

export interface ConfigureContext {
  readonly region: string;
  /** SecureString parameter that holds the application role's password. */
  readonly passwordParameter: string;
  /** SecureString parameter that holds the replication role's password (clusters only). */
  readonly replicationPasswordParameter?: string;
}

/** Single-quotes a value for bash; the only character that needs care inside '…' is ' itself. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

export function configDir(image: OsImage, pgMajor: number): string {
  return image.packageManager === 'apt' ? `/etc/postgresql/${pgMajor}/main` : image.dataDir(pgMajor);
}

export function awsServerLayout(image: OsImage, pgMajor: number): ServerLayout {
  const dataDir = image.dataDir(pgMajor);
  return {
    listenAddresses: '*',
    port: 5432,
    sslCertFile: `${dataDir}/cloudseed-server.crt`,
    sslKeyFile: `${dataDir}/cloudseed-server.key`,
    logDirectory: image.packageManager === 'apt' ? '/var/log/postgresql' : 'log',
  };
}

/** The replication password lives beside the application role's: `/cloudseed/<plan>/<component>/replication-password`. */
export function replicationPasswordParameterFor(passwordParameter: string): string {
  return passwordParameter.replace(/[^/]*$/, 'replication-password');
}

/** The instance's own address for TLS self-checks. */
export const INSTANCE_LOOPBACK = ['127.0.0.1/32'] as const;

const HEADER = ['#!/usr/bin/env bash', 'set -euo pipefail', 'umask 077'];

export function renderInstallScript(component: Component, image: OsImage): string {
  const major = Number(component.db.version);
  const packages = image.packages(major).map(shellQuote).join(' ');
  const lines = [...HEADER, `# Installs PostgreSQL ${major} on ${image.label}.`, `PG_MAJOR=${shellQuote(String(major))}`];
  if (image.packageManager === 'dnf') {
    lines.push(
      // iptables-nft: the IMDS guard below (Amazon Linux 2023 ships without iptables).
      `dnf install -y ${packages} openssl iptables-nft`,
      `DATA_DIR=${shellQuote(image.dataDir(major))}`,
      'if [ ! -s "$DATA_DIR/PG_VERSION" ]; then',
      '  postgresql-setup --initdb',
      'fi',
      `systemctl enable ${shellQuote(image.serviceName(major))}`,
    );
  } else {
    lines.push(
      'export DEBIAN_FRONTEND=noninteractive',
      'apt-get update -q',
      'apt-get install -y -q postgresql-common ca-certificates openssl iptables',
    );
    if (image.needsPgdg(major)) {
      lines.push('# The PostgreSQL project\'s own repository carries the majors the distribution does not.', '/usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y');
    }
    lines.push(
      `apt-get install -y -q ${packages}`,
      image.name === 'ubuntu' ? 'command -v aws >/dev/null || snap install aws-cli --classic' : 'command -v aws >/dev/null || apt-get install -y -q awscli',
      '# The package creates the "main" cluster; make sure it exists after a partial earlier run.',
      'if [ ! -d "/etc/postgresql/$PG_MAJOR/main" ]; then',
      '  pg_createcluster "$PG_MAJOR" main',
      'fi',
      `systemctl enable ${shellQuote(image.serviceName(major))}`,
    );
  }
  lines.push(...imdsGuard(image.serviceName(major)), 'echo "PostgreSQL $PG_MAJOR installed"', '');
  return lines.join('\n');
}

/** The instance metadata service, over IPv4 and (when the instance enables it) IPv6. */
export const IMDS_ADDRESSES = { ipv4: '169.254.169.254', ipv6: 'fd00:ec2::254' } as const;

/**
 * Keeps the postgres OS user away from the instance metadata service, whose credentials are the
 * node role's: a database role that can run programs on the server (COPY ... PROGRAM, untrusted
 * languages) runs them as postgres. A oneshot unit adds the owner-match rules at every boot, before
 * PostgreSQL starts; the rules are checked (-C) before they are added, so a re-run adds nothing.
 */
function imdsGuard(postgresService: string): string[] {
  const rule = (address: string) => `OUTPUT -d ${address} -m owner --uid-owner postgres -j REJECT`;
  return [
    '# The postgres OS user may not reach the instance metadata service (the node role\'s credentials).',
    "cat > /usr/local/sbin/cloudseed-imds-guard <<'GUARD'",
    '#!/bin/sh',
    'set -e',
    `iptables -C ${rule(IMDS_ADDRESSES.ipv4)} 2>/dev/null || iptables -A ${rule(IMDS_ADDRESSES.ipv4)}`,
    'if [ -e /proc/net/if_inet6 ]; then',
    `  ip6tables -C ${rule(IMDS_ADDRESSES.ipv6)} 2>/dev/null || ip6tables -A ${rule(IMDS_ADDRESSES.ipv6)}`,
    'fi',
    'GUARD',
    'chmod 0755 /usr/local/sbin/cloudseed-imds-guard',
    "cat > /etc/systemd/system/cloudseed-imds-guard.service <<'UNIT'",
    '[Unit]',
    'Description=CloudSeed: the postgres user may not reach the instance metadata service',
    'DefaultDependencies=no',
    'Wants=network-pre.target',
    `Before=network-pre.target ${postgresService}.service`,
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    'ExecStart=/usr/local/sbin/cloudseed-imds-guard',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    'UNIT',
    'chmod 0644 /etc/systemd/system/cloudseed-imds-guard.service',
    'systemctl daemon-reload',
    'systemctl enable cloudseed-imds-guard.service',
    // restart, not start: a oneshot that ran already (RemainAfterExit) would not run again, and the
    // rules may have been flushed since.
    'systemctl restart cloudseed-imds-guard.service',
  ];
}

/**
 * Configures a node. Clusters run the same script on every node; the provider says which node it
 * is through CLOUDSEED_NODE_ROLE (primary | replica), CLOUDSEED_PRIMARY_HOST (replicas) and
 * CLOUDSEED_REPLICA_HOSTS (primary; space-separated), known only once the instances run.
 */
export function renderConfigureScript(component: Component, image: OsImage, context: ConfigureContext): string {
  const major = Number(component.db.version);
  const layout = awsServerLayout(image, major);
  const confDir = configDir(image, major);
  const conf = renderPostgresqlConf(component, layout);
  const clustered = component.db.topology.mode === 'cluster';
  // The instance checks itself over TLS from loopback (verify, health), so loopback is a client too.
  const hba = renderPgHba(component, { extraCidrs: INSTANCE_LOOPBACK, replicationMarker: clustered });
  const includeLine = "include_if_exists = 'cloudseed.conf'";
  const lines = [
    ...HEADER,
    '# Configures the server from the plan: tuning, TLS, pg_hba, the application role and database.',
    `PG_BIN=${shellQuote(image.binDir(major))}`,
    `DATA_DIR=${shellQuote(image.dataDir(major))}`,
    `CONF_DIR=${shellQuote(confDir)}`,
    `SERVICE=${shellQuote(image.serviceName(major))}`,
    `REGION=${shellQuote(context.region)}`,
    `PASSWORD_PARAMETER=${shellQuote(context.passwordParameter)}`,
    `DB_NAME=${shellQuote(component.db.databaseName)}`,
    `DB_USER=${shellQuote(component.db.username)}`,
    'NODE_ROLE="${CLOUDSEED_NODE_ROLE:-primary}"',
    'export PATH="$PG_BIN:$PATH"',
    'run_sql() { runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 "$@"; }',
    'read_secret() { aws ssm get-parameter --region "$REGION" --name "$1" --with-decryption --query Parameter.Value --output text; }',
    'is_ipv4() { [[ "$1" =~ ^([0-9]{1,3}\\.){3}[0-9]{1,3}$ ]]; }',
    '',
    '# A re-deploy may have grown the disk: grow the partition and the file system to match.',
    'ROOT_SOURCE="$(findmnt -n -o SOURCE /)"',
    'ROOT_DISK="/dev/$(lsblk -n -o PKNAME "$ROOT_SOURCE")"',
    'ROOT_PARTITION="$(cat "/sys/class/block/$(basename "$ROOT_SOURCE")/partition")"',
    'growpart "$ROOT_DISK" "$ROOT_PARTITION" || [ "$?" -eq 1 ]  # 1: already the full size',
    'case "$(findmnt -n -o FSTYPE /)" in',
    '  xfs) xfs_growfs / ;;',
    '  ext4) resize2fs "$ROOT_SOURCE" ;;',
    'esac',
    '',
  ];
  if (clustered) {
    lines.push(
      `REPLICATION_USER=${shellQuote(REPLICATION_USER)}`,
      `REPLICATION_PASSWORD_PARAMETER=${shellQuote(context.replicationPasswordParameter ?? replicationPasswordParameterFor(context.passwordParameter))}`,
      'if [ "$NODE_ROLE" = replica ] && [ ! -f "$DATA_DIR/standby.signal" ]; then',
      '  # A new replica starts as a copy of the primary, streamed over TLS.',
      '  PRIMARY_HOST="${CLOUDSEED_PRIMARY_HOST:?the primary host is required for a replica}"',
      '  is_ipv4 "$PRIMARY_HOST" || { echo "CLOUDSEED_PRIMARY_HOST is not an IPv4 address" >&2; exit 1; }',
      '  REPLICATION_PASSWORD="$(read_secret "$REPLICATION_PASSWORD_PARAMETER")"',
      '  systemctl stop "$SERVICE" || true',
      '  find "$DATA_DIR" -mindepth 1 -delete',
      '  PGPASS_FILE="$(mktemp)"',
      '  printf \'%s:5432:replication:%s:%s\\n\' "$PRIMARY_HOST" "$REPLICATION_USER" "$REPLICATION_PASSWORD" > "$PGPASS_FILE"',
      '  chown postgres:postgres "$PGPASS_FILE"',
      '  runuser -u postgres -- env PGPASSFILE="$PGPASS_FILE" pg_basebackup --pgdata="$DATA_DIR" --wal-method=stream --write-recovery-conf \\',
      '    --dbname="host=$PRIMARY_HOST port=5432 user=$REPLICATION_USER sslmode=require"',
      '  rm -f "$PGPASS_FILE"',
      '  unset REPLICATION_PASSWORD',
      'fi',
      '',
    );
  }
  lines.push(
    '# A self-signed certificate, made once; clients verify the server with it or pin it.',
    'if [ ! -s "$DATA_DIR/cloudseed-server.key" ]; then',
    '  openssl req -new -x509 -days 825 -nodes -newkey rsa:3072 -subj "/CN=$(hostname -f)" \\',
    '    -keyout "$DATA_DIR/cloudseed-server.key" -out "$DATA_DIR/cloudseed-server.crt"',
    '  chown postgres:postgres "$DATA_DIR/cloudseed-server.key" "$DATA_DIR/cloudseed-server.crt"',
    '  chmod 600 "$DATA_DIR/cloudseed-server.key"',
    'fi',
    '',
    "cat > \"$CONF_DIR/cloudseed.conf\" <<'CLOUDSEED_CONF'",
    conf.trimEnd(),
    'CLOUDSEED_CONF',
    "HBA=\"$(cat <<'CLOUDSEED_HBA'",
    hba.trimEnd(),
    'CLOUDSEED_HBA',
    ')"',
  );
  if (clustered) {
    lines.push(
      'REPLICATION_RULES=""',
      'for host in ${CLOUDSEED_REPLICA_HOSTS:-}; do',
      '  is_ipv4 "$host" || { echo "CLOUDSEED_REPLICA_HOSTS holds something that is not an IPv4 address" >&2; exit 1; }',
      '  REPLICATION_RULES+="hostssl  replication  $REPLICATION_USER    $host/32               scram-sha-256"$\'\\n\'',
      'done',
      `HBA="\${HBA/${shellQuote(REPLICATION_MARKER)}/$REPLICATION_RULES}"`,
    );
  }
  lines.push(
    'printf \'%s\\n\' "$HBA" > "$CONF_DIR/pg_hba.conf"',
    'chown postgres:postgres "$CONF_DIR/cloudseed.conf" "$CONF_DIR/pg_hba.conf"',
    `grep -qxF ${shellQuote(includeLine)} "$CONF_DIR/postgresql.conf" || echo ${shellQuote(includeLine)} >> "$CONF_DIR/postgresql.conf"`,
    '',
    'systemctl start "$SERVICE"',
    'systemctl reload "$SERVICE"',
    'if [ "$(run_sql -tA -c "SELECT count(*) FROM pg_settings WHERE pending_restart")" != 0 ]; then',
    '  systemctl restart "$SERVICE"',
    'fi',
    'if [ "$NODE_ROLE" = replica ]; then',
    '  echo "PostgreSQL replica configured"',
    '  exit 0',
    'fi',
    '',
    '# Passwords never appear in a command line: they are read into variables and written to',
    '# psql\'s standard input by printf, a shell builtin.',
    'DB_PASSWORD="$(read_secret "$PASSWORD_PARAMETER")"',
    'if ! [[ "$DB_PASSWORD" =~ ^[A-Za-z0-9]{24,128}$ ]]; then',
    '  echo "the password parameter does not hold a CloudSeed-generated password" >&2',
    '  exit 1',
    'fi',
  );
  if (clustered) lines.push('REPLICATION_PASSWORD="$(read_secret "$REPLICATION_PASSWORD_PARAMETER")"');
  lines.push(
    '{',
    "  printf '\\\\set db_password %s\\n' \"$DB_PASSWORD\"",
    "  printf '\\\\set db_name %s\\n\\\\set db_user %s\\n' \"$DB_NAME\" \"$DB_USER\"",
  );
  if (clustered) lines.push("  printf '\\\\set replication_password %s\\n\\\\set replication_user %s\\n' \"$REPLICATION_PASSWORD\" \"$REPLICATION_USER\"");
  lines.push(
    "  cat <<'CLOUDSEED_SQL'",
    "SET log_statement = 'none';",
    'SET log_min_duration_statement = -1;',
    "SELECT format('CREATE ROLE %I LOGIN', :'db_user') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'db_user') \\gexec",
    "ALTER ROLE :\"db_user\" WITH LOGIN PASSWORD :'db_password';",
    "SELECT format('CREATE DATABASE %I OWNER %I', :'db_name', :'db_user') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db_name') \\gexec",
  );
  if (clustered) {
    lines.push(
      "SELECT format('CREATE ROLE %I REPLICATION LOGIN', :'replication_user') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'replication_user') \\gexec",
      "ALTER ROLE :\"replication_user\" WITH REPLICATION LOGIN PASSWORD :'replication_password';",
    );
  }
  lines.push('CLOUDSEED_SQL', '} | run_sql -d postgres', 'unset DB_PASSWORD', 'echo "PostgreSQL configured"', '');
  return lines.join('\n');
}
