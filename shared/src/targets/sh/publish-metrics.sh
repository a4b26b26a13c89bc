# shellcheck shell=bash
# Publishes the node's metrics where the cloud has no metrics service CloudSeed may write to (GCP,
# Azure): run as postgres by the cloudseed-metrics timer. The collector appends this run's sample to
# its UTC hour's file; the file is stored as METRICS_PREFIX<instance>/<hour>.jsonl in BUCKET, beside
# the component's backups, which the instance may write to and the provider reads from. An hour past
# METRICS_RETENTION_HOURS goes, object and file, so storage holds a day of samples per node.
# From the header: BUCKET, METRICS_PREFIX, METRICS_DIR, METRICS_RETENTION_HOURS, METRICS_COLLECTOR,
# and what the prelude reads.
set -euo pipefail
hour_file="$(python3 "$METRICS_COLLECTOR")"
[[ "$hour_file" == "$METRICS_DIR"/*.jsonl ]] || { echo "cloudseed metrics: the collector named no hour file" >&2; exit 1; }
instance="$(instance_name)"
[[ "$instance" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || { echo "cloudseed metrics: the instance has no usable name" >&2; exit 1; }
object_put "$(object_url "$METRICS_PREFIX$instance/${hour_file##*/}")" application/x-ndjson <"$hour_file"
# -mmin counts from the file's last sample: an hour's file is older than the retention once its hour is.
find "$METRICS_DIR" -maxdepth 1 -name '*.jsonl' -mmin "+$((METRICS_RETENTION_HOURS * 60))" -print0 |
  while IFS= read -r -d '' old; do
    object_remove "$(object_url "$METRICS_PREFIX$instance/${old##*/}")" && rm -f "$old"
  done
