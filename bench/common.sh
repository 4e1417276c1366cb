# Sourced by the benchmark scripts: builds the shaded jar if needed, and small helpers.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JAR="$ROOT/bbdiy-cli/target/bbdiy-cli.jar"
if [ ! -f "$JAR" ]; then
  (cd "$ROOT" && mvn -B -q --no-transfer-progress -DskipTests package)
fi
# The benchmarks cap the heap to prove constant memory.
bench() { java -Xmx256m -cp "$JAR" "$ROOT/bench/Bench.java" "$@"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.3f", a - b }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
ratio4() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.5f", a / b }'; }
field() { tr ' ' '\n' | sed -n "s/^$1=//p"; }
