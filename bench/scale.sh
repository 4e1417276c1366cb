#!/usr/bin/env bash
# Scale (issue 12), in one run, each figure as a ratio against a baseline measured in the same run:
#  1. the pass while Bitbucket is locked (the copy provider's capture after its live pass) on a home of a million
#     loose git objects, with 1 % and 10 % of them changed in between, and with the change journal disabled,
#     against `rsync -a --delete` second pass on the same trees (what Atlassian's scripts run in the lock);
#  2. the tar archiver's archive phase against `tar -cf - . | zstd -T0 -1` on that tree, and verify against it;
#  3. the restore of a ~1 GB home with a pgbench database (home extracted, database loaded while it is) against
#     `zstd -dc | tar -x` then `pg_restore -j` by hand;
#  4. the archive phase at 1 and 2 million files with a 64 MB heap (it must complete) and a 256 MB one: peak RSS.
# Usage: bench/scale.sh [files, default 1000000]; CHANGES (default "0.01 0.1"), NO_JOURNAL=0 and RESTORE=0 leave
# parts out (a shorter run); RESTORE_MB (default 1000) and PGBENCH_SCALE (default 30) size the
# restore part. Needs PostgreSQL on 127.0.0.1:5432 with trust for postgres.
# Work directory: $BENCH_DIR (default /tmp/bbdiy-bench-scale), about 12 GB at 2 million files.
source "$(dirname "$0")/common.sh"
FILES="${1:-1000000}"
OUT="${BENCH_DIR:-/tmp/bbdiy-bench-scale}"
mkdir -p "$OUT"
PG=(-h 127.0.0.1 -U postgres)
JOBS=$(nproc)
objects_home() { # $1 files -> path of a home of that many loose objects (generated once, kept between runs)
  local h="$OUT/objects-$1/bitbucket-home"
  if [ ! -d "$h" ]; then
    echo "Generating $1 loose objects in $h..." >&2
    bench generate-objects "$h" "$1" >&2
  fi
  echo "$h"
}
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; }
# Compiled ahead, so that the peak RSS measured is bbdiy's, not the source launcher's compiler.
mkdir -p "$OUT/classes"
javac -nowarn -d "$OUT/classes" -cp "$JAR:$TESTKIT" "$ROOT/bench/Bench.java"
BENCH_JAVA=(java -Xmx256m --add-opens java.base/sun.nio.fs=ALL-UNNAMED -cp "$JAR:$TESTKIT:$OUT/classes" Bench)

HOME1=$(objects_home "$FILES")
SRC="$OUT/live"

# 1. The locked pass. Each run starts from a fresh copy of the generated home (the changes are destructive).
locked() { # $1 fraction, $2.. settings -> "capture=<s> prepare=<s> ..."
  rm -rf "$SRC" "$OUT/work"; cp -a "$HOME1" "$SRC"
  bench home copy "$SRC" "$OUT/work" "$1" "${@:2}"
}
rsync_second() { # $1 fraction -> seconds of the second rsync pass
  rm -rf "$SRC" "$OUT/rsync"; cp -a "$HOME1" "$SRC"
  rsync -a --delete "$SRC/" "$OUT/rsync/"
  bench change-objects "$SRC" "$1" >/dev/null
  local t; t=$(now); rsync -a --delete "$SRC/" "$OUT/rsync/"; elapsed "$t"
}
declare -A cap rs
for f in ${CHANGES:-0.01 0.1}; do
  rs[$f]=$(rsync_second "$f"); echo "rsync second pass, $f changed: ${rs[$f]}s"
  r=$(locked "$f" copy.journal=true); echo "journal, $f changed: $r"; cap[$f]=$(echo "$r" | field capture)
done
if [ "${NO_JOURNAL:-1}" = 1 ]; then
  r=$(locked 0.01 copy.journal=false); echo "no journal, 0.01 changed: $r"; cap[off]=$(echo "$r" | field capture)
fi
rm -rf "$SRC" "$OUT/rsync"

# 2. The archive phase on the copy the last pass made, against tar | zstd on the same tree.
drop_caches
t=$(now); tar -cf - -C "$OUT/work" bitbucket-home | zstd -q -T0 -1 > "$OUT/baseline.tar.zst"; tzstd=$(elapsed "$t")
drop_caches
a=$(/usr/bin/time -f "rss_kb=%M" -o "$OUT/rss1" "${BENCH_JAVA[@]}" archive "$OUT/work" "$OUT/bbdiy.tar.zst" zstd 1)
archive=$(echo "$a" | field seconds); rss1=$(field rss_kb < "$OUT/rss1")
echo "archive phase: bbdiy ${archive}s, tar | zstd ${tzstd}s, peak RSS $((rss1 / 1024)) MB"
# Verify (every entry's SHA-256 against the manifest) against the archive phase, which read the same files.
drop_caches
v=$("${BENCH_JAVA[@]}" verify "$OUT/bbdiy.tar.zst" "$OUT/work"); echo "verify: $v"; verify=$(echo "$v" | field seconds)
rm -f "$OUT/baseline.tar.zst" "$OUT/bbdiy.tar.zst"

