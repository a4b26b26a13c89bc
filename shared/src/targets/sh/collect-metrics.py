"""CloudSeed's metrics collector on a cloud node, run by a systemd timer as postgres.

Each run samples the node and its server (shared/src/metrics/catalog.ts names every metric and its
unit) and turns counters into rates against the previous run's sample (kept in STATE). Where the
values go is the config's sink:
  cloudwatch  AWS: to CloudWatch with the instance's id as the dimension, through the AWS CLI and the
              instance role (which may put metric data in CloudSeed's namespace only);
  hourly      elsewhere: one JSON line {"at", "values"} appended to the UTC hour's file in dir
              (<YYYY-MM-DDTHH>.jsonl), whose path is printed; publish-metrics.sh stores that file
              beside the component's backups, where the provider reads it.
Standard library only.

Settings come from a JSON file (CLOUDSEED_METRICS_CONFIG, default /etc/cloudseed/metrics.json):
  psql (its path), dataDir, sampleSql (shared/src/metrics/database-sample.ts), sink (cloudwatch when
  absent), and region and namespace (cloudwatch) or dir (hourly);
and, for tests, CLOUDSEED_METRICS_STATE (where the previous sample is kept), CLOUDSEED_INSTANCE_ID
(instead of asking the instance metadata service) and CLOUDSEED_AWS (the CLI to run).
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

CONFIG = os.environ.get("CLOUDSEED_METRICS_CONFIG", "/etc/cloudseed/metrics.json")
STATE = os.environ.get("CLOUDSEED_METRICS_STATE", "/var/lib/cloudseed/metrics-state.json")
AWS = os.environ.get("CLOUDSEED_AWS", "aws")

# CloudWatch's units for the catalog's.
UNITS = {
    "percent": "Percent",
    "bytes": "Bytes",
    "count": "Count",
    "per_second": "Count/Second",
    "ratio": "None",
    "seconds": "Seconds",
    "bytes_per_second": "Bytes/Second",
}
CATALOG = {
    "cpu_percent": "percent",
    "memory_bytes": "bytes",
    "disk_used_bytes": "bytes",
    "disk_free_bytes": "bytes",
    "disk_iops": "per_second",
    "connections_active": "count",
    "connections_idle": "count",
    "connections_max": "count",
    "transactions_per_second": "per_second",
    "rows_read_per_second": "per_second",
    "rows_written_per_second": "per_second",
    "cache_hit_ratio": "ratio",
    "replication_lag_bytes": "bytes",
    "replication_lag_seconds": "seconds",
    "wal_bytes_per_second": "bytes_per_second",
    "oldest_transaction_seconds": "seconds",
    "deadlocks_per_second": "per_second",
    "temp_bytes_per_second": "bytes_per_second",
    "archive_age_seconds": "seconds",
}


def instance_id():
    given = os.environ.get("CLOUDSEED_INSTANCE_ID")
    if given:
        return given
    token_request = urllib.request.Request(
        "http://169.254.169.254/latest/api/token", method="PUT", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"}
    )
    token = urllib.request.urlopen(token_request, timeout=5).read().decode()
    request = urllib.request.Request(
        "http://169.254.169.254/latest/meta-data/instance-id", headers={"X-aws-ec2-metadata-token": token}
    )
    return urllib.request.urlopen(request, timeout=5).read().decode().strip()


def database_sample(config):
    out = subprocess.run(
        [config["psql"], "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d", "postgres", "-c", config["sampleSql"]],
        check=True,
        capture_output=True,
        text=True,
        timeout=20,
    ).stdout.strip()
    return json.loads(out)


def cpu_jiffies():
    """(busy, total) jiffies of every CPU since boot."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def memory_used():
    info = {}
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            name, value = line.split(":", 1)
            info[name] = int(value.split()[0]) * 1024
    return info["MemTotal"] - info.get("MemAvailable", info.get("MemFree", 0))


def disk_operations():
    """Reads and writes completed on the node's whole disks (not partitions) since boot."""
    disks = set(os.listdir("/sys/block"))
    total = 0
    with open("/proc/diskstats") as stats:
        for line in stats:
            fields = line.split()
            if fields[2] in disks and not fields[2].startswith(("loop", "ram", "zram")):
                total += int(fields[3]) + int(fields[7])
    return total


