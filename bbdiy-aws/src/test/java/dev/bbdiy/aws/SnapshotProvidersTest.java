package dev.bbdiy.aws;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupResult;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.spi.Secret;
import dev.bbdiy.core.BackupEngine;
import dev.bbdiy.core.MaintenanceClient;
import dev.bbdiy.core.ProviderRegistry;
import dev.bbdiy.core.RestoreRequest;
import dev.bbdiy.core.RetentionPolicy;
import dev.bbdiy.archive.TarArchiverProvider;
import dev.bbdiy.testkit.FakeBitbucketExtension;
import dev.bbdiy.simulator.FakeBitbucketServer.Endpoint;
import dev.bbdiy.simulator.FakeBitbucketServer.EventType;
import dev.bbdiy.testkit.TestClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** amazon-ebs and amazon-rds through the engine, against a stateful fake of EC2, RDS and IMDSv2. */
class SnapshotProvidersTest {
  @RegisterExtension
  final FakeBitbucketExtension bitbucket = FakeBitbucketExtension.create(b -> b.drainTime(Duration.ofMillis(50)));

  @TempDir Path temp;

  FakeAws aws;
  Path freezeLog;
  Path mount;
  final TestClock clock = new TestClock();

  @BeforeEach
  void start() throws Exception {
    aws = new FakeAws();
    // A volume's mount point is never on the root file system, which the provider refuses to freeze.
    mount = Files.createTempDirectory(Path.of("/dev/shm"), "bbdiy-ebs-");
    freezeLog = temp.resolve("freeze.log");
    Path freeze = temp.resolve("fsfreeze");
    Files.writeString(freeze, "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'fsfreeze from util-linux 2.38'; exit 0;"
        + " fi\necho \"$1 $2\" >> " + freezeLog + "\nif [ -f " + temp.resolve("freeze-fails") + " ] && [ \"$1\" = -f ];"
        + " then exit 1; fi\n");
    Files.setPosixFilePermissions(freeze, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  @AfterEach
  void stop() throws Exception {
    aws.close();
    try (var walk = Files.walk(mount)) {
      for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  Map<String, String> config(String... extra) {
    Map<String, String> m = new HashMap<>();
    m.put("amazon-ebs.volumes", mount + ":/dev/xvdf");
    m.put("amazon-ebs.endpoint", aws.url());
    m.put("amazon-ebs.imds-endpoint", aws.url());
    m.put("amazon-ebs.freeze-command", temp.resolve("fsfreeze").toString());
    m.put("amazon-ebs.poll-interval", "20ms");
    m.put("amazon-ebs.mount-command", "true");
    m.put("amazon-ebs.umount-command", "true");
    m.put("amazon-ebs.tags", "team=scm");
    m.put("amazon-rds.instance-id", "bitbucket-db");
    m.put("amazon-rds.endpoint", aws.url());
    m.put("amazon-rds.region", "us-east-1");
    m.put("amazon-rds.poll-interval", "20ms");
    m.put("tar.dir", temp.resolve("archives").toString());
    for (int i = 0; i < extra.length; i += 2) {
      m.put(extra[i], extra[i + 1]);
    }
    return m;
  }

  BackupEngine.Builder engine(Map<String, String> config) {
    return BackupEngine.builder()
        .instance(BitbucketInstance.of("bitbucket", mount))
        .workDir(temp.resolve("work"))
        .bitbucket(MaintenanceClient.builder(bitbucket.url()).credentials("admin", Secret.of("admin"))
            .pollInterval(Duration.ofMillis(20)).build())
        .home(new EbsProvider())
        .database(new RdsProvider())
        .archiver(new TarArchiverProvider())
        .configuration(config)
        .clock(clock);
  }

  Instant unlockedAt() {
    return bitbucket.server().events(EventType.UNLOCKED).get(0).at();
  }

  @Test
  void are_registered() {
    ProviderRegistry r = ProviderRegistry.load();
    assertThat(r.home("amazon-ebs")).isInstanceOf(EbsProvider.class);
    assertThat(r.database("amazon-rds")).isInstanceOf(RdsProvider.class);
    assertThat(r.archiver("s3")).isInstanceOf(S3ArchiverProvider.class);
  }

  @Test
  void snapshots_start_inside_the_lock_and_complete_after_it() throws Exception {
    BackupResult result = engine(config()).build().backup();

    Instant unlocked = unlockedAt();
    Instant locked = bitbucket.server().events(EventType.LOCKED).get(0).at();
    FakeAws.Call create = aws.calls("CreateSnapshots").stream().filter(c -> c.param("DryRun") == null).findFirst()
        .orElseThrow();
    FakeAws.Call db = aws.calls("CreateDBSnapshot").get(0);
    assertThat(create.at()).isBetween(locked, unlocked);
    assertThat(db.at()).isBetween(locked, unlocked);
    assertThat(aws.calls("DescribeSnapshots")).as("waited for, after the unlock").isNotEmpty()
        .allSatisfy(c -> assertThat(c.at()).isAfter(unlocked));
    assertThat(aws.calls("DescribeDBSnapshots")).as("waited for, after the unlock").isNotEmpty()
        .allSatisfy(c -> assertThat(c.at()).isAfter(unlocked));

    assertThat(create.param("InstanceSpecification.InstanceId")).isEqualTo(FakeAws.INSTANCE);
    assertThat(create.param("InstanceSpecification.ExcludeBootVolume")).isEqualTo("true");
    assertThat(List.of(create.param("InstanceSpecification.ExcludeDataVolumeId.1"),
        create.param("InstanceSpecification.ExcludeDataVolumeId.2"))).containsExactlyInAnyOrder("vol-store",
        "vol-other");
    assertThat(aws.snapshots.values()).singleElement().satisfies(s -> {
      assertThat(s.get("volume")).isEqualTo("vol-home");
      assertThat(s.get("tags")).contains("Name=" + result.id(), "bbdiy:instance=bitbucket", "team=scm");
    });
    assertThat(aws.calls("CreateTags").get(0).param("Tag.1.Value")).isEqualTo("/dev/xvdf");
    assertThat(aws.calls("CreateDBSnapshot").get(0).param("DBInstanceIdentifier")).isEqualTo("bitbucket-db");
    assertThat(Files.readAllLines(freezeLog)).containsExactly("-f " + mount, "-u " + mount);
    assertThat(aws.imdsV1Attempts).as("IMDSv2 only").isZero();

    Artifact home = result.summary().artifact(Artifact.Kind.HOME).orElseThrow();
    assertThat(home.property("snapshot.0")).startsWith("snap-");
    assertThat(home.property("device.0")).isEqualTo("/dev/xvdf");
    assertThat(result.summary().artifact(Artifact.Kind.DATABASE).orElseThrow().property("snapshot"))
        .isEqualTo(result.id().value());
    assertThat(result.lockWindow()).isLessThan(Duration.ofSeconds(5));
    assertThat(bitbucket.server().isLocked()).isFalse();
  }

  @Test
  void zero_downtime_makes_no_lock_calls() {
    BackupResult r = engine(config()).zeroDowntime(true).build().backup();

    assertThat(r.lockWindow()).isNull();
    assertThat(bitbucket.server().calls(Endpoint.LOCK)).isZero();
  }

  @Test
  void throttling_is_retried_by_the_sdk() {
    aws.throttle.put("CreateSnapshots", 2);
    aws.throttle.put("DescribeDBSnapshots", 2);

    BackupResult r = engine(config()).build().backup();

    assertThat(r.verification().ok()).isTrue();
    assertThat(aws.calls("CreateSnapshots").size()).isGreaterThanOrEqualTo(4); // dry run + 2 throttled + 1
  }

  @Test
  void a_failed_snapshot_call_still_thaws_and_unlocks() throws Exception {
    aws.failWith.put("CreateSnapshots", "InternalError");

    assertThatThrownBy(() -> engine(config()).build().backup())
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.PROVIDER_FAILED));

    assertThat(Files.readAllLines(freezeLog)).contains("-f " + mount, "-u " + mount);
    assertThat(bitbucket.server().isLocked()).isFalse();
    assertThat(aws.snapshots).isEmpty();
  }

  @Test
  void a_failed_freeze_takes_no_snapshot_and_unlocks() throws Exception {
    Files.writeString(temp.resolve("freeze-fails"), "");

    assertThatThrownBy(() -> engine(config()).build().backup()).isInstanceOf(BbdiyException.class)
        .hasMessageContaining("fsfreeze");

    assertThat(aws.calls("CreateSnapshots").stream().filter(c -> c.param("DryRun") == null)).isEmpty();
    assertThat(Files.readAllLines(freezeLog)).as("a failed freeze may have frozen: thawed in any case")
        .containsExactly("-f " + mount, "-u " + mount);
    assertThat(bitbucket.server().isLocked()).isFalse();
  }

  @Test
  void a_failure_after_the_unlock_deletes_what_this_run_created() {
    aws.failWith.put("DescribeDBSnapshots", "AccessDenied");
    aws.failTimes.put("DescribeDBSnapshots", 1);

    assertThatThrownBy(() -> engine(config()).build().backup()).isInstanceOf(BbdiyException.class);

    assertThat(aws.snapshots).as("EBS snapshots deleted").isEmpty();
    assertThat(aws.dbSnapshots).as("RDS snapshot deleted, after it stopped being created").isEmpty();
    assertThat(bitbucket.server().isLocked()).isFalse();
  }

  @Test
  void snapshots_of_a_create_call_whose_answer_was_lost_are_found_by_tag_and_deleted() {
    // As if CreateSnapshots had made them and its answer never arrived: tagged for this backup (this second or
    // the next, as the clock runs), unknown to the provider.
    Instant now = clock.instant();
    List<String> lost = new java.util.ArrayList<>();
    for (Instant at : List.of(now, now.plusSeconds(1))) {
      String id = "snap-lost-" + at.getEpochSecond();
      aws.snapshots.put(id, new java.util.LinkedHashMap<>(Map.of("volume", "vol-home", "state", "pending",
          "tags", "Name=x;" + AwsSupport.TAG_INSTANCE + "=bitbucket;" + AwsSupport.TAG_BACKUP + "="
              + BackupId.of("bitbucket", at) + ";")));
      lost.add(id);
    }
    aws.failWith.put("CreateSnapshots", "InternalError");

    assertThatThrownBy(() -> engine(config()).build().backup()).isInstanceOf(BbdiyException.class);

    assertThat(lost.stream().filter(aws.snapshots::containsKey)).as("only the other backup's is left")
        .hasSize(1);
    assertThat(bitbucket.server().isLocked()).isFalse();
  }

  @Test
  void a_snapshot_that_already_existed_is_not_deleted_by_the_cleanup() {
    // The snapshot id this backup will want, for this second and the next (the clock runs).
    Instant now = clock.instant();
    Map<String, Map<String, String>> theirs = new java.util.LinkedHashMap<>();
    for (Instant at : List.of(now, now.plusSeconds(1))) {
      theirs.put(RdsDumper.snapshotId(BackupId.of("bitbucket", at).value()),
          new java.util.LinkedHashMap<>(Map.of("status", "available", "source", "bitbucket-db", "tags", "")));
    }
    aws.dbSnapshots.putAll(theirs);

    assertThatThrownBy(() -> engine(config()).build().backup()).isInstanceOf(BbdiyException.class)
        .hasMessageContaining("DBSnapshotAlreadyExists");

    assertThat(aws.dbSnapshots).containsAllEntriesOf(theirs);
    assertThat(aws.calls("DeleteDBSnapshot")).isEmpty();
    assertThat(aws.snapshots).as("the EBS snapshots of this run are deleted").isEmpty();
    assertThat(bitbucket.server().isLocked()).isFalse();
  }

  @Test
  void retention_deletes_old_snapshots_with_their_backup() {
    BackupResult first = engine(config()).build().backup();
    clock.advance(Duration.ofSeconds(2));
    BackupResult second = engine(config()).retention(RetentionPolicy.keepLast(1)).build().backup();

    assertThat(second.pruned()).containsExactly(first.id());
    String firstSnapshot = first.summary().artifact(Artifact.Kind.HOME).orElseThrow().property("snapshot.0");
    assertThat(aws.snapshots).doesNotContainKey(firstSnapshot).hasSize(1);
    assertThat(aws.dbSnapshots).doesNotContainKey(first.id().value()).containsKey(second.id().value());
  }

  @Test
  void copies_go_to_another_region_and_are_deleted_with_the_backup() {
    // The EC2 SDK takes the copy's destination region from the endpoint host (see src/test/resources/hosts).
    String regional = aws.url().replace("127.0.0.1", "ec2.eu-west-1.amazonaws.com");
    BackupResult first = engine(config("amazon-ebs.copy-region", "eu-west-1", "amazon-rds.copy-region",
        "eu-west-1", "amazon-ebs.endpoint", regional)).build().backup();

    assertThat(aws.calls("CopySnapshot")).singleElement().satisfies(c -> assertThat(c.param("SourceRegion"))
        .isEqualTo("us-east-1"));
    assertThat(aws.calls("CopyDBSnapshot")).singleElement().satisfies(c -> assertThat(
        c.param("SourceDBSnapshotIdentifier")).startsWith("arn:aws:rds:"));
    assertThat(aws.snapshots).hasSize(2);
    clock.advance(Duration.ofSeconds(2));
    engine(config("amazon-ebs.copy-region", "eu-west-1", "amazon-rds.copy-region", "eu-west-1",
        "amazon-ebs.endpoint", regional)).retention(RetentionPolicy.keepLast(1)).build().backup();
    assertThat(aws.snapshots).hasSize(2).doesNotContainKey(first.summary().artifact(Artifact.Kind.HOME)
        .orElseThrow().property("copy.0.snapshot"));
  }

  @Test
  void copies_into_another_account_are_shared_then_copied_with_the_assumed_role() {
    String regional = aws.url().replace("127.0.0.1", "ec2.eu-west-1.amazonaws.com");
    System.setProperty("aws.endpointUrlSts", aws.url()); // the SDK's per-service endpoint override
    try {
      Map<String, String> config = config("amazon-ebs.copy-region", "eu-west-1", "amazon-ebs.endpoint", regional,
          "amazon-ebs.copy-account", "210987654321",
          "amazon-ebs.copy-role", "arn:aws:iam::210987654321:role/bitbucket-backup-copy",
          "amazon-rds.copy-account", "210987654321",
          "amazon-rds.copy-role", "arn:aws:iam::210987654321:role/bitbucket-backup-copy");
      BackupResult first = engine(config).build().backup();

      String snapshot = first.summary().artifact(Artifact.Kind.HOME).orElseThrow().property("snapshot.0");
      assertThat(aws.calls("ModifySnapshotAttribute")).singleElement().satisfies(c -> {
        assertThat(c.param("SnapshotId")).isEqualTo(snapshot);
        assertThat(c.param("CreateVolumePermission.Add.1.UserId")).isEqualTo("210987654321");
      });
      assertThat(aws.calls("AssumeRole")).isNotEmpty().allSatisfy(c -> assertThat(c.param("RoleArn"))
          .isEqualTo("arn:aws:iam::210987654321:role/bitbucket-backup-copy"));
      assertThat(aws.calls("CopySnapshot")).singleElement().satisfies(c -> assertThat(c.accessKey())
          .as("the copy is made in the other account").isEqualTo("ASIA210987654321"));
      assertThat(aws.calls("CreateSnapshots")).isNotEmpty().allSatisfy(c -> assertThat(c.accessKey())
          .isEqualTo("AKIAFAKEFAKEFAKE"));
      assertThat(aws.calls("ModifyDBSnapshotAttribute")).singleElement().satisfies(c -> {
        assertThat(c.param("AttributeName")).isEqualTo("restore");
        assertThat(c.param("ValuesToAdd.AttributeValue.1")).isEqualTo("210987654321");
        assertThat(c.accessKey()).isEqualTo("AKIAFAKEFAKEFAKE");
      });
      assertThat(aws.calls("CopyDBSnapshot")).singleElement().satisfies(c -> {
        assertThat(c.accessKey()).isEqualTo("ASIA210987654321");
        assertThat(c.param("SourceDBSnapshotIdentifier")).startsWith("arn:aws:rds:us-east-1:");
      });

      clock.advance(Duration.ofSeconds(2));
      engine(config).retention(RetentionPolicy.keepLast(1)).build().backup();
      String copy = first.summary().artifact(Artifact.Kind.HOME).orElseThrow().property("copy.0.snapshot");
      assertThat(aws.calls("DeleteSnapshot")).anySatisfy(c -> {
        assertThat(c.param("SnapshotId")).isEqualTo(copy);
        assertThat(c.accessKey()).as("deleted there, with the role").isEqualTo("ASIA210987654321");
      });
    } finally {
      System.clearProperty("aws.endpointUrlSts");
    }
  }

  @Test
  void the_root_file_system_is_never_frozen() {
    assertThatThrownBy(() -> engine(config("amazon-ebs.volumes", "/:/dev/xvdf")).build().backup())
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION))
        .hasMessageContaining("root file system").hasMessageContaining("amazon-ebs.freeze=false");
    assertThat(bitbucket.server().calls(Endpoint.LOCK)).isZero();
  }

