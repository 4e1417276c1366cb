package dev.bbdiy.testkit;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.CancellationSignal;
import dev.bbdiy.api.spi.Capability;
import dev.bbdiy.api.spi.CaptureHandle;
import dev.bbdiy.api.spi.DatabaseDumper;
import dev.bbdiy.api.spi.DatabaseDumperProvider;
import dev.bbdiy.api.spi.HomeSnapshotter;
import dev.bbdiy.api.spi.HomeSnapshotterProvider;
import dev.bbdiy.api.spi.ProviderContext;
import dev.bbdiy.api.spi.RestoreContext;
import dev.bbdiy.api.spi.RestoreOutcome;
import dev.bbdiy.api.spi.RunContext;
import dev.bbdiy.api.spi.Setting;
import dev.bbdiy.api.spi.SettingType;
import dev.bbdiy.api.spi.Settings;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jspecify.annotations.Nullable;

/**
 * In-memory providers whose behaviour a test scripts: fail in a phase, take time in a phase, or hang in a phase
 * until cancelled. They write small real files, so a backup with them runs through archiving and restore, and
 * they record every call, for tests of the engine's ordering and cleanup.
 *
 * <p>Configure them in code ({@code ScriptedProvider.home().failIn("capture")}) or, when loaded by name, with
 * the settings {@code fail-in}, {@code delay-in} ({@code capture:2s,prepare:100ms}) and {@code hang-in}. Every
 * call is also appended to {@code <workDir>/scripted-calls.log}.
 */
public abstract class ScriptedProvider {
  public static final Setting FAIL_IN = Setting.of("fail-in", SettingType.STRING,
      "Phase to fail in: preflight, prepare, capture, complete, abort, restore.");
  public static final Setting DELAY_IN = Setting.of("delay-in", SettingType.STRING,
      "Delays per phase, e.g. capture:2s,prepare:100ms.");
  public static final Setting HANG_IN = Setting.of("hang-in", SettingType.STRING,
      "Phase to wait in until the run is cancelled.");

  private final List<String> calls = new CopyOnWriteArrayList<>();
  private @Nullable String failIn;
  private @Nullable String hangIn;
  private final Map<String, Duration> delays = new java.util.concurrent.ConcurrentHashMap<>();

  ScriptedProvider() {}

  /** Returns a scripted home provider, {@code scripted-home}. */
  public static Home home() {
    return new Home();
  }

  /** Returns a scripted database provider, {@code scripted-database}. */
  public static Database database() {
    return new Database();
  }

  /** Returns a scripted snapshot provider, {@code scripted-snapshot}: atomic, artifacts outside the archive. */
  public static Snapshot snapshot() {
    return new Snapshot();
  }

  /** Fails in {@code phase}. */
  @SuppressWarnings("unchecked")
  public <T extends ScriptedProvider> T failIn(String phase) {
    this.failIn = phase;
    return (T) this;
  }

  /** Waits in {@code phase} until cancelled. */
  @SuppressWarnings("unchecked")
  public <T extends ScriptedProvider> T hangIn(String phase) {
    this.hangIn = phase;
    return (T) this;
  }

  /** Takes {@code delay} in {@code phase}. */
  @SuppressWarnings("unchecked")
  public <T extends ScriptedProvider> T delayIn(String phase, Duration delay) {
    delays.put(phase, delay);
    return (T) this;
  }

  /** Returns the calls made to instances of this provider, in order ({@code prepare}, {@code capture}...). */
  public List<String> calls() {
    return Collections.unmodifiableList(calls);
  }

  public abstract String name();

  public String description() {
    return "Scripted provider for tests";
  }

  public List<Setting> settings() {
    return List.of(FAIL_IN, DELAY_IN, HANG_IN);
  }

