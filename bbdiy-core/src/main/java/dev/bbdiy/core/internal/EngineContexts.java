package dev.bbdiy.core.internal;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.spi.CancellationSignal;
import dev.bbdiy.api.spi.ProgressReporter;
import dev.bbdiy.api.spi.ProviderContext;
import dev.bbdiy.api.spi.RestoreContext;
import dev.bbdiy.api.spi.RunContext;
import dev.bbdiy.api.spi.Settings;
import java.nio.file.Path;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/** The engine's implementations of the SPI's context interfaces. */
public final class EngineContexts {
  private EngineContexts() {}

  /** A provider context; the state directory is created when first asked for. */
  public record Provider(Settings settings, BitbucketInstance instance, Path workDir, String toolVersion)
      implements ProviderContext {
    @Override
    public Path stateDirectory() {
      Path dir = workDir.resolve(".bbdiy").resolve("providers").resolve(settings.prefix());
      try {
        return dev.bbdiy.kit.PrivateFiles.createPrivateDirectories(dir);
      } catch (java.io.IOException e) {
        throw dev.bbdiy.api.BbdiyException.configuration("Cannot create the state directory " + dir + " of "
            + settings.prefix() + ": " + dev.bbdiy.kit.Reasons.of(e) + ". Check work.dir is writable by this user.");
      }
    }
  }

  /** A run context. */
  public record Run(BackupId backupId, Phase phase, Path workDir, ProgressReporter progress,
      CancellationSignal cancellation, boolean archiveCompresses) implements RunContext {}

  /** A restore context; {@code sourceVerified} blocks until the source is verified, or throws. */
  public record Restore(BackupId backupId, Artifact artifact, @Nullable Path source, @Nullable Path targetHome,
      Map<Path, Path> targetDataStores, @Nullable String targetDatabase, ProgressReporter progress,
      CancellationSignal cancellation, Runnable sourceVerified) implements RestoreContext {
    @Override
    public void awaitSourceVerified() {
      sourceVerified.run();
    }
  }
}
