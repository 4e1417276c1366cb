#!/bin/bash
# A fake zfs for bbdiy's zfs tests: datasets and snapshots kept as state, strict about arguments, failing on demand
# (touch $S/fail-zfs or $S/fail-zfs-<subcommand>). S (state) is set at the top by FakeTools; $S/datasets lists
# "name<TAB>mountpoint" lines. A snapshot is a copy under <mountpoint>/.zfs/snapshot/<name>, as ZFS shows it.
set -u
echo "zfs $*" >> "$S/log"
[ -e "$S/fail-zfs" ] || [ -e "$S/fail-zfs-${1:-}" ] && { echo "zfs: simulated failure" >&2; exit 5; }
bad() { echo "zfs: unexpected arguments: $*" >&2; exit 3; }
mountpoint_of() { awk -F'\t' -v n="$1" '$1 == n { print $2 }' "$S/datasets"; }
case "${1:-}" in
  list)
    if [ "$#" -eq 5 ] && [ "$2 $3 $4" = "-H -o name,mountpoint" ]; then
      best=""; bestm=""
      while IFS=$'\t' read -r n m; do
        case "$5/" in "$m"/*) [ ${#m} -gt ${#bestm} ] && { best=$n; bestm=$m; } ;; esac
      done < "$S/datasets"
      [ -n "$best" ] && { printf '%s\t%s\n' "$best" "$bestm"; exit 0; }
      echo "cannot open '$5': not a ZFS dataset" >&2; exit 1
    elif [ "$#" -eq 6 ] && [ "$2 $3 $4 $5" = "-H -r -o name,mountpoint" ]; then
      awk -F'\t' -v n="$6" '$1 == n || index($1, n "/") == 1' "$S/datasets"; exit 0
    elif [ "$#" -eq 6 ] && [ "$2 $3 $4 $5" = "-H -t snapshot -o" ] ; then bad "$@"
    elif [ "$#" -eq 7 ] && [ "$2 $3 $4 $5 $6" = "-H -t snapshot -o name" ]; then
      grep -qxF "$7" "$S/snapshots" 2>/dev/null && { echo "$7"; exit 0; }
      echo "cannot open '$7': dataset does not exist" >&2; exit 1
    fi
    bad "$@" ;;
  get)
    [ "$#" -eq 7 ] && [ "$2 $3 $4 $5 $6" = "-H -p -o value available" ] || bad "$@"
    [ -n "$(mountpoint_of "$7")" ] || { echo "cannot open '$7'" >&2; exit 1; }
    cat "$S/available" ;;
  snapshot)
    shift; [ "$#" -ge 1 ] || bad snapshot
    for s in "$@"; do   # all or nothing, as zfs snapshot of several datasets is
      [ -n "$(mountpoint_of "${s%@*}")" ] || { echo "cannot open '${s%@*}': dataset does not exist" >&2; exit 1; }
      grep -qxF "$s" "$S/snapshots" 2>/dev/null && { echo "cannot create snapshot '$s': dataset already exists" >&2; exit 1; }
    done
    for s in "$@"; do
      m=$(mountpoint_of "${s%@*}"); d="$m/.zfs/snapshot/${s#*@}"; mkdir -p "$d"
      (cd "$m" && find . -mindepth 1 -maxdepth 1 ! -name .zfs -exec cp -a {} "$d/" \;)
      echo "$s" >> "$S/snapshots"
    done ;;
  destroy)
    [ "$#" -eq 2 ] && [[ "$2" == *@* ]] || bad "$@"
    grep -qxF "$2" "$S/snapshots" 2>/dev/null || { echo "could not find any snapshots to destroy" >&2; exit 1; }
    m=$(mountpoint_of "${2%@*}"); rm -rf "$m/.zfs/snapshot/${2#*@}"
    grep -vxF "$2" "$S/snapshots" > "$S/snapshots.new"; mv "$S/snapshots.new" "$S/snapshots" ;;
  *) bad "$@" ;;
esac
