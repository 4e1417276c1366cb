package dev.bbdiy.testkit;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BackupSummary;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.InstanceType;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.spi.CancellationSignal;
import dev.bbdiy.api.spi.ContentSource;
import dev.bbdiy.api.spi.ProgressReporter;
import dev.bbdiy.api.spi.Provider;
import dev.bbdiy.api.spi.ProviderContext;
import dev.bbdiy.api.spi.RestoreContext;
import dev.bbdiy.api.spi.RunContext;
import dev.bbdiy.api.spi.Settings;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jspecify.annotations.Nullable;

/**
 * Contexts for calling providers directly in tests, without the engine: what contract tests and provider
 * authors' unit tests need.
 */
public final class TestContexts {
  private TestContexts() {}

  /** Records what a provider reported. Thread-safe. */
  public static final class RecordingProgress implements ProgressReporter {
    private final List<String> messages = new CopyOnWriteArrayList<>();
    private final List<String> warnings = new CopyOnWriteArrayList<>();

    @Override
    public void message(String message) {
      messages.add(message);
    }

    @Override
    public void progress(String message, long done, long total, String unit) {
      messages.add(message);
    }

    @Override
    public void warning(String message) {
      warnings.add(message);
    }

    public List<String> messages() {
      return Collections.unmodifiableList(messages);
    }

    public List<String> warnings() {
      return Collections.unmodifiableList(warnings);
    }
  }

  /** A cancellation signal tests can trigger. Thread-safe; open for signals that cancel themselves. */
  public static class TestCancellation implements CancellationSignal {
    private final List<Runnable> actions = new ArrayList<>();
    private volatile @Nullable String reason;

    /** Cancels, running the registered actions. */
    public void cancel(String why) {
      List<Runnable> run;
      synchronized (this) {
        if (reason != null) {
          return;
        }
        reason = why;
        run = new ArrayList<>(actions);
      }
      run.forEach(Runnable::run);
    }

    @Override
    public boolean isCancelled() {
      return reason != null;
    }

    @Override
    public @Nullable String reason() {
      return reason;
    }

    @Override
    public void throwIfCancelled() {
      if (reason != null) {
        throw new BbdiyException(ErrorCode.INTERRUPTED, "Cancelled: " + reason);
      }
    }

    @Override
    public synchronized Registration onCancel(Runnable action) {
      if (reason != null) {
        action.run();
        return () -> {};
      }
      actions.add(action);
      return () -> {
        synchronized (TestCancellation.this) {
          actions.remove(action);
        }
      };
    }
  }

  /** Returns the settings of {@code provider} from {@code configuration} (full keys). */
  public static Settings settings(Provider provider, Map<String, String> configuration) {
    return Settings.of(provider.name(), provider.settings(), configuration);
  }

