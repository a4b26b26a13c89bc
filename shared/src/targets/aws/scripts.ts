import type { OsImage } from '../../postgres/os.ts';
import type { Component } from '../../cs-json/schema.ts';
import { GENERATED_PASSWORD_PATTERN, PINNED_SEARCH_PATH_OPTIONS, SCRAM_VERIFIER_PYTHON } from '../../postgres/admin-session.ts';
import { REPLICATION_MARKER, REPLICATION_USER, renderPgHba, renderPgIdent, renderPostgresqlConf } from '../../postgres/config.ts';
import type { ServerLayout } from '../../postgres/config.ts';

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

/** Where a node keeps the plan's CA certificate: outside the data directory, which a new replica's clone replaces. */
export const CA_CERTIFICATE_FILE = '/etc/cloudseed/ca.crt';

/** The plan's certificate authority (certificate and key, SecureString): `/cloudseed/<plan>/certificate-authority`. */
export function certificateAuthorityParameterFor(passwordParameter: string): string {
  return passwordParameter.replace(/[^/]*\/[^/]*$/, 'certificate-authority');
}

/**
 * The server's certificate, signed by the plan's CA for every name and address clients may use
 * (from the instance metadata service), so that `sslmode=verify-full` holds. It is issued again when
 * the CA or the names changed or its end is near. The CA's key is on the node only while it signs,
 * in a directory only root can read.
 */
const PLAN_CA = [
  "# The plan's CA: its certificate stays (replicas verify their primary with it), its key only while this runs.",
  'CA_WORK="$(mktemp -d)"',
  'trap \'rm -rf "$CA_WORK"\' EXIT',
  'read_secret "$CA_PARAMETER" > "$CA_WORK/ca.pem"',
  'openssl x509 -in "$CA_WORK/ca.pem" -out "$CA_WORK/ca.crt"',
  'install -D -m 644 "$CA_WORK/ca.crt" "$CA_CERT"',
  '',
];

