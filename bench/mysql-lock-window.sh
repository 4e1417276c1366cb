#!/usr/bin/env bash
# The lock window of a full backup against the simulator with a MariaDB database of 200,000 and 2,000,000 rows
# (about 50 and 500 MB), with mysqldump's consistent snapshot taken inside the lock and the dump written after it
# (bbdiy's snapshot mode) and with the whole dump inside the lock (in-lock mode, as Atlassian's scripts do),
# measured from the simulator's event log. Needs MariaDB on 127.0.0.1:3306 with root and no password.
source "$(dirname "$0")/common.sh"
OUT="${BENCH_DIR:-/tmp/bbdiy-bench-mysql}"
rm -rf "$OUT" && mkdir -p "$OUT"
SQL=(mariadb --protocol=TCP -h 127.0.0.1 -u root -N -B)
declare -A window
for rows in 200000 2000000; do
  db="bbdiy_bench_r${rows}"
  "${SQL[@]}" -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db;
    CREATE TABLE $db.pull_request (id INT PRIMARY KEY, repository_id INT, title VARCHAR(255), body TEXT) ENGINE=InnoDB;
    INSERT INTO $db.pull_request SELECT seq, seq % 1000, CONCAT('pull request ', seq), REPEAT(MD5(seq), 6)
      FROM $db.seq_1_to_${rows};"
  size=$("${SQL[@]}" -e "SELECT ROUND(SUM(DATA_LENGTH + INDEX_LENGTH) / 1048576) FROM information_schema.TABLES
    WHERE TABLE_SCHEMA = '$db'")
  for mode in snapshot in-lock; do
    r=$(bench mysql "$db" "$mode" "$OUT/r$rows")
    window[$rows-$mode]=$(echo "$r" | field server_lock_window)
    echo "$rows rows (${size} MB), $mode: $r"
  done
  "${SQL[@]}" -e "DROP DATABASE $db"
done
cat <<REPORT
lock window (simulator's event log), drain 100 ms included:
  200,000 rows: snapshot ${window[200000-snapshot]}s, in-lock ${window[200000-in-lock]}s
  2,000,000 rows: snapshot ${window[2000000-snapshot]}s, in-lock ${window[2000000-in-lock]}s
ratios: in-lock/snapshot at 2,000,000 rows: $(ratio "${window[2000000-in-lock]}" "${window[2000000-snapshot]}")x (target >= 10x)
        snapshot 2,000,000 / 200,000 rows: $(ratio "${window[2000000-snapshot]}" "${window[200000-snapshot]}")x (target: ~1, same within noise)
REPORT