  Source newSource(ProviderContext context, Artifact.Kind kind) {
    Settings s = context.settings();
    String fail = s.optional(FAIL_IN).orElse(failIn);
    String hang = s.optional(HANG_IN).orElse(hangIn);
    Map<String, Duration> d = new java.util.HashMap<>(delays);
    for (String part : s.list(DELAY_IN)) {
      String[] kv = part.split(":", 2);
      d.put(kv[0], Settings.parseDuration(kv[1]));
    }
    return new Source(this, context, kind, fail, hang, d);
  }

  boolean atomic() {
    return false;
  }

  /** The scripted {@code scripted-home} provider: writes {@code bitbucket-home/scripted.txt}. */
  public static final class Home extends ScriptedProvider implements HomeSnapshotterProvider {
    @Override
    public String name() {
      return "scripted-home";
    }

    @Override
    public Set<Capability> capabilities() {
      return Set.of(Capability.FILE_OUTPUT);
    }

    @Override
    public HomeSnapshotter create(ProviderContext context) {
      return newSource(context, Artifact.Kind.HOME);
    }
  }

  /** The scripted {@code scripted-database} provider: writes {@code bitbucket-db/dump.sql}. */
  public static final class Database extends ScriptedProvider implements DatabaseDumperProvider {
    @Override
    public String name() {
      return "scripted-database";
    }

    @Override
    public Set<Capability> capabilities() {
      return Set.of(Capability.FILE_OUTPUT);
    }

    @Override
    public DatabaseDumper create(ProviderContext context) {
      return newSource(context, Artifact.Kind.DATABASE);
    }
  }

  /** The scripted {@code scripted-snapshot} home provider: snapshots outside the archive. */
  public static final class Snapshot extends ScriptedProvider implements HomeSnapshotterProvider {
    @Override
    public String name() {
      return "scripted-snapshot";
    }

    @Override
    public Set<Capability> capabilities() {
      return Set.of(Capability.ATOMIC_CAPTURE, Capability.EXTERNAL_ARTIFACTS);
    }

    @Override
    boolean atomic() {
      return true;
    }

    @Override
    public HomeSnapshotter create(ProviderContext context) {
      return newSource(context, Artifact.Kind.HOME);
    }
  }

  /** One run's instance. */
  static final class Source implements HomeSnapshotter, DatabaseDumper {
    private final ScriptedProvider provider;
    private final ProviderContext context;
    private final Artifact.Kind kind;
    private final @Nullable String failIn;
    private final @Nullable String hangIn;
    private final Map<String, Duration> delays;
    private @Nullable String snapshotId;

    Source(ScriptedProvider provider, ProviderContext context, Artifact.Kind kind, @Nullable String failIn,
        @Nullable String hangIn, Map<String, Duration> delays) {
      this.provider = provider;
      this.context = context;
      this.kind = kind;
      this.failIn = failIn;
      this.hangIn = hangIn;
      this.delays = delays;
    }

    private void step(String phase, CancellationSignal cancellation) {
      provider.calls.add(phase);
      log(phase);
      Duration delay = delays.get(phase);
      if (delay != null) {
        sleep(delay, cancellation);
      }
      if (phase.equals(hangIn)) {
        sleep(Duration.ofHours(1), cancellation);
      }
      if (phase.equals(failIn)) {
        throw new BbdiyException(ErrorCode.PROVIDER_FAILED, provider.name() + ": scripted failure in " + phase);
      }
    }