const SERVER_CERTIFICATE = [
  "# The server certificate, signed by the plan's CA for the names and addresses clients use.",
  'imds() { curl -sf -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" "http://169.254.169.254/latest/meta-data/$1" || true; }',
  'IMDS_TOKEN="$(curl -sf -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" http://169.254.169.254/latest/api/token)"',
  'PRIVATE_IP="$(imds local-ipv4)"',
  'is_ipv4 "$PRIVATE_IP" || { echo "the instance metadata service gave no private IPv4 address" >&2; exit 1; }',
  'SANS="DNS:localhost,IP:127.0.0.1,IP:$PRIVATE_IP"',
  'PUBLIC_IP="$(imds public-ipv4)"',
  'if is_ipv4 "$PUBLIC_IP"; then SANS+=",IP:$PUBLIC_IP"; fi',
  'for name in "$(imds local-hostname)" "$(imds public-hostname)"; do',
  '  if [[ "$name" =~ ^[A-Za-z0-9.-]+$ ]]; then SANS+=",DNS:$name"; fi',
  'done',
  'CERT="$DATA_DIR/cloudseed-server.crt"',
  'KEY="$DATA_DIR/cloudseed-server.key"',
  'if ! openssl verify -CAfile "$CA_WORK/ca.crt" "$CERT" >/dev/null 2>&1 \\',
  '  || ! openssl x509 -in "$CERT" -noout -checkend 2592000 >/dev/null \\',
  '  || [ "$(cat "$DATA_DIR/cloudseed-server.names" 2>/dev/null)" != "$SANS" ]; then',
  '  openssl pkey -in "$CA_WORK/ca.pem" -out "$CA_WORK/ca.key"',
  '  openssl req -x509 -new -newkey rsa:2048 -nodes -days 397 -subj "/CN=$PRIVATE_IP" \\',
  '    -CA "$CA_WORK/ca.crt" -CAkey "$CA_WORK/ca.key" -keyout "$CA_WORK/server.key" -out "$CA_WORK/server.crt" \\',
  '    -addext "subjectAltName=$SANS" -addext "basicConstraints=critical,CA:FALSE" \\',
  '    -addext "keyUsage=critical,digitalSignature,keyEncipherment" -addext "extendedKeyUsage=serverAuth"',
  '  install -o postgres -g postgres -m 600 "$CA_WORK/server.key" "$KEY"',
  '  install -o postgres -g postgres -m 644 "$CA_WORK/server.crt" "$CERT"',
  '  printf \'%s\\n\' "$SANS" > "$DATA_DIR/cloudseed-server.names"',
  'fi',
  'rm -rf "$CA_WORK"',
  '',
];

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
      lines.push(
        "# The PostgreSQL project's own repository carries the majors the distribution does not.",
        '/usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y',
      );
    }
    lines.push(
      `apt-get install -y -q ${packages}`,
      image.name === 'ubuntu'
        ? 'command -v aws >/dev/null || snap install aws-cli --classic'
        : 'command -v aws >/dev/null || apt-get install -y -q awscli',
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
    "# The postgres OS user may not reach the instance metadata service (the node role's credentials).",
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
    `CA_PARAMETER=${shellQuote(certificateAuthorityParameterFor(context.passwordParameter))}`,
    `CA_CERT=${shellQuote(CA_CERTIFICATE_FILE)}`,
    `DB_NAME=${shellQuote(component.db.databaseName)}`,
    `DB_USER=${shellQuote(component.db.username)}`,
    'NODE_ROLE="${CLOUDSEED_NODE_ROLE:-primary}"',
    'export PATH="$PG_BIN:$PATH"',
    "# Superuser sessions find no function or operator of the tenant's by name (admin-session.ts).",
    `export PGOPTIONS=${shellQuote(PINNED_SEARCH_PATH_OPTIONS)}`,
    'run_sql() { runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 "$@"; }',
    'read_secret() { aws ssm get-parameter --region "$REGION" --name "$1" --with-decryption --query Parameter.Value --output text; }',
    'is_ipv4() { [[ "$1" =~ ^([0-9]{1,3}\\.){3}[0-9]{1,3}$ ]]; }',
    `PASSWORD_SHAPE=${shellQuote(GENERATED_PASSWORD_PATTERN)}`,
    '# $1: the parameter, $2: what it is. A password of another shape could break out of a pgpass line.',
    'read_password() {',
    '  local password',
    '  password="$(read_secret "$1")"',
    '  [[ "$password" =~ $PASSWORD_SHAPE ]] || { echo "$2 does not hold a CloudSeed-generated password" >&2; exit 1; }',
    '  printf \'%s\' "$password"',
    '}',
    "# shellcheck disable=SC2016 # a python program: its '$' are the verifier's, not the shell's",
    `SCRAM_VERIFIER_PY=${shellQuote(SCRAM_VERIFIER_PYTHON)}`,
    '# Prints the SCRAM-SHA-256 verifier of password $1; printf, a shell builtin, hands it to python3.',
    'scram_verifier() {',
    '  local verifier',
    '  verifier="$(printf \'%s\' "$1" | python3 -c "$SCRAM_VERIFIER_PY")"',
    '  [[ "$verifier" =~ ^SCRAM-SHA-256\\$4096:[A-Za-z0-9+/=]+\\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$ ]] || { echo "could not compute a SCRAM verifier" >&2; exit 1; }',
    '  printf \'%s\' "$verifier"',
    '}',
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
    ...PLAN_CA,
  ];
  if (clustered) {
    lines.push(
      `REPLICATION_USER=${shellQuote(REPLICATION_USER)}`,
      `REPLICATION_PASSWORD_PARAMETER=${shellQuote(context.replicationPasswordParameter ?? replicationPasswordParameterFor(context.passwordParameter))}`,
      'if [ "$NODE_ROLE" = replica ] && [ ! -f "$DATA_DIR/standby.signal" ]; then',
      '  # A new replica starts as a copy of the primary, streamed over TLS.',
      '  PRIMARY_HOST="${CLOUDSEED_PRIMARY_HOST:?the primary host is required for a replica}"',
      '  is_ipv4 "$PRIMARY_HOST" || { echo "CLOUDSEED_PRIMARY_HOST is not an IPv4 address" >&2; exit 1; }',
      '  REPLICATION_PASSWORD="$(read_password "$REPLICATION_PASSWORD_PARAMETER" "the replication password parameter")"',
      '  systemctl stop "$SERVICE" || true',
      '  find "$DATA_DIR" -mindepth 1 -delete',
      '  PGPASS_FILE="$(mktemp)"',
      '  printf \'%s:5432:replication:%s:%s\\n\' "$PRIMARY_HOST" "$REPLICATION_USER" "$REPLICATION_PASSWORD" > "$PGPASS_FILE"',
      '  chown postgres:postgres "$PGPASS_FILE"',
      '  runuser -u postgres -- env PGPASSFILE="$PGPASS_FILE" pg_basebackup --pgdata="$DATA_DIR" --wal-method=stream --write-recovery-conf \\',
      '    --dbname="host=$PRIMARY_HOST port=5432 user=$REPLICATION_USER sslmode=verify-full sslrootcert=$CA_CERT"',
      '  rm -f "$PGPASS_FILE"',
      '  unset REPLICATION_PASSWORD',
      'fi',
      '',
    );
  }
  lines.push(
    ...SERVER_CERTIFICATE,
    'cat > "$CONF_DIR/cloudseed.conf" <<\'CLOUDSEED_CONF\'',
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
    'cat > "$CONF_DIR/pg_ident.conf" <<\'CLOUDSEED_IDENT\'',
    renderPgIdent(component).trimEnd(),
    'CLOUDSEED_IDENT',
    'printf \'%s\\n\' "$HBA" > "$CONF_DIR/pg_hba.conf"',
    'chown postgres:postgres "$CONF_DIR/cloudseed.conf" "$CONF_DIR/pg_ident.conf" "$CONF_DIR/pg_hba.conf"',
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
    '# Passwords never appear in a command line, nor reach the server: only their SCRAM verifiers do',
    "# (pg_stat_statements and the statement log would otherwise keep the password in ALTER ROLE's text).",
    'DB_PASSWORD="$(read_password "$PASSWORD_PARAMETER" "the password parameter")"',
    'DB_VERIFIER="$(scram_verifier "$DB_PASSWORD")"',
    'unset DB_PASSWORD',
  );
  if (clustered) {
    lines.push(
      'REPLICATION_PASSWORD="$(read_password "$REPLICATION_PASSWORD_PARAMETER" "the replication password parameter")"',
      'REPLICATION_VERIFIER="$(scram_verifier "$REPLICATION_PASSWORD")"',
      'unset REPLICATION_PASSWORD',
    );
  }
  lines.push(
    '{',
    "  printf '\\\\set db_verifier '\\''%s'\\''\\n' \"$DB_VERIFIER\"",
    '  printf \'\\\\set db_name %s\\n\\\\set db_user %s\\n\' "$DB_NAME" "$DB_USER"',
  );
  if (clustered)
    lines.push(
      "  printf '\\\\set replication_verifier '\\''%s'\\''\\n\\\\set replication_user %s\\n' \"$REPLICATION_VERIFIER\" \"$REPLICATION_USER\"",
    );
  lines.push(
    "  cat <<'CLOUDSEED_SQL'",
    "SET log_statement = 'none';",
    'SET log_min_duration_statement = -1;',
    "SELECT format('CREATE ROLE %I LOGIN', :'db_user') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'db_user') \\gexec",
    'ALTER ROLE :"db_user" WITH LOGIN NOSUPERUSER NOCREATEROLE NOREPLICATION PASSWORD :\'db_verifier\';',
    "SELECT format('CREATE DATABASE %I OWNER %I', :'db_name', :'db_user') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db_name') \\gexec",
  );
  if (clustered) {
    lines.push(
      "SELECT format('CREATE ROLE %I REPLICATION LOGIN', :'replication_user') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'replication_user') \\gexec",
      'ALTER ROLE :"replication_user" WITH REPLICATION LOGIN PASSWORD :\'replication_verifier\';',
    );
  }
  lines.push('CLOUDSEED_SQL', '} | run_sql -d postgres', 'echo "PostgreSQL configured"', '');
  return lines.join('\n');
}
