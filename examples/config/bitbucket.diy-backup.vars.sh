# An Atlassian-style vars file, as bbdiy reads it: `bbdiy backup --vars-file bitbucket.diy-backup.vars.sh`.
# bbdiy sources it with bash, so the shell logic Atlassian's example uses works unchanged.
INSTANCE_NAME=bitbucket
INSTANCE_TYPE=bitbucket-dc
BITBUCKET_URL=https://bitbucket.example.com
BITBUCKET_BACKUP_USER=backup-admin
BITBUCKET_BACKUP_PASS="$(cat /etc/bbdiy/bitbucket.password)"
BITBUCKET_HOME=/var/atlassian/application-data/bitbucket
BITBUCKET_UID=atlbitbucket
BITBUCKET_GID=atlbitbucket
BITBUCKET_DATA_STORES=()
BITBUCKET_BACKUP_EXCLUDE_REPOS=()

BACKUP_DISK_TYPE=rsync
BACKUP_DATABASE_TYPE=postgresql
BACKUP_ARCHIVE_TYPE=tar
BACKUP_ZERO_DOWNTIME=false

BITBUCKET_BACKUP_ROOT=/backup/bitbucket/work
BITBUCKET_BACKUP_ARCHIVE_ROOT=/backup/bitbucket/archives
KEEP_BACKUPS=7

case ${BACKUP_DATABASE_TYPE} in
  postgresql)
    BITBUCKET_DB=bitbucket
    POSTGRES_HOST=db.example.com
    POSTGRES_USERNAME=bitbucket
    POSTGRES_PASSWORD="$(cat /etc/bbdiy/postgres.password)"
    POSTGRES_PORT=5432
    ;;
esac

if [ "${BITBUCKET_VERBOSE_BACKUP}" != "true" ]; then
  BITBUCKET_VERBOSE_BACKUP=false
fi
