#!/usr/bin/env bash
# The lock window of a full backup against the simulator with a pgbench database of scale 10 and 50, with the
# snapshot exported inside the lock and dumped after it (bbdiy) and with the dump inside the lock (Atlassian's
# scripts), measured from the simulator's event log. Needs PostgreSQL on 127.0.0.1:5432 with trust for postgres.
source "$(dirname "$0")/common.sh"
OUT="${BENCH_DIR:-/tmp/bbdiy-bench-pg}"
rm -rf "$OUT" && mkdir -p "$OUT"
PG=(-h 127.0.0.1 -U postgres)
declare -A window
for scale in 10 50; do
  db="bbdiy_bench_s${scale}"
  dropdb "${PG[@]}" --if-exists "$db"
  createdb "${PG[@]}" "$db"
  pgbench "${PG[@]}" -i -q -s "$scale" "$db" >/dev/null 2>&1
  size=$(psql "${PG[@]}" -tAc "SELECT pg_size_pretty(pg_database_size('$db'))" postgres)
  for mode in snapshot in-lock; do
    r=$(bench pg "$db" "$mode" "$OUT/s$scale")
    window[$scale-$mode]=$(echo "$r" | field server_lock_window)
    echo "scale $scale ($size), $mode: $r"
  done
  dropdb "${PG[@]}" "$db"
done
cat <<REPORT
lock window (simulator's event log), drain 100 ms included:
  scale 10: snapshot ${window[10-snapshot]}s, in-lock ${window[10-in-lock]}s
  scale 50: snapshot ${window[50-snapshot]}s, in-lock ${window[50-in-lock]}s
ratios: in-lock/snapshot at scale 50: $(ratio "${window[50-in-lock]}" "${window[50-snapshot]}")x (target >= 10x)
        snapshot scale 50 / scale 10: $(ratio "${window[50-snapshot]}" "${window[10-snapshot]}")x (target: ~1, same within noise)
REPORT
