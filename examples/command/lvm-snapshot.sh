#!/bin/sh
# A `command` home provider recipe: an LVM snapshot of the home's logical volume, mounted read-only and exposed to
# the archiver in place (the built-in `lvm` provider does the same). Adjust VG, LV and SIZE.
#
#   home.type=command
#   command.preflight=/etc/bbdiy/lvm-snapshot.sh
#   command.capture=/etc/bbdiy/lvm-snapshot.sh
#   command.complete=/etc/bbdiy/lvm-snapshot.sh
#   command.release=/etc/bbdiy/lvm-snapshot.sh
#   command.abort=/etc/bbdiy/lvm-snapshot.sh
#   command.capture-timeout=30s
set -eu
VG=${VG:-vg0}
LV=${LV:-bitbucket-home}
SIZE=${SIZE:-10G}
name="bbdiy-$BBDIY_BACKUP_ID"
mnt="/run/bbdiy/$name"

case "$BBDIY_PHASE" in
  preflight)
    lvs "$VG/$LV" >/dev/null 2>&1 || { echo "no logical volume $VG/$LV" >&2; exit 2; }
    ;;
  capture)
    echo "id lv=$VG/$name" >> "$BBDIY_ARTIFACT_FILE"
    echo "id mount=$mnt" >> "$BBDIY_ARTIFACT_FILE"
    lvcreate --snapshot --size "$SIZE" --name "$name" "$VG/$LV"
    ;;
  complete)
    mkdir -p "$mnt"
    fstype=$(blkid -o value -s TYPE "/dev/$VG/$name")
    opts=ro; [ "$fstype" = xfs ] && opts=ro,nouuid
    mount -o "$opts" "/dev/$VG/$name" "$mnt"
    echo "expose bitbucket-home $mnt" >> "$BBDIY_ARTIFACT_FILE"
    ;;
  release|abort|delete)
    lv=$(sed -n 's/^id lv=//p' "$BBDIY_ARTIFACT_FILE" | tail -n 1)
    m=$(sed -n 's/^id mount=//p' "$BBDIY_ARTIFACT_FILE" | tail -n 1)
    [ -n "$m" ] && mountpoint -q "$m" && umount "$m"
    [ -n "$m" ] && rmdir "$m" 2>/dev/null || true
    case "$lv" in
      "$VG"/bbdiy-*) lvs "$lv" >/dev/null 2>&1 && lvremove -f "$lv" ;;
    esac
    ;;
esac
