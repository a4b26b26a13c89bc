# shellcheck shell=bash
# The data disk. Where the cloud gives PostgreSQL a disk of its own (Compute Engine's `pgdata`
# device, Azure's data disk at LUN 0), it holds DATA_MOUNT, /var/lib/postgresql: every cluster's data
# directory, its WAL and pgBackRest's spool live there, not on the boot disk. On AWS the data lives
# on the root volume, which grows instead: the prelude's data_disk prints nothing there, and these
# functions do nothing.
# From the header: DATA_MOUNT (install only). The prelude gives data_disk.

# Formats the data disk if it is blank, and mounts it at DATA_MOUNT, by its file system's UUID in
# fstab (nofail: a node whose disk is missing still boots, and its server stays down instead of
# starting on the boot disk). Refuses to mount over a DATA_MOUNT that already holds files.
mount_data_disk() {
  local device fstab=${CLOUDSEED_FSTAB:-/etc/fstab} uuid waited=0
  device="$(data_disk)"
  [ -n "$device" ] || return 0
  # An attached disk can appear a moment after boot.
  until [ -b "$device" ]; do
    waited=$((waited + 1))
    if [ "$waited" -gt 60 ]; then
      echo "cloudseed: the data disk $device did not appear" >&2
      return 1
    fi
    sleep 1
  done
  if [ -z "$(blkid -o value -s TYPE "$device" || true)" ]; then
    mkfs.ext4 -q -L cloudseed-data -m 0 "$device"
  fi
  uuid="$(blkid -o value -s UUID "$device")"
  if ! findmnt -n --mountpoint "$DATA_MOUNT" >/dev/null; then
    if [ -d "$DATA_MOUNT" ] && [ -n "$(ls -A "$DATA_MOUNT")" ]; then
      echo "cloudseed: $DATA_MOUNT already holds files on the boot disk; not mounting the data disk over them" >&2
      return 1
    fi
    mkdir -p "$DATA_MOUNT"
    mount -o noatime "$device" "$DATA_MOUNT"
  fi
  grep -q "^UUID=$uuid " "$fstab" 2>/dev/null || printf 'UUID=%s %s ext4 defaults,noatime,nofail 0 2\n' "$uuid" "$DATA_MOUNT" >>"$fstab"
  chmod 755 "$DATA_MOUNT"
}

# Grows the data disk's file system to the disk, which a re-deploy may have made larger (ext4 grows online).
grow_data_disk() {
  local device
  device="$(data_disk)"
  [ -n "$device" ] || return 0
  resize2fs "$device"
}