# 4. Constant memory: the archive phase at 1 and 2 million files with a 64 MB heap (its fixed buffer pools need
# about 64 MB; with it, a live set that grew with the files would end in OutOfMemoryError). Peak RSS of both runs.
# With a larger cap RSS measures how lazily the collector uses its heap, not what the archive phase holds.
SMALL_HEAP=(java -Xmx64m --add-opens java.base/sun.nio.fs=ALL-UNNAMED -cp "$JAR:$TESTKIT:$OUT/classes" Bench)
HOME2=$(objects_home $((FILES * 2)))
/usr/bin/time -f "rss_kb=%M" -o "$OUT/rss64a" "${SMALL_HEAP[@]}" archive "$(dirname "$HOME1")" "$OUT/bbdiy1.tar.zst" zstd 1 >/dev/null
rss64a=$(field rss_kb < "$OUT/rss64a"); rm -f "$OUT/bbdiy1.tar.zst"
echo "archive phase, 64 MB heap, $FILES files: peak RSS $((rss64a / 1024)) MB"
/usr/bin/time -f "rss_kb=%M" -o "$OUT/rss2" "${SMALL_HEAP[@]}" archive "$(dirname "$HOME2")" "$OUT/bbdiy2.tar.zst" zstd 1 >/dev/null
rss2=$(field rss_kb < "$OUT/rss2"); rm -f "$OUT/bbdiy2.tar.zst"
echo "archive phase, 64 MB heap, $((FILES * 2)) files: peak RSS $((rss2 / 1024)) MB"
/usr/bin/time -f "rss_kb=%M" -o "$OUT/rss256b" "${BENCH_JAVA[@]}" archive "$(dirname "$HOME2")" "$OUT/bbdiy2.tar.zst" zstd 1 >/dev/null
rss256b=$(field rss_kb < "$OUT/rss256b"); rm -f "$OUT/bbdiy2.tar.zst"
echo "archive phase, 256 MB heap, $((FILES * 2)) files: peak RSS $((rss256b / 1024)) MB"

# 3. Restore of a ~1 GB home with a pgbench database. (RESTORE=0 leaves it out)
restore=n/a manual=n/a dbsize=n/a
if [ "${RESTORE:-1}" = 1 ]; then
RH="$OUT/restore"; rm -rf "$RH"; mkdir -p "$RH"
bench generate-git-home "$RH/home" "${RESTORE_MB:-1000}" >/dev/null
db=bbdiy_bench_restore
dropdb "${PG[@]}" --if-exists "$db"; createdb "${PG[@]}" "$db"
pgbench "${PG[@]}" -i -q -s "${PGBENCH_SCALE:-30}" "$db" >/dev/null 2>&1
for d in "${db}_bbdiy" "${db}_manual"; do dropdb "${PG[@]}" --if-exists "$d"; done
drop_caches
r=$(bench restore-pg "$db" "$RH/home" "$RH/b" "${db}_bbdiy"); echo "bbdiy restore: $r"
restore=$(echo "$r" | field restore); archive_file=$(echo "$r" | field archive)
drop_caches
mkdir -p "$RH/manual"
t=$(now)
zstd -dc "$archive_file" | tar -x -C "$RH/manual"
createdb "${PG[@]}" "${db}_manual"
pg_restore "${PG[@]}" -j "$JOBS" -d "${db}_manual" "$RH/manual/bitbucket-db"
manual=$(elapsed "$t")
dbsize=$(psql "${PG[@]}" -tAc "SELECT pg_size_pretty(pg_database_size('$db'))" postgres)
for d in "$db" "${db}_bbdiy" "${db}_manual"; do dropdb "${PG[@]}" --if-exists "$d"; done
rm -rf "$RH"
fi

cat <<REPORT
home: $FILES loose objects, $(du -sb "$HOME1" | cut -f1) bytes; $(nproc) cores; heap capped at 256 MB
locked pass, 1 % changed:   copy ${cap[0.01]:-n/a}s   rsync second pass ${rs[0.01]:-n/a}s   ratio $(ratio "${cap[0.01]:-0}" "${rs[0.01]:-0}")x (target <= 0.1x and <= 1 s)
locked pass, 10 % changed:  copy ${cap[0.1]:-n/a}s   rsync second pass ${rs[0.1]:-n/a}s   ratio $(ratio "${cap[0.1]:-0}" "${rs[0.1]:-0}")x
locked pass, 1 %, no journal: copy ${cap[off]:-n/a}s   ratio to rsync $(ratio "${cap[off]:-0}" "${rs[0.01]:-0}")x
archive phase: bbdiy ${archive}s   tar | zstd -T0 -1 ${tzstd}s   ratio $(ratio "$archive" "$tzstd")x (target <= 1.3x)
verify: ${verify}s   against bbdiy's archive phase ${archive}s   ratio $(ratio "$verify" "$archive")x (target <= 1x)
restore, 1 GB home + ${dbsize} database: bbdiy ${restore}s   zstd -dc | tar -x, then pg_restore -j $JOBS: ${manual}s   ratio $(ratio "$restore" "$manual")x (target <= 0.7x)
peak RSS, archive phase, 64 MB heap: $FILES files $((rss64a / 1024)) MB, $((FILES * 2)) files $((rss2 / 1024)) MB (target: unchanged; both completed)
peak RSS, archive phase, 256 MB heap: $FILES files $((rss1 / 1024)) MB, $((FILES * 2)) files $((rss256b / 1024)) MB (the issue's figure; it also measures how lazily the collector fills its heap)
REPORT
