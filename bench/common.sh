# Sourced by the benchmark scripts: builds the shaded jar if needed, and small helpers.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JAR="$ROOT/bbdiy-cli/target/bbdiy-cli.jar"
TESTKIT="$(ls "$ROOT"/bbdiy-testkit/target/bbdiy-testkit-*.jar 2>/dev/null | grep -v -- '-sources\|-javadoc' | head -1 || true)"
if [ ! -f "$JAR" ] || [ -z "$TESTKIT" ]; then
  (cd "$ROOT" && mvn -B -q --no-transfer-progress -DskipTests package)
  TESTKIT="$(ls "$ROOT"/bbdiy-testkit/target/bbdiy-testkit-*.jar | grep -v -- '-sources\|-javadoc' | head -1)"
fi
# The benchmarks cap the heap to prove constant memory. The testkit gives them the run contexts of the tests.
bench() { java -Xmx256m --add-opens java.base/sun.nio.fs=ALL-UNNAMED -cp "$JAR:$TESTKIT" "$ROOT/bench/Bench.java" "$@"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.3f", a - b }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0 || a !~ /^[0-9.]+$/) printf "n/a"; else printf "%.2f", a / b }'; }
ratio4() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.5f", a / b }'; }
field() { tr ' ' '\n' | sed -n "s/^$1=//p"; }
