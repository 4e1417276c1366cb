#!/usr/bin/env bash
# The lock window of a whole backup (simulator's event log: lock granted to unlock, and the part after the drain)
# with the btrfs snapshot provider against copy and rsync, on one generated home on a loop-mounted btrfs, with 1 %
# and 10 % of the attachments changed between the live pass and the lock; also the whole backup's wall time.
# Needs root and btrfs-progs (and rsync). Usage: bench/snapshot-lock-window.sh [files per size...]
# (default: 12000 48000, about 0.25 and 1 GB). Work directory: $BENCH_DIR (default /tmp/bbdiy-bench-snap).
source "$(dirname "$0")/common.sh"
SIZES=("${@:-12000 48000}")
SIZES=(${SIZES[*]})
OUT="${BENCH_DIR:-/tmp/bbdiy-bench-snap}"
cleanup() { umount "$OUT/mnt" 2>/dev/null || true; rm -rf "$OUT"; }
trap cleanup EXIT
cleanup; mkdir -p "$OUT/mnt"
truncate -s 12G "$OUT/btrfs.img"
mkfs.btrfs -q "$OUT/btrfs.img" >/dev/null
mount -o loop "$OUT/btrfs.img" "$OUT/mnt"
echo "machine: $(nproc) cores, shared with other builds (loaded); figures are indicative"
printf '%-7s %-6s %-7s %12s %12s %9s %9s\n' files change provider lock_window after_drain wall home_bytes
for files in "${SIZES[@]}"; do
  bench generate-many-files "$OUT/mnt/template-$files" "$files" 20 >/dev/null
  for change in 0.01 0.10; do
    declare -A window=() drain=() wall=()
    for provider in copy rsync btrfs; do
      home="$OUT/mnt/home-$files"
      [ -d "$home" ] && btrfs subvolume delete "$home" >/dev/null
      btrfs subvolume create "$home" >/dev/null
      cp -a --reflink=always "$OUT/mnt/template-$files/." "$home/"   # the same home for every run, at no cost
      sync
      r=$(bench lock-window "$provider" "$home" "$OUT/run-$files-$change" "$change")
      window[$provider]=$(echo "$r" | field server_lock_window)
      drain[$provider]=$(echo "$r" | field after_drain)
      wall[$provider]=$(echo "$r" | field wall)
      printf '%-7s %-6s %-7s %12s %12s %9s %9s\n' "$files" "$change" "$provider" "${window[$provider]}" \
        "${drain[$provider]}" "${wall[$provider]}" "$(du -sb "$home" | cut -f1)"
      rm -rf "$OUT/run-$files-$change"
    done
    echo "  btrfs/copy lock window $(ratio4 "${window[btrfs]}" "${window[copy]}")  btrfs/rsync $(ratio4 "${window[btrfs]}" "${window[rsync]}")  after drain btrfs $(awk -v a="${drain[btrfs]}" 'BEGIN{printf "%.1f", a*1000}') ms (target < 50 ms)  wall btrfs/copy $(ratio "${wall[btrfs]}" "${wall[copy]}")"
  done
done
