# shellcheck shell=bash
# Forgets the Patroni cluster in etcd (every key of its scope), once Patroni is stopped on every node,
# so that the restored leader's Patroni forms it anew rather than join the old one as a replica.
# From the header: ETCD_CLIENT_PORT, FORGET_REQUEST (etcd v3's deleterange body). From the provider:
# CLOUDSEED_ETCD_HOSTS (the private addresses of the etcd members).
forget_cluster() {
  local host
  for host in ${CLOUDSEED_ETCD_HOSTS:-}; do
    [[ "$host" =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}$ ]] || fail "CLOUDSEED_ETCD_HOSTS holds something that is not an IPv4 address"
    if curl -sf -m 10 -X POST -H 'Content-Type: application/json' --data "$FORGET_REQUEST" \
      "http://$host:$ETCD_CLIENT_PORT/v3/kv/deleterange" >/dev/null; then
      return 0
    fi
  done
  fail "no etcd member of the cluster answered; nothing was restored"
}
forget_cluster
