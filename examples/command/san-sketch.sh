#!/bin/sh
# A sketch, not a tested recipe: a storage array snapshot through its CLI (names vary by vendor: NetApp `snapshot
# create`, Pure `purevol snap`, Dell `snapshot create`...), mapped to this host and mounted read-only after the
# unlock. The API token comes in BBDIY_SECRET (command.secret.file=/etc/bbdiy/array-token), never on a command line.
set -eu
ARRAY=${ARRAY:-array.example.com}
VOLUME=${VOLUME:-bitbucket-home}
snap="bbdiy-$BBDIY_BACKUP_ID"
mnt="/run/bbdiy/$snap"
export ARRAY_API_TOKEN="$BBDIY_SECRET"   # the vendor CLI reads its token from the environment

case "$BBDIY_PHASE" in
  preflight) array-cli --host "$ARRAY" volume show "$VOLUME" >/dev/null || exit 2 ;;
  capture)
    echo "id array-snapshot=$VOLUME@$snap" >> "$BBDIY_ARTIFACT_FILE"
    array-cli --host "$ARRAY" snapshot create "$VOLUME" --name "$snap"      # milliseconds on the array
    ;;
  complete)
    dev=$(array-cli --host "$ARRAY" snapshot map "$VOLUME@$snap" --host "$(hostname)" --print-device)
    echo "id device=$dev" >> "$BBDIY_ARTIFACT_FILE"
    mkdir -p "$mnt" && mount -o ro "$dev" "$mnt"
    echo "expose bitbucket-home $mnt" >> "$BBDIY_ARTIFACT_FILE"
    ;;
  release|abort)
    mountpoint -q "$mnt" && umount "$mnt"; rmdir "$mnt" 2>/dev/null || true
    array-cli --host "$ARRAY" snapshot unmap "$VOLUME@$snap" --host "$(hostname)" || true
    [ "$BBDIY_PHASE" = abort ] && array-cli --host "$ARRAY" snapshot delete "$VOLUME@$snap" || true
    # release keeps the array snapshot for fast restores; retention's `delete` removes it
    ;;
  delete)
    s=$(sed -n 's/^id array-snapshot=//p' "$BBDIY_ARTIFACT_FILE" | tail -n 1)
    [ -n "$s" ] && array-cli --host "$ARRAY" snapshot delete "$s"
    ;;
esac
