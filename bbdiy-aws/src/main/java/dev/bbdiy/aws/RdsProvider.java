package dev.bbdiy.aws;

import dev.bbdiy.api.spi.Capability;
import dev.bbdiy.api.spi.DatabaseDumper;
import dev.bbdiy.api.spi.DatabaseDumperProvider;
import dev.bbdiy.api.spi.ProviderContext;
import dev.bbdiy.api.spi.Setting;
import dev.bbdiy.api.spi.SettingType;
import java.util.List;
import java.util.Set;

/**
 * The {@code amazon-rds} database dumper ({@code BACKUP_DATABASE_TYPE=amazon-rds}): a manual snapshot of the RDS
 * instance (or Aurora cluster) started while Bitbucket is locked, waited for after the unlock. Capable of
 * zero-downtime mode.
 */
public final class RdsProvider implements DatabaseDumperProvider {
  public static final Setting INSTANCE_ID = Setting.of("instance-id", SettingType.STRING,
      "The DB instance, or the Aurora cluster when aurora=true (RDS_INSTANCE_ID).").asRequired()
      .fromVarsFile("RDS_INSTANCE_ID");
  public static final Setting AURORA = Setting.of("aurora", SettingType.BOOLEAN,
      "Whether instance-id names an Aurora cluster (IS_AURORA).").withDefault("false").fromVarsFile("IS_AURORA");
  public static final Setting POLL_INTERVAL = Setting.of("poll-interval", SettingType.DURATION,
      "How often to check on snapshots and instances.").withDefault("10s").withRange("10ms", "1h");
  public static final Setting RESTORE_MODE = Setting.of("restore-mode", SettingType.STRING,
      "new (default): restore under a new id; rename: rename the existing instance to <id>-pre-restore-<time>"
          + " and restore under the original id, as Atlassian's scripts do.").withDefault("new");
  public static final Setting RESTORE_INSTANCE_ID = Setting.of("restore-instance-id", SettingType.STRING,
      "Id of the restored instance or cluster in new mode (default <id>-restored-<time>; or --target-database).")
      .fromVarsFile("RESTORE_RDS_INSTANCE_ID");
  public static final Setting RESTORE_INSTANCE_CLASS = Setting.of("restore-instance-class", SettingType.STRING,
      "Instance class of the restored instance (RESTORE_RDS_INSTANCE_CLASS); default: the original's.")
      .fromVarsFile("RESTORE_RDS_INSTANCE_CLASS");
  public static final Setting RESTORE_SUBNET_GROUP = Setting.of("restore-subnet-group", SettingType.STRING,
      "DB subnet group (RESTORE_RDS_SUBNET_GROUP_NAME); default: the original's.")
      .fromVarsFile("RESTORE_RDS_SUBNET_GROUP_NAME");
  public static final Setting RESTORE_SECURITY_GROUPS = Setting.of("restore-security-groups", SettingType.LIST,
      "VPC security group ids (RESTORE_RDS_SECURITY_GROUP); default: the original's.")
      .fromVarsFile("RESTORE_RDS_SECURITY_GROUP");
  public static final Setting RESTORE_MULTI_AZ = Setting.of("restore-multi-az", SettingType.BOOLEAN,
      "Multi-AZ restored instance (RESTORE_RDS_MULTI_AZ); default: the original's setting.")
      .fromVarsFile("RESTORE_RDS_MULTI_AZ");

  @Override
  public String name() {
    return "amazon-rds";
  }

  @Override
  public String description() {
    return "RDS / Aurora manual snapshots, started inside the lock, completed after it";
  }

  @Override
  public List<Setting> settings() {
    return List.of(INSTANCE_ID, AURORA, AwsSupport.REGION, AwsSupport.ENDPOINT, AwsSupport.TAGS,
        AwsSupport.COPY_REGION, AwsSupport.COPY_ACCOUNT, AwsSupport.COPY_ROLE, AwsSupport.COPY_KMS_KEY,
        AwsSupport.WAIT_TIMEOUT, AwsSupport.API_TIMEOUT, POLL_INTERVAL, RESTORE_MODE, RESTORE_INSTANCE_ID,
        RESTORE_INSTANCE_CLASS, RESTORE_SUBNET_GROUP, RESTORE_SECURITY_GROUPS, RESTORE_MULTI_AZ);
  }

  @Override
  public Set<Capability> capabilities() {
    return Set.of(Capability.ATOMIC_CAPTURE, Capability.EXTERNAL_ARTIFACTS);
  }

  @Override
  public DatabaseDumper create(ProviderContext context) {
    return new RdsDumper(context);
  }
}