    private void log(String phase) {
      try {
        Files.createDirectories(context.workDir());
        Files.writeString(context.workDir().resolve("scripted-calls.log"), provider.name() + " " + phase + "\n",
            StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    private static void sleep(Duration d, CancellationSignal cancellation) {
      long end = System.nanoTime() + d.toNanos();
      while (System.nanoTime() < end) {
        cancellation.throwIfCancelled();
        try {
          Thread.sleep(Math.min(20, Math.max(1, (end - System.nanoTime()) / 1_000_000)));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new BbdiyException(ErrorCode.INTERRUPTED, "interrupted");
        }
      }
    }

    private Path output(RunContext ctx) {
      return kind == Artifact.Kind.HOME ? ctx.homeCopy() : ctx.databaseCopy();
    }

    @Override
    public void preflight(RunContext ctx) {
      step("preflight", ctx.cancellation());
    }

    @Override
    public void prepare(RunContext ctx) {
      step("prepare", ctx.cancellation());
      if (!provider.atomic()) {
        write(output(ctx).resolve("prepared.txt"), "prepared " + ctx.backupId());
      }
    }

    @Override
    public CaptureHandle capture(RunContext ctx) {
      step("capture", ctx.cancellation());
      if (provider.atomic()) {
        snapshotId = "snap-" + ctx.backupId();
        write(context.workDir().resolve(".scripted-snapshots").resolve(snapshotId), "snapshot");
      } else {
        write(output(ctx).resolve("captured.txt"), "captured " + ctx.backupId());
      }
      return new CaptureHandle() {
        @Override
        public void close() {
          provider.calls.add("close-handle");
        }
      };
    }

    @Override
    public Artifact complete(RunContext ctx, CaptureHandle capture) {
      step("complete", ctx.cancellation());
      if (provider.atomic()) {
        return new Artifact(provider.name(), kind, List.of(), Map.of("snapshot", String.valueOf(snapshotId)));
      }
      String layout = kind == Artifact.Kind.HOME ? BackupLayout.HOME : BackupLayout.DATABASE;
      return new Artifact(provider.name(), kind, List.of(layout), Map.of("scripted", "true"));
    }

    @Override
    public void abort(RunContext ctx, @Nullable CaptureHandle capture) {
      provider.calls.add("abort");
      log("abort");
      if (snapshotId != null) {
        try {
          Files.deleteIfExists(context.workDir().resolve(".scripted-snapshots").resolve(snapshotId));
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
      if ("abort".equals(failIn)) {
        throw new BbdiyException(ErrorCode.PROVIDER_FAILED, provider.name() + ": scripted failure in abort");
      }
    }

    @Override
    public void preflightRestore(RestoreContext ctx) {
      provider.calls.add("preflight-restore");
      if (kind == Artifact.Kind.DATABASE && ctx.targetDatabase() != null
          && Files.exists(databaseFile(ctx.targetDatabase()))) {
        throw BbdiyException.refused("Database " + ctx.targetDatabase() + " exists");
      }
    }

    @Override
    public RestoreOutcome restore(RestoreContext ctx) {
      provider.calls.add("restore");
      if ("restore".equals(failIn)) {
        throw new BbdiyException(ErrorCode.PROVIDER_FAILED, provider.name() + ": scripted failure in restore");
      }
      if (kind == Artifact.Kind.DATABASE) {
        String name = ctx.targetDatabase() == null ? "bitbucket" : ctx.targetDatabase();
        if (ctx.source() != null) {
          try {
            Path target = databaseFile(name);
            Files.createDirectories(target.getParent());
            Files.copy(ctx.source().resolve("captured.txt"), target);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }
        return RestoreOutcome.database(name, "scripted database " + name, List.of());
      }
      return RestoreOutcome.home(provider.atomic() ? "scripted snapshot " + ctx.artifact().property("snapshot")
          : String.valueOf(ctx.targetHome()));
    }

    @Override
    public void close() {
      provider.calls.add("close");
    }

    @Override
    public void deleteArtifact(Artifact artifact, RunContext ctx) {
      provider.calls.add("delete " + artifact.property("snapshot"));
      try {
        Files.deleteIfExists(context.workDir().resolve(".scripted-snapshots")
            .resolve(String.valueOf(artifact.property("snapshot"))));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    private Path databaseFile(String name) {
      return context.workDir().resolve(".scripted-databases").resolve(name.toLowerCase(Locale.ROOT) + ".sql");
    }

    private static void write(Path file, String content) {
      try {
        Files.createDirectories(file.getParent());
        Files.writeString(file, content + "\n");
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }
}
