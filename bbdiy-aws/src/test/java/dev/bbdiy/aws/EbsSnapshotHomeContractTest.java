package dev.bbdiy.aws;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.spi.HomeSnapshotterProvider;
import dev.bbdiy.api.spi.RestoreOutcome;
import dev.bbdiy.testkit.SnapshotHomeContract;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/** {@code amazon-ebs} runs the testkit's snapshot-home contract against the stateful EC2 fake. */
class EbsSnapshotHomeContractTest extends SnapshotHomeContract {
  private FakeAws aws;
  private Path mount;
  private Path freeze;

  @BeforeEach
  void startAws() throws Exception {
    // Snapshots stay pending over a few describes, so that complete waits (and can be cancelled while it does).
    aws = new FakeAws().describesUntilDone(5);
    mount = Files.createTempDirectory(Path.of("/dev/shm"), "bbdiy-ebs-contract-");
    Files.writeString(Files.createDirectories(mount.resolve("shared")).resolve("bitbucket.properties"), "a=b\n");
    freeze = temp.resolve("fsfreeze");
    Files.writeString(freeze, "#!/bin/sh\n[ \"$1\" = --version ] && echo 'fsfreeze from util-linux 2.38'\nexit 0\n");
    Files.setPosixFilePermissions(freeze, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  @AfterEach
  void stopAws() throws Exception {
    aws.close();
    try (var walk = Files.walk(mount)) {
      for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  @Override
  protected HomeSnapshotterProvider provider() {
    return new EbsProvider();
  }

  @Override
  protected Map<String, String> configuration() {
    Map<String, String> m = new HashMap<>();
    m.put("amazon-ebs.volumes", mount + ":/dev/xvdf");
    m.put("amazon-ebs.endpoint", aws.url());
    m.put("amazon-ebs.imds-endpoint", aws.url());
    m.put("amazon-ebs.freeze-command", freeze.toString());
    m.put("amazon-ebs.poll-interval", "20ms");
    m.put("amazon-ebs.mount-command", "true");
    m.put("amazon-ebs.umount-command", "true");
    return m;
  }

  @Override
  protected Path home() {
    return mount;
  }

  @Override
  protected Set<String> snapshots() {
    synchronized (aws.snapshots) {
      return Set.copyOf(aws.snapshots.keySet());
    }
  }

  @Override
  protected void assertRestored(Artifact artifact, RestoreOutcome outcome) {
    FakeAws.Call created = aws.calls("CreateVolume").get(0);
    assertThat(created.param("SnapshotId")).isEqualTo(artifact.property("snapshot.0"));
    String volume = aws.calls("AttachVolume").get(0).param("VolumeId");
    assertThat(aws.volumes.get(volume)).containsEntry("state", "in-use").containsEntry("device", "/dev/xvdf");
    assertThat(outcome.target()).contains(volume, mount.toString(), artifact.property("snapshot.0"));
  }
}
