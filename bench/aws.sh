#!/usr/bin/env bash
# bbdiy-aws against its fakes: the lock window of full amazon-ebs + amazon-rds backups (drain time plus a few API
# round trips, independent of data size), and the s3 archiver's throughput into S3Mock against the tar archiver
# writing the same content to local disk, in the same run.
# Usage: bench/aws.sh [megabytes for the S3 run, default 512]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MB="${1:-512}"
cd "$ROOT"
if ! mvn -B -q --no-transfer-progress test -pl bbdiy-aws -am -Dtest=AwsBench \
    -Dsurefire.failIfNoSpecifiedTests=false -Dbench.s3-mb="$MB" > /tmp/bbdiy-aws-bench.log 2>&1; then
  tail -40 /tmp/bbdiy-aws-bench.log >&2
  echo "AwsBench failed: see bbdiy-aws/target/surefire-reports" >&2
  exit 1
fi
grep -h '^RESULT' bbdiy-aws/target/surefire-reports/dev.bbdiy.aws.AwsBench-output.txt
echo "$(nproc) cores; S3Mock stores on the same local disk as the tar archiver"
