# shellcheck shell=bash
# Patroni and etcd on a node of a cluster that fails over by itself. Only defines functions, which
# configure.sh calls; they read its variables (PRIVATE_IP, NODE_ROLE, POSTGRESQL_CONF, HBA, PG_IDENT…).
# From the header: PATRONI_DIR, PATRONI_CONFIG_FILE, PATRONI_YML and ETCD_ARGS_0..2 (with the TOKEN_*
# tokens in them), PATRONI_REST_PORT, REST_PASSWORD_PARAMETER, REWIND_USER, REWIND_PASSWORD_PARAMETER,
# REWIND_GRANTS (an array), ETCD_DATA_DIR, ETCD_CLIENT_PORT, ETCD_PEER_PORT, PATRONI_REST_USER, PATRONI_TTL, PATRONI_DCS (the settings
# every member shares, as Patroni's PATCH /config takes them). From the provider: CLOUDSEED_NODE_NAME, CLOUDSEED_ETCD_HOSTS
# (the private addresses of the three etcd members, in order), CLOUDSEED_ETCD_MEMBER (0, 1 or 2 on the
# nodes that run one; empty elsewhere), CLOUDSEED_PRIMARY_HOST (where a new replica waits for a leader).

# Prints $1 with the node's name, its address and the etcd members' addresses in place of their tokens.
fill_tokens() {
  local text=$1 index hosts
  read -r -a hosts <<<"${CLOUDSEED_ETCD_HOSTS:-}"
  [ "${#hosts[@]}" -eq 3 ] || { echo "CLOUDSEED_ETCD_HOSTS must name the three etcd members" >&2; exit 1; }
  for index in 0 1 2; do
    is_ipv4 "${hosts[$index]}" || { echo "CLOUDSEED_ETCD_HOSTS holds something that is not an IPv4 address" >&2; exit 1; }
    text="${text//"${TOKEN_ETCD_HOSTS[$index]}"/${hosts[$index]}}"
  done
  text="${text//"$TOKEN_NODE_NAME"/$NODE_NAME}"
  printf '%s' "${text//"$TOKEN_NODE_IP"/$PRIVATE_IP}"
}

# Writes $2 to file $1 for postgres alone (0600), replacing it in one step.
write_private() {
  printf '%s\n' "$2" >"$1.new"
  chown postgres:postgres "$1.new"
  chmod 0600 "$1.new"
  mv -f "$1.new" "$1"
}

# Installs unit file $1 from standard input; succeeds (0) when it changed.
install_unit() {
  local path="/etc/systemd/system/$1"
  cat >"$path.new"
  chmod 0644 "$path.new"
  if cmp -s "$path.new" "$path"; then
    rm -f "$path.new"
    return 1
  fi
  mv -f "$path.new" "$path"
  systemctl daemon-reload
}

# The HTTP status of Patroni's GET $1 on this node ("000" when it does not answer).
rest_status() { curl -s -o /dev/null -m 5 -w '%{http_code}' "http://$PRIVATE_IP:$PATRONI_REST_PORT$1" || true; }

# Waits up to $2 seconds until Patroni's GET $1 on this node answers 200.
wait_for_rest() {
  local waited=0
  until [ "$(rest_status "$1")" = 200 ]; do
    [ "$waited" -lt "$2" ] || { echo "Patroni's $1 did not answer 200 within $2 s: journalctl -u cloudseed-patroni" >&2; exit 1; }
    sleep 5
    waited=$((waited + 5))
  done
}

# Waits up to a minute until the leader lists this member in etcd's failsafe key: with failsafe_mode,
# a leader that loses etcd keeps leading only while every member it lists there still answers it,
# so a member it does not know yet would make it step down.
wait_in_failsafe() {
  local waited=0
  until curl -sf -m 5 "http://$PRIVATE_IP:$PATRONI_REST_PORT/failsafe" | python3 -c 'import json, sys; sys.exit(0 if sys.argv[1] in json.load(sys.stdin) else 1)' "$NODE_NAME"; do
    [ "$waited" -lt 60 ] || { echo "the leader did not list $NODE_NAME in the failsafe key within 60 s" >&2; exit 1; }
    sleep 5
    waited=$((waited + 5))
  done
}

# Calls Patroni's REST API with its login: method $1 on URL $2 with JSON body $3; fails unless it
# answers 200. The password reaches curl through its standard input, never its command line.
rest_call() {
  local status answer password
  password="$(read_password "$REST_PASSWORD_PARAMETER" "the Patroni password parameter")"
  answer="$(mktemp)"
  status="$(printf 'user = "%s:%s"\n' "$PATRONI_REST_USER" "$password" \
    | curl -s -m 120 -K - -o "$answer" -w '%{http_code}' -X "$1" -H 'Content-Type: application/json' --data "$3" "$2" || true)"
  if [ "$status" != 200 ]; then
    echo "Patroni's $1 $2 answered HTTP $status: $(head -c 300 "$answer")" >&2
    rm -f "$answer"
    exit 1
  fi
  rm -f "$answer"
}

