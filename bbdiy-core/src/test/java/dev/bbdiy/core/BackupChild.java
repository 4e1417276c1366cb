package dev.bbdiy.core;

import dev.bbdiy.api.BackupEvent;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.spi.Secret;
import dev.bbdiy.archive.TarArchiverProvider;
import dev.bbdiy.testkit.ScriptedProvider;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * A backup in its own JVM, for the signal tests: {@code <bitbucket url> <work dir> <archive dir> <hang phase>}.
 * Prints one line per event; does not call System.exit, so a signal ends it the way it ends the real CLI.
 */
public final class BackupChild {
  private BackupChild() {}

  public static void main(String[] args) throws Exception {
    String hang = args[3];
    ScriptedProvider.Home home = ScriptedProvider.home();
    ScriptedProvider.Database db = ScriptedProvider.database();
    if (!hang.equals("none") && !hang.equals("drain")) {
      home.hangIn(hang);
    }
    BackupEngine engine = BackupEngine.builder()
        .instance(BitbucketInstance.of("bitbucket", null))
        .workDir(Path.of(args[1]))
        .bitbucket(MaintenanceClient.builder(args[0]).credentials("admin", Secret.of("admin"))
            .pollInterval(Duration.ofMillis(50)).build())
        .home(home)
        .database(db)
        .archiver(new TarArchiverProvider())
        .configuration(Map.of("tar.dir", args[2]))
        .drainTimeout(Duration.ofMinutes(10))
        .listener(e -> {
          String line = e.getClass().getSimpleName();
          if (e instanceof BackupEvent.PhaseStarted) {
            line += " " + ((BackupEvent.PhaseStarted) e).phase();
          } else if (e instanceof BackupEvent.Unlocked) {
            line += " released=" + ((BackupEvent.Unlocked) e).released();
          } else if (e instanceof BackupEvent.OperationFinished) {
            line += " " + ((BackupEvent.OperationFinished) e).code();
          }
          System.out.println(line);
          System.out.flush();
        })
        .build();
    engine.cancelOnShutdown(Duration.ofSeconds(60));
    try {
      engine.backup();
      System.out.println("RESULT OK");
    } catch (RuntimeException e) {
      System.out.println("RESULT " + e.getMessage().replace('\n', ' '));
    }
  }
}
