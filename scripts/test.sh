#!/usr/bin/env bash
# Runs every test of bbdiy, including those against real PostgreSQL, rsync, git and GNU tar.
# Installs what the tests need when it is missing (Debian/Ubuntu; as root, or with sudo), then runs `mvn verify`.
# Extra arguments go to Maven, e.g. scripts/test.sh -pl bbdiy-core -am.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v rsync >/dev/null 2>&1 || need+=(rsync)
command -v git >/dev/null 2>&1 || need+=(git)
command -v zstd >/dev/null 2>&1 || need+=(zstd)
command -v tar >/dev/null 2>&1 || need+=(tar)
command -v pg_dump >/dev/null 2>&1 || need+=(postgresql-client)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v runuser >/dev/null 2>&1 || need+=(util-linux)
command -v restic >/dev/null 2>&1 || need+=(restic)
command -v gpg >/dev/null 2>&1 || need+=(gnupg)

if ((${#need[@]})); then
  echo "Installing what the tests need: ${need[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

command -v java >/dev/null 2>&1 || { echo "Java 17 or later is required (apt-get install openjdk-17-jdk)" >&2; exit 2; }
command -v mvn >/dev/null 2>&1 || { echo "Maven is required (apt-get install maven)" >&2; exit 2; }

exec mvn -B --no-transfer-progress verify "$@"