def sample(config):
    space = os.statvfs(config["dataDir"])
    busy, total = cpu_jiffies()
    return {
        "at": time.time(),
        "cpuBusy": busy,
        "cpuTotal": total,
        "memory": memory_used(),
        "diskUsed": (space.f_blocks - space.f_bfree) * space.f_frsize,
        "diskFree": space.f_bavail * space.f_frsize,
        "diskOps": disk_operations(),
        "db": database_sample(config),
    }


def metrics(previous, current):
    """The catalog's metrics between two samples: gauges from the later, rates from the difference.
    A counter that went down (a restart, a statistics reset) gives no rate rather than a negative one."""
    db = current["db"]
    values = {
        "memory_bytes": current["memory"],
        "disk_used_bytes": current["diskUsed"],
        "disk_free_bytes": current["diskFree"],
        "connections_active": db["connectionsActive"],
        "connections_idle": db["connectionsIdle"],
        "connections_max": db["connectionsMax"],
        "oldest_transaction_seconds": db["oldestTransactionSeconds"],
    }
    for field, name in (
        ("lagBytes", "replication_lag_bytes"),
        ("lagSeconds", "replication_lag_seconds"),
        ("archiveAgeSeconds", "archive_age_seconds"),
    ):
        if db.get(field) is not None:
            values[name] = db[field]
    if previous is None:
        return values
    seconds = current["at"] - previous["at"]
    if seconds <= 0:
        return values
    cpu_total = current["cpuTotal"] - previous["cpuTotal"]
    cpu_busy = current["cpuBusy"] - previous["cpuBusy"]
    if cpu_total > 0 and cpu_busy >= 0:
        values["cpu_percent"] = 100.0 * cpu_busy / cpu_total
    operations = current["diskOps"] - previous["diskOps"]
    if operations >= 0:
        values["disk_iops"] = operations / seconds
    before = previous["db"]
    db_seconds = db["at"] - before["at"]
    if db_seconds > 0:
        for field, name in (
            ("xacts", "transactions_per_second"),
            ("rowsRead", "rows_read_per_second"),
            ("rowsWritten", "rows_written_per_second"),
            ("deadlocks", "deadlocks_per_second"),
            ("tempBytes", "temp_bytes_per_second"),
            ("walBytes", "wal_bytes_per_second"),
        ):
            delta = db[field] - before[field]
            if delta >= 0:
                values[name] = delta / db_seconds
        hit = db["blocksHit"] - before["blocksHit"]
        read = db["blocksRead"] - before["blocksRead"]
        if hit >= 0 and read >= 0 and hit + read > 0:
            values["cache_hit_ratio"] = hit / (hit + read)
    return values


def metric_data(values, node, at):
    return [
        {
            "MetricName": name,
            "Dimensions": [{"Name": "InstanceId", "Value": node}],
            "Timestamp": int(at),
            "Value": float(value),
            "Unit": UNITS[CATALOG[name]],
        }
        for name, value in sorted(values.items())
    ]


def publish(config, data):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as request:
        json.dump({"Namespace": config["namespace"], "MetricData": data}, request)
    try:
        subprocess.run(
            [AWS, "cloudwatch", "put-metric-data", "--region", config["region"], "--cli-input-json", f"file://{request.name}"],
            check=True,
            timeout=30,
        )
    finally:
        os.unlink(request.name)


def append_hourly(config, values, at):
    """Appends the sample to its UTC hour's file and returns the file's path."""
    path = os.path.join(config["dir"], time.strftime("%Y-%m-%dT%H", time.gmtime(at)) + ".jsonl")
    os.makedirs(config["dir"], exist_ok=True)
    line = json.dumps({"at": int(at), "values": {name: float(value) for name, value in sorted(values.items())}})
    with open(path, "a") as hour:
        hour.write(line + "\n")
    return path


def main():
    with open(CONFIG) as settings:
        config = json.load(settings)
    try:
        with open(STATE) as state:
            previous = json.load(state)
    except (OSError, ValueError):
        previous = None
    current = sample(config)
    values = metrics(previous, current)
    os.makedirs(os.path.dirname(STATE), exist_ok=True)
    with open(f"{STATE}.new", "w") as state:
        json.dump(current, state)
    os.replace(f"{STATE}.new", STATE)
    if config.get("sink", "cloudwatch") == "hourly":
        print(append_hourly(config, values, current["at"]))
    else:
        publish(config, metric_data(values, instance_id(), current["at"]))


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # noqa: BLE001 - one line in the journal, and the timer tries again
        print(f"cloudseed metrics: {error}", file=sys.stderr)
        sys.exit(1)
