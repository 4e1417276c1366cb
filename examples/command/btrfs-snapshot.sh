#!/bin/sh
# A `command` home provider recipe that really snapshots: a read-only btrfs snapshot of the home's subvolume,
# exposed to the archiver in place. bbdiy's test suite runs this very script (CommandProviderTest).
#
#   home.type=command
#   command.preflight=/etc/bbdiy/btrfs-snapshot.sh
#   command.capture=/etc/bbdiy/btrfs-snapshot.sh
#   command.complete=/etc/bbdiy/btrfs-snapshot.sh
#   command.release=/etc/bbdiy/btrfs-snapshot.sh
#   command.abort=/etc/bbdiy/btrfs-snapshot.sh
#
# (The built-in `btrfs` provider does the same with more checks; this is the pattern for your own tools.)
# bbdiy sets BBDIY_PHASE, BBDIY_BACKUP_ID, BBDIY_HOME, BBDIY_ARTIFACT_FILE... see the README.
set -eu
snapdir="${SNAPSHOT_DIR:-$(dirname "$BBDIY_HOME")/.bbdiy-command-snapshots}"
snap="$snapdir/$BBDIY_BACKUP_ID.home"

case "$BBDIY_PHASE" in
  preflight)
    command -v btrfs >/dev/null || { echo "btrfs is missing: apt-get install btrfs-progs" >&2; exit 2; }
    btrfs subvolume show "$BBDIY_HOME" >/dev/null 2>&1 \
      || { echo "$BBDIY_HOME is not a btrfs subvolume" >&2; exit 2; }
    ;;
  capture)
    # Inside the lock: only the snapshot. Record it first, so abort finds it whatever happens next.
    mkdir -p "$snapdir"
    echo "id snapshot=$snap" >> "$BBDIY_ARTIFACT_FILE"
    btrfs subvolume snapshot -r "$BBDIY_HOME" "$snap"
    ;;
  complete)
    echo "expose bitbucket-home $snap" >> "$BBDIY_ARTIFACT_FILE"
    ;;
  release|abort|delete)
    # The snapshot named in the artifact file (this run's, a killed run's, or a pruned backup's).
    recorded=$(sed -n 's/^id snapshot=//p' "$BBDIY_ARTIFACT_FILE" | tail -n 1)
    case "$recorded" in
      "$snapdir"/*.home) [ ! -e "$recorded" ] || btrfs subvolume delete "$recorded" ;;
      "") ;;
      *) echo "refusing to delete $recorded: not one of this script's snapshots" >&2; exit 1 ;;
    esac
    ;;
esac
