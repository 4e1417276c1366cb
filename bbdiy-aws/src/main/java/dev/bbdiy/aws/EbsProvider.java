package dev.bbdiy.aws;

import dev.bbdiy.api.spi.Capability;
import dev.bbdiy.api.spi.HomeSnapshotter;
import dev.bbdiy.api.spi.HomeSnapshotterProvider;
import dev.bbdiy.api.spi.ProviderContext;
import dev.bbdiy.api.spi.Setting;
import dev.bbdiy.api.spi.SettingType;
import java.util.List;
import java.util.Set;

/**
 * The {@code amazon-ebs} home snapshotter ({@code BACKUP_DISK_TYPE=amazon-ebs}): crash-consistent snapshots of
 * every EBS volume of the home and data stores, started together while Bitbucket is locked (after an optional
 * {@code fsfreeze}, always thawed), waited for after the unlock. The lock window is the drain plus a few API
 * calls, whatever the size of the volumes. Capable of zero-downtime mode.
 */
public final class EbsProvider implements HomeSnapshotterProvider {
  public static final Setting VOLUMES = Setting.of("volumes", SettingType.LIST,
      "The volumes, as mount-point:device pairs (EBS_VOLUME_MOUNT_POINT_AND_DEVICE_NAMES), e.g."
          + " /var/atlassian/application-data/bitbucket:/dev/xvdf").asRequired()
      .fromVarsFile("EBS_VOLUME_MOUNT_POINT_AND_DEVICE_NAMES");
  public static final Setting INSTANCE_ID = Setting.of("instance-id", SettingType.STRING,
      "This EC2 instance; default: read from the instance metadata (IMDSv2).").fromVarsFile("AWS_EC2_INSTANCE_ID");
  public static final Setting AVAILABILITY_ZONE = Setting.of("availability-zone", SettingType.STRING,
      "Its availability zone; default: read from the instance metadata (IMDSv2).")
      .fromVarsFile("AWS_AVAILABILITY_ZONE");
  public static final Setting IMDS_ENDPOINT = Setting.of("imds-endpoint", SettingType.STRING,
      "Instance metadata endpoint (tests).");
  public static final Setting FREEZE = Setting.of("freeze", SettingType.BOOLEAN,
      "Freeze the file systems (fsfreeze) while the snapshots start; always thawed (FSFREEZE).").withDefault("true")
      .fromVarsFile("FSFREEZE");
  public static final Setting FREEZE_COMMAND = Setting.of("freeze-command", SettingType.STRING,
      "The fsfreeze program.").withDefault("fsfreeze");
  public static final Setting POLL_INTERVAL = Setting.of("poll-interval", SettingType.DURATION,
      "How often to check on snapshots and volumes.").withDefault("5s").withRange("10ms", "1h");
  public static final Setting RESTORE_VOLUME_TYPE = Setting.of("restore-volume-type", SettingType.STRING,
      "Type of the volumes a restore creates (RESTORE_DISK_VOLUME_TYPE).").withDefault("gp3")
      .fromVarsFile("RESTORE_DISK_VOLUME_TYPE");
  public static final Setting RESTORE_IOPS = Setting.of("restore-iops", SettingType.INTEGER,
      "Provisioned IOPS of restored volumes (RESTORE_DISK_IOPS).").withRange("100", "256000")
      .fromVarsFile("RESTORE_DISK_IOPS");
  public static final Setting RESTORE_THROUGHPUT = Setting.of("restore-throughput", SettingType.INTEGER,
      "Throughput (MiB/s) of restored gp3 volumes.").withRange("125", "2000");
  public static final Setting RESTORE_KMS_KEY = Setting.of("restore-kms-key", SettingType.STRING,
      "KMS key of restored volumes (default: the snapshot's).");
  public static final Setting MOUNT_COMMAND = Setting.of("mount-command", SettingType.STRING,
      "Mounts a restored volume: the program, given the device and the mount point.").withDefault("mount");
  public static final Setting UMOUNT_COMMAND = Setting.of("umount-command", SettingType.STRING,
      "Unmounts the volume being replaced: the program, given the mount point.").withDefault("umount");

  @Override
  public String name() {
    return "amazon-ebs";
  }

  @Override
  public String description() {
    return "EBS snapshots of the home and data store volumes, started inside the lock, completed after it";
  }

  @Override
  public List<Setting> settings() {
    return List.of(VOLUMES, AwsSupport.REGION, AwsSupport.ENDPOINT, INSTANCE_ID, AVAILABILITY_ZONE, IMDS_ENDPOINT,
        FREEZE, FREEZE_COMMAND, AwsSupport.TAGS, AwsSupport.COPY_REGION, AwsSupport.COPY_ACCOUNT,
        AwsSupport.COPY_ROLE, AwsSupport.COPY_KMS_KEY, AwsSupport.WAIT_TIMEOUT, AwsSupport.API_TIMEOUT,
        POLL_INTERVAL, RESTORE_VOLUME_TYPE, RESTORE_IOPS, RESTORE_THROUGHPUT, RESTORE_KMS_KEY, MOUNT_COMMAND,
        UMOUNT_COMMAND);
  }

  @Override
  public Set<Capability> capabilities() {
    return Set.of(Capability.ATOMIC_CAPTURE, Capability.EXTERNAL_ARTIFACTS);
  }

  @Override
  public HomeSnapshotter create(ProviderContext context) {
    return new EbsSnapshotter(context);
  }
}
