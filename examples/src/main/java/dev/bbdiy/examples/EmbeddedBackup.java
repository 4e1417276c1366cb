package dev.bbdiy.examples;

import dev.bbdiy.api.BackupResult;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.spi.Secret;
import dev.bbdiy.core.BackupEngine;
import dev.bbdiy.core.MaintenanceClient;
import dev.bbdiy.core.ProviderRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * Embeds a backup in your own tooling: the engine with the providers found on the class path, progress printed
 * as it happens, Bitbucket unlocked on SIGTERM.
 *
 * <p>Run: {@code java -cp bbdiy-cli.jar:examples.jar dev.bbdiy.examples.EmbeddedBackup <url> <user> <password>
 * <home> <work dir> <archive dir>}.
 */
public final class EmbeddedBackup {
  private EmbeddedBackup() {}

  public static void main(String[] args) throws Exception {
    BackupResult result = backup(args[0], args[1], args[2], Path.of(args[3]), Path.of(args[4]), Path.of(args[5]));
    System.out.println(result.id() + " locked Bitbucket for " + result.lockWindow());
  }

  /** Backs up the home at {@code home} (no database) into tar.zst archives in {@code archives}. */
  public static BackupResult backup(String url, String user, String password, Path home, Path work, Path archives)
      throws Exception {
    ProviderRegistry providers = ProviderRegistry.load();
    BackupEngine engine = BackupEngine.builder()
        .instance(BitbucketInstance.of("bitbucket", home))
        .workDir(work)
        .bitbucket(MaintenanceClient.builder(url)
            .credentials(user, Secret.of(password))
            .build())
        .home(providers.home("copy"))
        .archiver(providers.archiver("tar"))
        .configuration(Map.of("tar.dir", archives.toString()))
        .listener(event -> System.out.println(event))
        .build();
    try (AutoCloseable unlockOnSigterm = engine.cancelOnShutdown(Duration.ofMinutes(3))) {
      return engine.backup();
    }
  }
}
