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
[ -x /usr/sbin/sshd ] && command -v ssh >/dev/null 2>&1 || need+=(openssh-server openssh-client)
command -v pg_dump >/dev/null 2>&1 || need+=(postgresql-client)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v runuser >/dev/null 2>&1 || need+=(util-linux)
{ command -v mariadb-dump || command -v mysqldump; } >/dev/null 2>&1 || need+=(mariadb-client)
[ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
command -v sqlite3 >/dev/null 2>&1 || need+=(sqlite3)
command -v mkfs.btrfs >/dev/null 2>&1 || [ -x /usr/sbin/mkfs.btrfs ] || need+=(btrfs-progs)
# bbdiy-dist builds the .deb and DebianPackageIT installs it: dpkg-deb, adduser, systemd-analyze, man and col.
command -v dpkg-deb >/dev/null 2>&1 || need+=(dpkg)
command -v adduser >/dev/null 2>&1 || need+=(adduser)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v man >/dev/null 2>&1 || need+=(man-db)
command -v col >/dev/null 2>&1 || need+=(bsdextrautils)
command -v restic >/dev/null 2>&1 || need+=(restic)
command -v gpg >/dev/null 2>&1 || need+=(gnupg)
# SnapshotHomeContract puts a named pipe in the home to prove that capture reads no file data.
command -v mkfifo >/dev/null 2>&1 || need+=(coreutils)
command -v gpg-zip >/dev/null 2>&1 || need+=(gnupg-utils) # Atlassian's gpg-zip, to make their archives in a test

if ((${#need[@]})); then
  echo "Installing what the tests need: ${need[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# The mysql provider's tests use the machine's MariaDB on 127.0.0.1:3306 (root, no password): start it if it is
# not running, as the machine's own service start does.
if ! (exec 3<>/dev/tcp/127.0.0.1/3306) 2>/dev/null; then
  echo "Starting MariaDB for the mysql provider's tests"
  install -d -o mysql -g mysql /run/mysqld 2>/dev/null || true
  [ -d /var/lib/mysql/mysql ] || mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  for _ in $(seq 1 120); do (exec 3<>/dev/tcp/127.0.0.1/3306) 2>/dev/null && break; sleep 0.5; done
  (exec 3<>/dev/tcp/127.0.0.1/3306) 2>/dev/null || { echo "MariaDB did not start on 127.0.0.1:3306" >&2; exit 2; }
fi
# A fresh Debian install lets root in through the socket only: give the tests root over TCP from 127.0.0.1.
if ! mariadb --protocol=TCP -h 127.0.0.1 -u root -e 'SELECT 1' >/dev/null 2>&1; then
  mariadb -u root -e "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION"
fi

command -v java >/dev/null 2>&1 || { echo "Java 17 or later is required (apt-get install openjdk-17-jdk)" >&2; exit 2; }
command -v mvn >/dev/null 2>&1 || { echo "Maven is required (apt-get install maven)" >&2; exit 2; }

exec mvn -B --no-transfer-progress verify "$@"
