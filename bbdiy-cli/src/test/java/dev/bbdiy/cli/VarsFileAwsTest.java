package dev.bbdiy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bbdiy.core.ProviderRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Atlassian's AWS variables map onto settings the bbdiy-aws providers declare (the load validates every key). */
class VarsFileAwsTest {
  @TempDir Path temp;

  @Test
  void an_aws_vars_file_maps_to_the_amazon_providers() throws Exception {
    Path vars = temp.resolve("bitbucket.diy-backup.vars.sh");
    Files.writeString(vars, String.join("\n",
        "INSTANCE_NAME=bitbucket",
        "BITBUCKET_URL=http://bitbucket.example.com",
        "BITBUCKET_BACKUP_USER=admin",
        "BITBUCKET_BACKUP_PASS=secret",
        "BITBUCKET_HOME=/var/atlassian/application-data/bitbucket",
        "BACKUP_DISK_TYPE=amazon-ebs",
        "BACKUP_DATABASE_TYPE=amazon-rds",
        "BACKUP_ARCHIVE_TYPE=aws-snapshots",
        "AWS_REGION=us-east-1",
        "EBS_VOLUME_MOUNT_POINT_AND_DEVICE_NAMES=(/var/atlassian/application-data/bitbucket:/dev/xvdf"
            + " /mnt/store:/dev/xvdg)",
        "RDS_INSTANCE_ID=bitbucket-db",
        "BACKUP_DEST_REGION=eu-west-1",
        "AWS_ADDITIONAL_TAGS=(team=scm env=prod)",
        "RESTORE_RDS_INSTANCE_CLASS=db.r6g.large",
        "RESTORE_RDS_SUBNET_GROUP_NAME=private",
        "RESTORE_RDS_SECURITY_GROUP=(sg-1 sg-2)",
        "RESTORE_DISK_VOLUME_TYPE=io2",
        "RESTORE_DISK_IOPS=3000",
        "KEEP_BACKUPS=7",
        ""));

    Config config = Config.load(null, vars, Map.of(), Map.of(), ProviderRegistry.load());

    assertThat(config.values()).containsEntry("home.type", "amazon-ebs")
        .containsEntry("database.type", "amazon-rds")
        .containsEntry("amazon-ebs.volumes", "/var/atlassian/application-data/bitbucket:/dev/xvdf,/mnt/store:/dev/xvdg")
        .containsEntry("amazon-ebs.region", "us-east-1")
        .containsEntry("amazon-ebs.copy-region", "eu-west-1")
        .containsEntry("amazon-ebs.tags", "team=scm,env=prod")
        .containsEntry("amazon-ebs.restore-volume-type", "io2")
        .containsEntry("amazon-ebs.restore-iops", "3000")
        .containsEntry("amazon-rds.instance-id", "bitbucket-db")
        .containsEntry("amazon-rds.copy-region", "eu-west-1")
        .containsEntry("amazon-rds.restore-instance-class", "db.r6g.large")
        .containsEntry("amazon-rds.restore-subnet-group", "private")
        .containsEntry("amazon-rds.restore-security-groups", "sg-1,sg-2");
    assertThat(config.warnings()).anySatisfy(w -> assertThat(w).contains("aws-snapshots"));
  }
}