# On a re-deploy, on the leader: the plan's shared settings replace those in etcd (Patroni put the
# first ones there when it adopted the leader), then the members that need a restart for them are
# restarted through Patroni. Raised limits reach the replicas before the leader, lowered ones the
# leader first: a hot standby needs at least the leader's max_connections.
apply_cluster_settings() {
  local current url
  rest_call PATCH "http://$PRIVATE_IP:$PATRONI_REST_PORT/config" "$PATRONI_DCS"
  # Patroni takes the new settings in its next loop and only then knows who must restart.
  sleep 12
  current="$(run_sql -tA -c 'SHOW max_connections')"
  curl -sf -m 10 "http://$PRIVATE_IP:$PATRONI_REST_PORT/cluster" >"$PATRONI_DIR/cluster.json"
  while read -r url; do
    rest_call POST "$url/restart" '{"restart_pending": true}'
  done < <(python3 - "$PATRONI_DIR/cluster.json" "$current" "$PATRONI_DCS" <<'PY'
import json, sys
members = json.load(open(sys.argv[1]))["members"]
wanted = int(json.loads(sys.argv[3])["postgresql"]["parameters"].get("max_connections", sys.argv[2]))
raising = wanted > int(sys.argv[2])
pending = [m for m in members if m.get("pending_restart") and m.get("api_url")]
pending.sort(key=lambda m: (m["role"] in ("leader", "master")) == raising)
for member in pending:
    print(member["api_url"].rsplit("/", 1)[0])
PY
)
  rm -f "$PATRONI_DIR/cluster.json"
}

# This node's etcd member, when it is one of the three: its own unit, restarted only when it changed.
configure_etcd_member() {
  local member="${CLOUDSEED_ETCD_MEMBER:-}" arg command=/usr/bin/etcd environment=''
  [ -n "$member" ] || return 0
  # etcd 3.4 (Debian 12's) starts on Graviton only when told that arm64 is meant; later ones ignore it.
  if [ "$(uname -m)" = aarch64 ]; then environment='Environment=ETCD_UNSUPPORTED_ARCH=arm64'; fi
  local args=()
  case "$member" in
    0) args=("${ETCD_ARGS_0[@]}") ;;
    1) args=("${ETCD_ARGS_1[@]}") ;;
    2) args=("${ETCD_ARGS_2[@]}") ;;
    *) echo "CLOUDSEED_ETCD_MEMBER must be 0, 1 or 2" >&2; exit 1 ;;
  esac
  for arg in "${args[@]}"; do command+=" $(fill_tokens "$arg")"; done
  id etcd >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin etcd
  install -d -o etcd -g etcd -m 0700 "$ETCD_DATA_DIR"
  command="${command/--initial-cluster-state=new/--initial-cluster-state=$(etcd_cluster_state)}"
  # A member with data ignores --initial-cluster: when another node was replaced, this one's unit
  # keeps the list it started with, so it is not restarted for nothing while the new node joins.
  local started planned
  if [ -d "$ETCD_DATA_DIR/member" ] && started="$(grep -o -- '--initial-cluster=[^ ]*' "$(etcd_unit_file)" 2>/dev/null)"; then
    planned="$(grep -o -- '--initial-cluster=[^ ]*' <<<"$command")"
    command="${command/"$planned"/"$started"}"
  fi
  # Plain HTTP between the members: the security group opens 2379-2380 to the cluster's own nodes only.
  if install_unit cloudseed-etcd.service <<UNIT; then systemctl restart cloudseed-etcd.service; fi
[Unit]
Description=CloudSeed: etcd member holding the cluster's leader lock
Wants=network-online.target
After=network-online.target

[Service]
User=etcd
$environment
ExecStart=$command
Restart=always
RestartSec=5
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
UNIT
  systemctl enable --now cloudseed-etcd.service
}

# Where this node's etcd unit is installed.
etcd_unit_file() { printf '/etc/systemd/system/cloudseed-etcd.service'; }

# POSTs a membership change $2 to $1. etcd refuses one until every member has been connected for
# a few seconds (a member that just started, or one just removed): tried for 30 s.
etcd_reconfigure() {
  local attempt
  for attempt in $(seq 1 30); do
    if curl -sf -m 10 -X POST -d "$2" "$1" >/dev/null; then return 0; fi
    [ "$attempt" -lt 30 ] && sleep 1
  done
  return 1
}

