#!/usr/bin/env bash
# The restic archiver against the tar archiver and against restic run alone, in the same run, on a generated
# home (real git repositories, attachments, plugins): backup 1, then about 1 % of the files changed, backup 2
# (the archive phase is timed: store only, verification apart), then a restore of backup 2 with each archiver.
# Usage: bench/restic.sh [size in MB, default 1024]. Work directory: $BENCH_DIR (default /tmp/bbdiy-bench-restic).
# BENCH_ONLY=encryption measures only tar with and without encrypt-to (best of BENCH_ROUNDS, default 2).
source "$(dirname "$0")/common.sh"
SIZE_MB="${1:-1024}"
OUT="${BENCH_DIR:-/tmp/bbdiy-bench-restic}"
[ "${BENCH_ONLY:-}" = encryption ] || command -v restic >/dev/null || { echo "restic is not installed: apt-get install restic" >&2; exit 2; }
rm -rf "$OUT" && mkdir -p "$OUT/work"
echo "Generating a home of about ${SIZE_MB} MB..."
bench generate-git-home "$OUT/work/bitbucket-home" "$SIZE_MB"
tar -cf - -C "$OUT/work" bitbucket-home > /dev/null # warm the page cache for every contender alike
# A throwaway OpenPGP key for the encrypted tar figure.
export GNUPGHOME="$OUT/gnupg"; mkdir -p "$GNUPGHOME"; chmod 700 "$GNUPGHOME"
gpg --batch --quiet --pinentry-mode loopback --passphrase '' --quick-gen-key 'bbdiy bench <bench@example.com>' rsa3072 encrypt never
gpg --armor --export bench@example.com > "$OUT/bench.pub.asc"
java -Xmx256m --add-opens java.base/sun.nio.fs=ALL-UNNAMED -cp "$JAR:$TESTKIT" "$ROOT/bench/ResticBench.java" "$OUT" "$OUT/bench.pub.asc" \
  | tee "$OUT/results.txt"
gpgconf --kill gpg-agent || true
echo "restic $(restic version 2>/dev/null | awk '{print $2}'); $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
