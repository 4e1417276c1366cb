package dev.bbdiy.snapshot;

import dev.bbdiy.api.BackupEvent;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.InstanceType;
import dev.bbdiy.api.spi.Secret;
import dev.bbdiy.archive.TarArchiverProvider;
import dev.bbdiy.core.BackupEngine;
import dev.bbdiy.core.MaintenanceClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A btrfs backup in its own JVM, to be killed: {@code <bitbucket url> <home> <work dir> <archive dir> <phase>}.
 * Prints {@code AT <phase>} when that phase starts and then waits there (in the listener, so the phase's work has
 * not begun), for the test's SIGKILL.
 */
public final class BtrfsBackupChild {
  private BtrfsBackupChild() {}

  public static void main(String[] args) throws Exception {
    BackupEngine engine = BackupEngine.builder()
        .instance(new BitbucketInstance("bitbucket", InstanceType.BITBUCKET, Path.of(args[1]), List.of(), List.of(),
            -1, -1))
        .workDir(Path.of(args[2]))
        .bitbucket(MaintenanceClient.builder(args[0]).credentials("admin", Secret.of("admin"))
            .pollInterval(Duration.ofMillis(20)).build())
        .home(new BtrfsProvider())
        .database(null)
        .archiver(new TarArchiverProvider())
        .configuration(Map.of("tar.dir", args[3]))
        .listener(e -> {
          if (e instanceof BackupEvent.PhaseStarted p && p.phase().name().equals(args[4])) {
            System.out.println("AT " + p.phase());
            System.out.flush();
            try {
              Thread.sleep(120_000);
            } catch (InterruptedException ie) {
              Thread.currentThread().interrupt();
            }
          }
        })
        .build();
    engine.backup();
    System.out.println("RESULT OK");
  }
}