# How this node's etcd member starts: "new" for the cluster's first start, "existing" to join a
# cluster that already runs. A member without data whose peers answer joins them: one that starts
# after the other two formed the cluster is listed already; one on a node that replaced a member (a
# new instance at a new address) takes the old member's place, which is removed and this one added.
# A member that joined stays "existing", so the unit does not change (and restart) on every deploy.
etcd_cluster_state() {
  local peer_url="http://$PRIVATE_IP:$ETCD_PEER_PORT" host list listed stale id
  if [ -d "$ETCD_DATA_DIR/member" ]; then
    if grep -q -- '--initial-cluster-state=existing' "$(etcd_unit_file)" 2>/dev/null; then printf 'existing'; else printf 'new'; fi
    return 0
  fi
  for host in ${CLOUDSEED_ETCD_HOSTS:-}; do
    [ "$host" != "$PRIVATE_IP" ] || continue
    list="$(curl -sf -m 5 -X POST -d '{}' "http://$host:$ETCD_CLIENT_PORT/v3/cluster/member/list")" || continue
    { read -r listed; read -r stale; } < <(python3 -c '
import json, sys
members, name, url = json.load(sys.stdin)["members"], sys.argv[1], sys.argv[2]
print("listed" if any(url in m.get("peerURLs", []) for m in members) else "absent")
print(" ".join(m["ID"] for m in members if m.get("name") == name and url not in m.get("peerURLs", [])))
' "$NODE_NAME" "$peer_url" <<<"$list")
    [ -n "$listed" ] || { echo "etcd's member list could not be read" >&2; exit 1; }
    for id in $stale; do
      [[ "$id" =~ ^[0-9]+$ ]] || { echo "etcd listed a member id that is not a number" >&2; exit 1; }
      etcd_reconfigure "http://$host:$ETCD_CLIENT_PORT/v3/cluster/member/remove" "{\"ID\": \"$id\"}" \
        || { echo "etcd did not remove the member $NODE_NAME had before" >&2; exit 1; }
    done
    if [ "$listed" != listed ]; then
      etcd_reconfigure "http://$host:$ETCD_CLIENT_PORT/v3/cluster/member/add" "{\"peerURLs\": [\"$peer_url\"]}" \
        || { echo "etcd did not add $NODE_NAME at $PRIVATE_IP" >&2; exit 1; }
    fi
    printf 'existing'
    return 0
  done
  printf 'new'
}

# Hands the node's PostgreSQL to Patroni. The first time: the deploy's primary starts once under the
# distribution's service with the plan's settings (its control file then holds the plan's
# max_connections), and a replica empties its data directory and waits for a leader, so that Patroni
# clones it itself (a copy made behind Patroni's back looks to it like a primary that crashed).
configure_patroni() {
  NODE_NAME="${CLOUDSEED_NODE_NAME:?the node name is required under Patroni}"
  [[ "$NODE_NAME" =~ ^[a-z0-9-]+$ ]] || { echo "CLOUDSEED_NODE_NAME is not a node name" >&2; exit 1; }
  local yml replication rewind rest fresh=''
  install -d -o postgres -g postgres -m 0700 "$PATRONI_DIR"
  write_private "$PATRONI_DIR/postgresql.conf" "$POSTGRESQL_CONF"
  write_private "$PATRONI_DIR/pg_hba.conf" "$HBA"
  write_private "$PATRONI_DIR/pg_ident.conf" "$PG_IDENT"
  yml="$(fill_tokens "$PATRONI_YML")"
  replication="$(read_password "$REPLICATION_PASSWORD_PARAMETER" "the replication password parameter")"
  rewind="$(read_password "$REWIND_PASSWORD_PARAMETER" "the rewind password parameter")"
  rest="$(read_password "$REST_PASSWORD_PARAMETER" "the Patroni password parameter")"
  yml="${yml//"$TOKEN_REPLICATION_PASSWORD"/$replication}"
  yml="${yml//"$TOKEN_REWIND_PASSWORD"/$rewind}"
  write_private "$PATRONI_CONFIG_FILE" "${yml//"$TOKEN_REST_PASSWORD"/$rest}"
  unset yml replication rewind rest
  configure_etcd_member

  if [ ! -f "$PATRONI_DIR/adopted" ]; then
    fresh=yes
    if [ "$NODE_ROLE" = primary ]; then
      configure_with_service
      systemctl stop "$SERVICE"
    else
      systemctl stop "$SERVICE" || true
      find "$DATA_DIR" -mindepth 1 -delete
      local primary="${CLOUDSEED_PRIMARY_HOST:?the primary host is required for a replica}" waited=0
      is_ipv4 "$primary" || { echo "CLOUDSEED_PRIMARY_HOST is not an IPv4 address" >&2; exit 1; }
      # Started before the cluster has a leader, Patroni would initialise a cluster of its own.
      until curl -sf -m 5 "http://$primary:$PATRONI_REST_PORT/cluster" \
        | python3 -c 'import json, sys; sys.exit(0 if any(m.get("role") in ("leader", "master") and m.get("state") == "running" for m in json.load(sys.stdin)["members"]) else 1)'; do
        [ "$waited" -lt 300 ] || { echo "the cluster has no running leader after 5 minutes" >&2; exit 1; }
        sleep 5
        waited=$((waited + 5))
      done
    fi
    # Patroni alone starts PostgreSQL from now on, at boot too. On Debian and Ubuntu the umbrella
    # postgresql.service would start the cluster anyway unless its start.conf says manual.
    systemctl disable "$SERVICE"
    if [ -f "$CONF_DIR/start.conf" ]; then printf 'manual\n' >"$CONF_DIR/start.conf"; fi
  fi
  # From here on the node is Patroni's: a run that stops half-way must not start the server beside it.
  touch "$PATRONI_DIR/adopted"

  if install_unit cloudseed-patroni.service <<UNIT; then systemctl restart cloudseed-patroni.service; fi
[Unit]
Description=CloudSeed: Patroni runs this node's PostgreSQL
Wants=network-online.target
After=network-online.target cloudseed-etcd.service

[Service]
User=postgres
Group=postgres
RuntimeDirectory=postgresql
RuntimeDirectoryPreserve=yes
ExecStart=/usr/bin/patroni $PATRONI_CONFIG_FILE
ExecReload=/bin/kill -HUP \$MAINPID
# Stopping Patroni stops PostgreSQL through Patroni, never by a signal to the postmaster's group.
KillMode=process
TimeoutStopSec=60
Restart=on-failure

[Install]
WantedBy=multi-user.target
UNIT
  systemctl enable --now cloudseed-patroni.service
  # Patroni reads its configuration again (and PostgreSQL's, through custom_conf) on a reload.
  systemctl reload cloudseed-patroni.service
  configure_wake

  if [ -n "$fresh" ] && [ "$NODE_ROLE" = primary ]; then
    wait_for_rest /primary 300
  else
    # A new replica is running once Patroni's clone of the leader is done. Both waits stay inside
    # the configure command's 600 s.
    wait_for_rest /health 270
  fi
  # Patroni does not watch hba_file: the server reads the rules written above now.
  run_sql -tA -c 'SELECT pg_catalog.pg_reload_conf()' >/dev/null
  # A setting of this member's own that needs a restart (shared_buffers): Patroni restarts the server
  # in place, leader or replica (no failover; a few seconds without it). Cluster-wide ones wait for
  # apply_cluster_settings, which restarts the members in the order their limits need.
  if [ -z "$fresh" ] && runs_stale_settings; then
    rest_call POST "http://$PRIVATE_IP:$PATRONI_REST_PORT/restart" '{}'
    wait_for_rest /health 120
  fi
  if [ -z "$fresh" ] && is_leader; then apply_cluster_settings; fi
}

# Patroni notices a dead postmaster only in the loop after the one that meets the broken connection,
# up to two loop_waits later. A unit of its own asks every second whether the server answers and,
# while it does not, wakes Patroni with a settings change that changes nothing (PATCH /config), so
# Patroni restarts a crashed server within seconds. It stops and starts with Patroni; its login
# is in a curl config only postgres reads.
configure_wake() {
  local rest
  rest="$(read_password "$REST_PASSWORD_PARAMETER" "the Patroni password parameter")"
  write_private "$PATRONI_DIR/rest.curlrc" "user = \"$PATRONI_REST_USER:$rest\""
  unset rest
  write_private "$PATRONI_DIR/wake.sh" "$(
    cat <<WAKE
# Wakes Patroni while this node's PostgreSQL does not answer (pg_isready: 2).
while sleep 1; do
  '$PG_BIN/pg_isready' -q -h /run/postgresql -p 5432
  if [ \$? -eq 2 ]; then
    curl -s -m 2 -K '$PATRONI_DIR/rest.curlrc' -o /dev/null -X PATCH -H 'Content-Type: application/json' \\
      --data '{"ttl": $PATRONI_TTL}' 'http://$PRIVATE_IP:$PATRONI_REST_PORT/config' || true
  fi
done
WAKE
  )"
  if install_unit cloudseed-patroni-wake.service <<UNIT; then systemctl restart cloudseed-patroni-wake.service; fi
[Unit]
Description=CloudSeed: wakes Patroni at once when this node's PostgreSQL crashed
After=cloudseed-patroni.service
BindsTo=cloudseed-patroni.service

[Service]
User=postgres
Group=postgres
ExecStart=/bin/bash $PATRONI_DIR/wake.sh
Restart=always
RestartSec=1

[Install]
WantedBy=cloudseed-patroni.service
UNIT
  systemctl enable --now cloudseed-patroni-wake.service
}

# Succeeds when this node's Patroni leads the cluster now (which may not be the deploy's primary).
is_leader() { [ "$(rest_status /primary)" = 200 ]; }
