#!/usr/bin/env bash
# Builds bbdiy and runs its demo: a backup and restore of a generated Bitbucket home (real git repositories)
# against the bundled Bitbucket simulator. Needs only Java 17 and Maven; uses PostgreSQL if one answers on
# 127.0.0.1:5432 with trust authentication. Extra arguments go to `bbdiy demo` (try --help, --keep, --json).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f bbdiy-cli/target/bbdiy-cli.jar ] || [ -n "$(find . -name '*.java' -newer bbdiy-cli/target/bbdiy-cli.jar -print -quit)" ]; then
  mvn -B -q --no-transfer-progress -DskipTests package -pl bbdiy-cli -am
fi
exec java -jar bbdiy-cli/target/bbdiy-cli.jar demo "$@"
