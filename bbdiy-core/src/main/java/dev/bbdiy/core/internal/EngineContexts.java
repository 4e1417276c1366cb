package dev.bbdiy.core.internal;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.spi.CancellationSignal;
import dev.bbdiy.api.spi.ContentSource;
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

  /**
   * A run context; {@code sources}, when not null, collects the {@linkplain RunContext#readFrom content sources}
   * declared by {@code provider} (only a backup's complete gets one).
   */
  public record Run(BackupId backupId, Phase phase, Path workDir, ProgressReporter progress,
      CancellationSignal cancellation, boolean archiveCompresses, String provider,
      @Nullable ContentSources sources) implements RunContext {
    @Override
    public void readFrom(ContentSource source) {
      if (sources == null) {
        RunContext.super.readFrom(source);
        return;
      }
      sources.add(provider, source);
    }
  }

  /** The content sources the providers of one backup declared, by layout path. Thread-safe. */
  public static final class ContentSources {
    private final Map<String, Declared> byPath = new java.util.concurrent.ConcurrentHashMap<>();

    /** A source and the provider that declared it. */
    public record Declared(String provider, ContentSource source) {}

    void add(String provider, ContentSource source) {
      Declared before = byPath.putIfAbsent(source.path(), new Declared(provider, source));
      if (before != null) {
        throw new IllegalArgumentException(provider + " declares a second source for " + source.path()
            + " (the first came from " + before.provider() + ")");
      }
    }

    /** Returns the source declared for {@code path}, if any. */
    public java.util.Optional<Declared> get(String path) {
      return java.util.Optional.ofNullable(byPath.get(path));
    }

    /** Returns every declared source. */
    public java.util.List<Declared> all() {
      return java.util.List.copyOf(byPath.values());
    }
  }

  /** A restore context; {@code sourceVerified} blocks until the source is verified, or throws. */
  public record Restore(BackupId backupId, Artifact artifact, @Nullable Path source, @Nullable Path targetHome,
      Map<Path, Path> targetDataStores, @Nullable String targetDatabase, ProgressReporter progress,
      CancellationSignal cancellation, Runnable sourceVerified, boolean fromLocalSnapshot,
      Map<String, Path> parts) implements RestoreContext {
    @Override
    public void awaitSourceVerified() {
      sourceVerified.run();
    }
  }
}