  @Test
  void preflight_names_what_is_wrong() {
    assertThatThrownBy(() -> engine(config("amazon-ebs.volumes", mount + ":/dev/xvdz")).build().backup())
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION))
        .hasMessageContaining("/dev/xvdz").hasMessageContaining("/dev/xvdf");
    aws.failWith.put("CreateSnapshots", "UnauthorizedOperation");
    assertThatThrownBy(() -> engine(config()).build().backup())
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION))
        .hasMessageContaining("ec2:CreateSnapshots");
    assertThat(bitbucket.server().calls(Endpoint.LOCK)).isZero();
  }

  @Test
  void restore_swaps_in_volumes_made_from_the_snapshots_and_a_new_database() throws Exception {
    BackupResult backup = engine(config()).build().backup();
    Path repo = Files.createDirectories(mount.resolve("shared/data/repositories/7"));
    Files.createDirectories(repo.resolve("objects"));
    Files.createDirectories(repo.resolve("refs/heads"));
    Files.writeString(repo.resolve("HEAD"), "ref: refs/heads/master\n");
    Files.writeString(repo.resolve("HEAD.lock"), "stale");
    Files.writeString(repo.resolve("refs/heads/master.lock"), "stale");

    var result = engine(config()).build().restore(RestoreRequest.builder(backup.id()).targetDatabase("bitbucket-db-new")
        .build());

    assertThat(result.phases()).containsKeys(Phase.RESTORE_DATABASE, Phase.RESTORE_HOME);
    FakeAws.Call created = aws.calls("CreateVolume").get(0);
    assertThat(created.param("SnapshotId")).isEqualTo(backup.summary().artifact(Artifact.Kind.HOME).orElseThrow()
        .property("snapshot.0"));
    assertThat(created.param("AvailabilityZone")).isEqualTo(FakeAws.ZONE);
    assertThat(created.param("VolumeType")).isEqualTo("gp3");
    assertThat(aws.calls("DetachVolume")).singleElement().satisfies(c -> assertThat(c.param("VolumeId"))
        .isEqualTo("vol-home"));
    assertThat(aws.volumes.get("vol-home").get("state")).as("the old volume is kept").isEqualTo("available");
    String newVolume = aws.calls("AttachVolume").get(0).param("VolumeId");
    assertThat(aws.volumes.get(newVolume)).containsEntry("state", "in-use").containsEntry("device", "/dev/xvdf");
    assertThat(repo.resolve("HEAD.lock")).doesNotExist();
    assertThat(repo.resolve("refs/heads/master.lock")).doesNotExist();
    assertThat(aws.dbInstances.get("bitbucket-db-new")).containsEntry("status", "available")
        .containsEntry("snapshot", backup.id().value());
  }

  @Test
  void a_failed_home_restore_puts_the_original_volume_back() throws Exception {
    BackupResult backup = engine(config()).build().backup();
    // The first mount (of the new volume) fails; the second (of the original) works.
    Path mountCommand = temp.resolve("mount");
    Path failNext = Files.writeString(temp.resolve("mount-fails"), "");
    Files.writeString(mountCommand, "#!/bin/sh\nif [ -f " + failNext + " ]; then rm " + failNext
        + "; echo 'mount: wrong fs type' >&2; exit 32; fi\n");
    Files.setPosixFilePermissions(mountCommand, PosixFilePermissions.fromString("rwxr-xr-x"));

    assertThatThrownBy(() -> engine(config("amazon-ebs.mount-command", mountCommand.toString())).build()
        .restore(RestoreRequest.builder(backup.id()).homeOnly().build()))
        .isInstanceOf(BbdiyException.class).hasMessageContaining("wrong fs type");

    assertThat(aws.volumes.get("vol-home")).as("the original is back").containsEntry("state", "in-use")
        .containsEntry("device", "/dev/xvdf");
    String newVolume = aws.calls("AttachVolume").get(0).param("VolumeId");
    assertThat(aws.volumes.get(newVolume)).as("the restored volume is detached, kept for inspection")
        .containsEntry("state", "available");
    assertThat(aws.actions()).containsSubsequence("DetachVolume", "AttachVolume", "DetachVolume", "AttachVolume");
  }

  @Test
  void restore_refuses_an_existing_database_instance_and_supports_the_rename_mode() {
    BackupResult backup = engine(config()).build().backup();

    assertThatThrownBy(() -> engine(config()).build().restore(RestoreRequest.builder(backup.id()).databaseOnly()
        .targetDatabase("bitbucket-db").build()))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.REFUSED));

    engine(config("amazon-rds.restore-mode", "rename")).build().restore(RestoreRequest.builder(backup.id())
        .databaseOnly().build());
    assertThat(aws.dbInstances.keySet()).anyMatch(id -> id.startsWith("bitbucket-db-pre-restore-"));
    assertThat(aws.dbInstances.get("bitbucket-db")).containsEntry("snapshot", backup.id().value());
  }

  @Test
  void aurora_clusters_get_cluster_snapshots() {
    BackupResult r = engine(config("amazon-rds.instance-id", "bitbucket-aurora", "amazon-rds.aurora", "true"))
        .build().backup();

    assertThat(aws.calls("CreateDBClusterSnapshot")).singleElement().satisfies(c -> assertThat(
        c.param("DBClusterIdentifier")).isEqualTo("bitbucket-aurora"));
    assertThat(r.summary().artifact(Artifact.Kind.DATABASE).orElseThrow().property("aurora")).isEqualTo("true");
  }

  @Test
  void snapshot_ids_follow_the_rds_rules() {
    assertThat(RdsDumper.snapshotId("bitbucket-20261124-110000")).isEqualTo("bitbucket-20261124-110000");
    assertThat(RdsDumper.snapshotId("9bb_20261124")).isEqualTo("bbdiy-9bb-20261124");
  }
}
