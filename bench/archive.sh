#!/usr/bin/env bash
# Archive and extract a generated Bitbucket-like home (real git packs: mostly already-compressed data) with
# bbdiy's tar+zstd, and in the same run with `tar -czf` / `tar -xzf` and `tar -I 'zstd -T0 -1'`.
# Usage: bench/archive.sh [size in MB, default 1024]. Work directory: $BENCH_DIR (default /tmp/bbdiy-bench-archive).
source "$(dirname "$0")/common.sh"
SIZE_MB="${1:-1024}"
OUT="${BENCH_DIR:-/tmp/bbdiy-bench-archive}"
rm -rf "$OUT" && mkdir -p "$OUT/work"
echo "Generating a home of about ${SIZE_MB} MB..."
bench generate-git-home "$OUT/work/bitbucket-home" "$SIZE_MB"
tar -cf - -C "$OUT/work" bitbucket-home > /dev/null # warm the page cache for every contender alike

t=$(now); tar -czf "$OUT/gnu.tar.gz" -C "$OUT/work" bitbucket-home; gz=$(elapsed "$t")
t=$(now); tar -I 'zstd -T0 -1' -cf "$OUT/gnu.tar.zst" -C "$OUT/work" bitbucket-home; zst=$(elapsed "$t")
l1=$(bench archive "$OUT/work" "$OUT/bbdiy-l1.tar.zst" zstd 1)
l3=$(bench archive "$OUT/work" "$OUT/bbdiy-l3.tar.zst" zstd 3)
b1=$(echo "$l1" | field seconds); b3=$(echo "$l3" | field seconds)
gz_size=$(stat -c %s "$OUT/gnu.tar.gz"); zst_size=$(stat -c %s "$OUT/gnu.tar.zst")
b1_size=$(echo "$l1" | field size); b3_size=$(echo "$l3" | field size)

mkdir -p "$OUT/x-gnu" "$OUT/x-bbdiy"
t=$(now); tar -xzf "$OUT/gnu.tar.gz" -C "$OUT/x-gnu"; xgz=$(elapsed "$t")
x=$(bench extract "$OUT/bbdiy-l3.tar.zst" "$OUT/x-bbdiy/bitbucket-home" "$OUT/work"); xb=$(echo "$x" | field seconds)

cat <<REPORT
content: $(du -sb "$OUT/work/bitbucket-home" | cut -f1) bytes, $(find "$OUT/work/bitbucket-home" -type f | wc -l) files; $(nproc) cores; bbdiy heap capped at 256 MB
archive  tar -czf                 ${gz}s  ${gz_size} bytes
archive  tar -I 'zstd -T0 -1'     ${zst}s  ${zst_size} bytes
archive  bbdiy tar.zst level 1    ${b1}s  ${b1_size} bytes (SHA-256 of every file included)
archive  bbdiy tar.zst level 3    ${b3}s  ${b3_size} bytes (the default level)
extract  tar -xzf                 ${xgz}s
extract  bbdiy (verifying)        ${xb}s  ($(echo "$x" | field verified) verified)
ratios   speed vs tar -czf:         level 1 $(ratio "$gz" "$b1")x, level 3 $(ratio "$gz" "$b3")x   (target >= 6x)
         time vs zstd -T0 -1:       level 1 $(ratio "$b1" "$zst")x, level 3 $(ratio "$b3" "$zst")x   (target <= 1.3x)
         size vs tar -czf:          level 1 $(ratio "$b1_size" "$gz_size")x, level 3 $(ratio "$b3_size" "$gz_size")x   (target <= 1)
         extract time vs tar -xzf:  $(ratio "$xb" "$xgz")x   (target <= 1)
REPORT
