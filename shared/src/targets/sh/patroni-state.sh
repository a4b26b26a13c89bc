# shellcheck shell=bash
# Prints Patroni's view of the cluster (GET /cluster: every member's role, state, timeline and lag)
# as this node's Patroni answers it. The REST API listens on the node's private address only.
# From the header: PATRONI_REST_PORT.
set -euo pipefail
ADDRESS="$(private_ipv4)"
curl -sf -m 10 "http://$ADDRESS:$PATRONI_REST_PORT/cluster" || { echo "Patroni on $ADDRESS does not answer GET /cluster" >&2; exit 1; }
