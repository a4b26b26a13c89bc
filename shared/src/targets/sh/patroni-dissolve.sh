# shellcheck shell=bash
# Takes a node out of its Patroni cluster before the cluster is formed again from a restored leader:
# stops Patroni (which stops PostgreSQL), then the distribution's service should anything have
# started the server beside it, and forgets that configure adopted the node, so that configure sets
# it up afresh: the leader from its restored data directory, a replica as a new clone.
# From the header: PATRONI_DIR, SERVICE.
set -euo pipefail
systemctl stop cloudseed-patroni.service
systemctl stop "$SERVICE" || true
rm -f "$PATRONI_DIR/adopted"
