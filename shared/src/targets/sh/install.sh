# shellcheck shell=bash
# Installs PostgreSQL PG_MAJOR from the image's packages and pgBackRest (continuous archiving), and
# keeps the postgres OS user away from the instance metadata service. Idempotent: running it again converges.
# From the header: PG_MAJOR, OS_NAME, PACKAGE_MANAGER (dnf | apt), PACKAGES (an array), PGDG
# (non-empty when the PostgreSQL project's repository carries this major), DATA_DIR, SERVICE,
# HA_PACKAGES (an array: Patroni and etcd for a cluster that fails over by itself; empty otherwise),
# DATA_MOUNT (where the data disk goes, on the clouds that give one: data-disk.sh).
set -euo pipefail
umask 077
echo "CloudSeed: installing PostgreSQL $PG_MAJOR on $OS_NAME" >&2

# Before the packages, which create the cluster under it: the data disk holds /var/lib/postgresql.
mount_data_disk

if [ "$PACKAGE_MANAGER" = dnf ]; then
  # iptables-nft: the IMDS guard below (Amazon Linux 2023 ships without iptables).
  dnf install -y "${PACKAGES[@]}" openssl iptables-nft
  if [ ! -s "$DATA_DIR/PG_VERSION" ]; then
    postgresql-setup --initdb
  fi
  # Amazon Linux 2023 has no pgBackRest. The PostgreSQL project's "common" repository for RHEL 9
  # builds it against the libraries AL2023 has too (libpq, OpenSSL 3, zstd, lz4, libxml2, libyaml);
  # only that package is taken from it, signed with the project's key.
  cat > /etc/yum.repos.d/cloudseed-pgdg-common.repo <<'REPO'
[cloudseed-pgdg-common]
name=PostgreSQL common RPMs for RHEL 9 (pgBackRest only)
baseurl=https://download.postgresql.org/pub/repos/yum/common/redhat/rhel-9-$basearch
enabled=1
gpgcheck=1
gpgkey=https://download.postgresql.org/pub/repos/yum/keys/PGDG-RPM-GPG-KEY-RHEL
includepkgs=pgbackrest
REPO
  chmod 0644 /etc/yum.repos.d/cloudseed-pgdg-common.repo
  dnf install -y pgbackrest
else
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q postgresql-common ca-certificates openssl iptables
  if [ -n "$PGDG" ]; then
    # The PostgreSQL project's own repository carries the majors the distribution does not.
    /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y
  fi
  # pgBackRest: the distribution's (Debian 12: 2.45), or the PostgreSQL project's when its repository was added.
  apt-get install -y -q "${PACKAGES[@]}" pgbackrest
  install_cloud_tools
  # The postgres user's home is the data disk's root, where the package left it to root.
  if [ -n "$(data_disk)" ]; then chown postgres:postgres "$DATA_MOUNT"; fi
  # The package creates the "main" cluster; make sure it exists after a partial earlier run.
  if [ ! -d "/etc/postgresql/$PG_MAJOR/main" ]; then
    pg_createcluster "$PG_MAJOR" main
  fi
fi
systemctl enable "$SERVICE"

if [ "${#HA_PACKAGES[@]}" -gt 0 ]; then
  if [ "$PACKAGE_MANAGER" = dnf ]; then
    # Patroni (and python3-etcd, its etcd client) from the same signed "common" repository as
    # pgBackRest; etcd from the project's RHEL 9 extras.
    sed -i 's/^includepkgs=.*/includepkgs=pgbackrest patroni patroni-etcd python3-etcd python3-ydiff/' /etc/yum.repos.d/cloudseed-pgdg-common.repo
    cat > /etc/yum.repos.d/cloudseed-pgdg-extras.repo <<'REPO'
[cloudseed-pgdg-extras]
name=PostgreSQL extras RPMs for RHEL 9 (etcd only)
baseurl=https://download.postgresql.org/pub/repos/yum/common/pgdg-rhel9-extras/redhat/rhel-9-$basearch
enabled=1
gpgcheck=1
gpgkey=https://download.postgresql.org/pub/repos/yum/keys/PGDG-RPM-GPG-KEY-RHEL
includepkgs=etcd
REPO
    chmod 0644 /etc/yum.repos.d/cloudseed-pgdg-extras.repo
    dnf install -y "${HA_PACKAGES[@]}"
  else
    apt-get install -y -q "${HA_PACKAGES[@]}"
  fi
  # CloudSeed runs its own units (cloudseed-etcd, cloudseed-patroni, written by configure): the
  # packaged ones, which start with the distribution's defaults, stay off.
  for unit in etcd.service patroni.service; do
    if systemctl cat "$unit" >/dev/null 2>&1; then systemctl disable --now "$unit"; fi
  done
  # Fencing: Patroni runs with watchdog mode "required", so a leader whose Patroni stops renewing
  # its lock is reset by the kernel instead of serving writes beside a new leader. softdog is the
  # watchdog an EC2 instance has; it loads at every boot and /dev/watchdog belongs to postgres.
  printf 'softdog\n' > /etc/modules-load.d/cloudseed-softdog.conf
  chmod 0644 /etc/modules-load.d/cloudseed-softdog.conf
  printf 'KERNEL=="watchdog", OWNER="postgres", GROUP="postgres", MODE="0600"\n' > /etc/udev/rules.d/61-cloudseed-watchdog.rules
  chmod 0644 /etc/udev/rules.d/61-cloudseed-watchdog.rules
  modprobe softdog
  udevadm control --reload-rules
  udevadm trigger --subsystem-match=misc --action=add || true
  chown postgres:postgres /dev/watchdog
  chmod 0600 /dev/watchdog
fi

# The postgres OS user may not reach the instance metadata service (the node role's credentials): a
# database role that can run programs on the server (COPY ... PROGRAM, untrusted languages) runs
# them as postgres. A oneshot unit adds the owner-match rules, over IPv4 and (when the instance
# enables it) IPv6, at every boot before PostgreSQL starts; each rule is checked (-C) before it is
# added, so a re-run adds nothing.
cat > /usr/local/sbin/cloudseed-imds-guard <<'GUARD'
#!/bin/sh
set -e
iptables -C OUTPUT -d 169.254.169.254 -m owner --uid-owner postgres -j REJECT 2>/dev/null || iptables -A OUTPUT -d 169.254.169.254 -m owner --uid-owner postgres -j REJECT
if [ -e /proc/net/if_inet6 ]; then
  ip6tables -C OUTPUT -d fd00:ec2::254 -m owner --uid-owner postgres -j REJECT 2>/dev/null || ip6tables -A OUTPUT -d fd00:ec2::254 -m owner --uid-owner postgres -j REJECT
fi
GUARD
chmod 0755 /usr/local/sbin/cloudseed-imds-guard
cat > /etc/systemd/system/cloudseed-imds-guard.service <<UNIT
[Unit]
Description=CloudSeed: the postgres user may not reach the instance metadata service
DefaultDependencies=no
Wants=network-pre.target
Before=network-pre.target $SERVICE.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/cloudseed-imds-guard

[Install]
WantedBy=multi-user.target
UNIT
chmod 0644 /etc/systemd/system/cloudseed-imds-guard.service
systemctl daemon-reload
# restart, not start: a oneshot that ran already (RemainAfterExit) would not run again, and the
# rules may have been flushed since.
systemctl enable cloudseed-imds-guard.service
systemctl restart cloudseed-imds-guard.service
echo "PostgreSQL $PG_MAJOR and pgBackRest installed"