  /** Returns a provider context. */
  public static ProviderContext providerContext(
      Provider provider, Map<String, String> configuration, BitbucketInstance instance, Path workDir) {
    Settings settings = settings(provider, configuration);
    return new ProviderContext() {
      @Override
      public Settings settings() {
        return settings;
      }

      @Override
      public BitbucketInstance instance() {
        return instance;
      }

      @Override
      public Path workDir() {
        return workDir;
      }

      @Override
      public Path stateDirectory() {
        Path dir = workDir.resolve(".bbdiy/providers").resolve(provider.name());
        try {
          java.nio.file.Files.createDirectories(dir);
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
        return dir;
      }

      @Override
      public String toolVersion() {
        return "test";
      }
    };
  }

  /** A run context for one phase. */
  public static final class TestRunContext implements RunContext {
    private final BackupId id;
    private final Phase phase;
    private final Path workDir;
    private final RecordingProgress progress;
    private final TestCancellation cancellation;
    private final boolean archiveCompresses;
    private final List<ContentSource> sources;

    public TestRunContext(BackupId id, Phase phase, Path workDir, RecordingProgress progress,
        TestCancellation cancellation, boolean archiveCompresses) {
      this(id, phase, workDir, progress, cancellation, archiveCompresses, new CopyOnWriteArrayList<>());
    }

    private TestRunContext(BackupId id, Phase phase, Path workDir, RecordingProgress progress,
        TestCancellation cancellation, boolean archiveCompresses, List<ContentSource> sources) {
      this.id = id;
      this.phase = phase;
      this.workDir = workDir;
      this.progress = progress;
      this.cancellation = cancellation;
      this.archiveCompresses = archiveCompresses;
      this.sources = sources;
    }

    /** Returns the same run in another phase. */
    public TestRunContext in(Phase other) {
      return new TestRunContext(id, other, workDir, progress, cancellation, archiveCompresses, sources);
    }

    /** Accepts content sources in {@link Phase#COMPLETE}, as the engine does, refusing a second one per path. */
    @Override
    public void readFrom(ContentSource source) {
      if (phase != Phase.COMPLETE) {
        RunContext.super.readFrom(source);
        return;
      }
      if (sources.stream().anyMatch(s -> s.path().equals(source.path()))) {
        throw new IllegalArgumentException("A second content source for " + source.path());
      }
      sources.add(source);
    }

    /** Returns the content sources the provider declared in this run, in order. */
    public List<ContentSource> sources() {
      return List.copyOf(sources);
    }

    @Override
    public BackupId backupId() {
      return id;
    }

    @Override
    public Phase phase() {
      return phase;
    }

    @Override
    public Path workDir() {
      return workDir;
    }

    @Override
    public RecordingProgress progress() {
      return progress;
    }

    @Override
    public TestCancellation cancellation() {
      return cancellation;
    }

    @Override
    public boolean archiveCompresses() {
      return archiveCompresses;
    }
  }

  /** Returns the summary of a backup {@code id} with a home, a data store and a PostgreSQL dump. */
  public static BackupSummary summary(BackupId id) {
    return new BackupSummary(BackupSummary.FORMAT_VERSION, id, "test", "bitbucket", InstanceType.BITBUCKET,
        "http://bitbucket.example.com", "8.19.1", Instant.parse("2026-01-02T03:04:05Z"),
        Instant.parse("2026-01-02T03:04:06Z"), false,
        List.of(new Artifact("copy", Artifact.Kind.HOME,
                List.of(BackupLayout.HOME, BackupLayout.dataStore(Path.of("/mnt/store one"))), Map.of()),
            new Artifact("postgresql", Artifact.Kind.DATABASE, List.of(BackupLayout.DATABASE),
                Map.of("rows.public.repository", "2"))),
        Map.of("tar.compression", "zstd"), Map.of(Phase.CAPTURE, Duration.ofMillis(1200)), Duration.ofSeconds(3),
        Duration.ofSeconds(2), 0, 0);
  }

  /**
   * Returns a run context for a new backup of instance {@code bitbucket} in {@code workDir}. Each call names a
   * backup of its own, as the engine does: ids have a resolution of a second, so two runs started within the same
   * second get consecutive seconds (otherwise a provider that finds its snapshots by the backup id would take an
   * earlier run's for its own).
   */
  public static TestRunContext run(Path workDir, Phase phase) {
    long now = Instant.now().getEpochSecond();
    long second = LAST_ID_SECOND.updateAndGet(last -> Math.max(last + 1, now));
    return new TestRunContext(BackupId.of("bitbucket", Instant.ofEpochSecond(second)), phase, workDir,
        new RecordingProgress(), new TestCancellation(), true);
  }

  private static final java.util.concurrent.atomic.AtomicLong LAST_ID_SECOND =
      new java.util.concurrent.atomic.AtomicLong();

  /** Returns a restore context. */
  public static RestoreContext restore(
      BackupId id, Artifact artifact, @Nullable Path source, @Nullable Path targetHome,
      Map<Path, Path> dataStores, @Nullable String targetDatabase) {
    RecordingProgress progress = new RecordingProgress();
    TestCancellation cancellation = new TestCancellation();
    return new RestoreContext() {
      @Override
      public BackupId backupId() {
        return id;
      }

      @Override
      public Artifact artifact() {
        return artifact;
      }

      @Override
      public @Nullable Path source() {
        return source;
      }

      @Override
      public @Nullable Path targetHome() {
        return targetHome;
      }

      @Override
      public Map<Path, Path> targetDataStores() {
        return dataStores;
      }

      @Override
      public @Nullable String targetDatabase() {
        return targetDatabase;
      }

      @Override
      public ProgressReporter progress() {
        return progress;
      }

      @Override
      public CancellationSignal cancellation() {
        return cancellation;
      }
    };
  }
}
