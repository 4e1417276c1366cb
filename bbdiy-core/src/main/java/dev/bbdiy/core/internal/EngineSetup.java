package dev.bbdiy.core.internal;

import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.spi.ArchiverProvider;
import dev.bbdiy.api.spi.DatabaseDumperProvider;
import dev.bbdiy.api.spi.HomeSnapshotterProvider;
import dev.bbdiy.api.spi.Provider;
import dev.bbdiy.api.spi.ProviderContext;
import dev.bbdiy.api.spi.Settings;
import dev.bbdiy.core.MaintenanceClient;
import dev.bbdiy.core.RetentionPolicy;
import dev.bbdiy.core.Version;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * What an engine was built with, validated: every operation (backup, restore, retention, recovery) reads it.
 *
 * @param workDir the working directory, absolute and normalized
 * @param client Bitbucket, or {@code null} in zero-downtime mode without a URL
 * @param settings each provider's validated settings, by provider name
 * @param recorded the engine's own settings, as recorded in manifests
 */
public record EngineSetup(
    BitbucketInstance instance,
    Path workDir,
    @Nullable MaintenanceClient client,
    @Nullable HomeSnapshotterProvider home,
    @Nullable DatabaseDumperProvider database,
    ArchiverProvider archiver,
    Map<String, Settings> settings,
    boolean zeroDowntime,
    Duration drainTimeout,
    Duration maxLockWindow,
    RetentionPolicy retention,
    Clock clock,
    Map<String, String> recorded) {

  /** Returns where bbdiy keeps its own state: {@code <workDir>/.bbdiy}. */
  public Path stateDir() {
    return workDir.resolve(".bbdiy");
  }

  /** Returns the home and database providers, then the archiver. */
  public List<Provider> providers() {
    List<Provider> out = new ArrayList<>();
    if (home != null) {
      out.add(home);
    }
    if (database != null) {
      out.add(database);
    }
    out.add(archiver);
    return out;
  }

  /** Returns the context a provider is created with. */
  public ProviderContext context(Provider p) {
    Settings s = settings.get(p.name());
    if (s == null) {
      throw new IllegalStateException("no settings for " + p.name());
    }
    return new EngineContexts.Provider(s, instance, workDir, Version.current());
  }

  /** Returns whether two Bitbucket URLs are the same instance. */
  public static boolean sameUrl(String a, String b) {
    return a.replaceAll("/+$", "").equalsIgnoreCase(b.replaceAll("/+$", ""));
  }
}
