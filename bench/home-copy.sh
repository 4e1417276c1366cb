#!/usr/bin/env bash
# The home providers' two passes on a generated home of about 1 GB and 50,000 files, about 1% of them changed
# between prepare and capture: rsync and the built-in copy, in the same run.
# Usage: bench/home-copy.sh [files, default 48000]. Work directory: $BENCH_DIR (default /tmp/bbdiy-bench-home).
source "$(dirname "$0")/common.sh"
FILES="${1:-48000}"
OUT="${BENCH_DIR:-/tmp/bbdiy-bench-home}"
rm -rf "$OUT" && mkdir -p "$OUT"
echo "Generating a home with ${FILES} attachments and git repositories..."
bench generate-many-files "$OUT/home" "$FILES" 20
tar -cf - -C "$OUT" home > /dev/null
results=()
for provider in rsync copy copy rsync rsync copy; do
  rm -rf "$OUT/work"
  r=$(bench home "$provider" "$OUT/home" "$OUT/work" 0.01)
  echo "$provider: $r"
  results+=("$provider $r")
done
best() { printf '%s\n' "${results[@]}" | grep "^$1 " | field "$2" | sort -n | head -1; }
rp=$(best rsync prepare); rc=$(best rsync capture); cp=$(best copy prepare); cc=$(best copy capture)
cat <<REPORT
home: $(du -sb "$OUT/home" | cut -f1) bytes, $(find "$OUT/home" -type f | wc -l) files; $(nproc) cores; best of three runs each, interleaved
prepare  rsync ${rp}s   copy ${cp}s   copy/rsync $(ratio "$cp" "$rp")x (target <= 1.5x)
capture  rsync ${rc}s   copy ${cc}s   copy/rsync $(ratio "$cc" "$rc")x (target <= 1x)
REPORT
