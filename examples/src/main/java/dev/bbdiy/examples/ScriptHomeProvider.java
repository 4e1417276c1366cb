package dev.bbdiy.examples;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.spi.Capability;
import dev.bbdiy.api.spi.CaptureHandle;
import dev.bbdiy.api.spi.HomeSnapshotter;
import dev.bbdiy.api.spi.HomeSnapshotterProvider;
import dev.bbdiy.api.spi.ProviderContext;
import dev.bbdiy.api.spi.RestoreContext;
import dev.bbdiy.api.spi.RestoreOutcome;
import dev.bbdiy.api.spi.RunContext;
import dev.bbdiy.api.spi.Setting;
import dev.bbdiy.api.spi.SettingType;
import dev.bbdiy.api.spi.Settings;
import dev.bbdiy.kit.ChildProcess;
import dev.bbdiy.kit.HomeTree;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * A custom home provider, {@code script}: runs your own shell commands in each phase, for storage bbdiy has no
 * provider for (LVM, a filer's snapshots, a tuned rsync). Each command runs once for the home and once per data
 * store, with {@code BBDIY_SOURCE}, {@code BBDIY_TARGET} (where the copy goes), {@code BBDIY_EXCLUDE_FILE} (the
 * right rsync exclude list), {@code BBDIY_BACKUP_ID} and {@code BBDIY_PHASE} in its environment.
 *
 * <pre>
 * home.type=script
 * script.prepare=rsync -a --delete --delete-excluded --exclude-from="$BBDIY_EXCLUDE_FILE" "$BBDIY_SOURCE/" "$BBDIY_TARGET/"; rc=$?; [ $rc -eq 0 ] || [ $rc -eq 24 ]
 * script.capture=rsync -a --checksum --delete --delete-excluded --exclude-from="$BBDIY_EXCLUDE_FILE" "$BBDIY_SOURCE/" "$BBDIY_TARGET/"
 * </pre>
 *
 * <p>Registered in {@code META-INF/services/dev.bbdiy.api.spi.HomeSnapshotterProvider}; its tests extend the
 * testkit's {@code HomeSnapshotterContract}.
 */
public final class ScriptHomeProvider implements HomeSnapshotterProvider {
  public static final Setting PREPARE = Setting.of("prepare", SettingType.STRING,
      "Command run before the lock (bash -c).");
  public static final Setting CAPTURE = Setting.of("capture", SettingType.STRING,
      "Command run while Bitbucket is locked and drained (bash -c).").asRequired();
  public static final Setting ABORT = Setting.of("abort", SettingType.STRING,
      "Command run when a later phase fails, to undo what this run created (bash -c).");

  @Override
  public String name() {
    return "script";
  }

  @Override
  public String description() {
    return "Your own commands in each phase (example provider from bbdiy-examples)";
  }

  @Override
  public List<Setting> settings() {
    return List.of(PREPARE, CAPTURE, ABORT);
  }

  @Override
  public Set<Capability> capabilities() {
    return Set.of(Capability.FILE_OUTPUT);
  }

  @Override
  public HomeSnapshotter create(ProviderContext context) {
    Settings s = context.settings();
    return new Script(context.instance(), context.workDir(), s.optional(PREPARE), s.string(CAPTURE),
        s.optional(ABORT));
  }

  private static final class Script implements HomeSnapshotter {
    private final BitbucketInstance instance;
    private final Path workDir;
    private final Optional<String> prepare;
    private final String capture;
    private final Optional<String> abort;

    Script(BitbucketInstance instance, Path workDir, Optional<String> prepare, String capture,
        Optional<String> abort) {
      this.instance = instance;
      this.workDir = workDir;
      this.prepare = prepare;
      this.capture = capture;
      this.abort = abort;
    }

    @Override
    public void preflight(RunContext ctx) {
      for (HomeTree job : HomeTree.of(instance)) {
        if (!Files.isDirectory(job.source())) {
          throw BbdiyException.configuration(job.source() + " does not exist or is not a directory");
        }
      }
    }

    @Override
    public void prepare(RunContext ctx) {
      prepare.ifPresent(command -> runAll(command, ctx, "prepare"));
    }

    @Override
    public CaptureHandle capture(RunContext ctx) {
      runAll(capture, ctx, "capture");
      return CaptureHandle.NONE;
    }

    @Override
    public Artifact complete(RunContext ctx, CaptureHandle handle) {
      return new Artifact("script", Artifact.Kind.HOME, HomeTree.of(instance).stream().map(HomeTree::layoutPath).toList(),
          java.util.Map.of());
    }

    @Override
    public void abort(RunContext ctx, @Nullable CaptureHandle handle) {
      abort.ifPresent(command -> runAll(command, ctx, "abort"));
    }

    @Override
    public RestoreOutcome restore(RestoreContext ctx) {
      // The engine extracts the files.
      return RestoreOutcome.home(String.valueOf(ctx.targetHome()));
    }

    private void runAll(String command, RunContext ctx, String phase) {
      for (HomeTree job : HomeTree.of(instance)) {
        Path target = workDir.resolve(job.layoutPath());
        Path excludes = null;
        try {
          Files.createDirectories(target);
          excludes = Files.createTempFile("bbdiy-script-excludes-", ".txt");
          Files.write(excludes, job.excludes());
          ChildProcess.builder("bash", "-c", command).name("script " + phase).cancellation(ctx.cancellation())
              .environment("BBDIY_SOURCE", job.source().toAbsolutePath().normalize().toString())
              .environment("BBDIY_TARGET", target.toAbsolutePath().normalize().toString())
              .environment("BBDIY_EXCLUDE_FILE", excludes.toString())
              .environment("BBDIY_BACKUP_ID", ctx.backupId().value())
              .environment("BBDIY_PHASE", phase)
              .stdout(line -> ctx.progress().message(line))
              .build().run().orThrow("script", phase + " of " + job.source());
        } catch (IOException e) {
          throw BbdiyException.provider("script", String.valueOf(e.getMessage()), e);
        } finally {
          if (excludes != null) {
            try {
              Files.deleteIfExists(excludes);
            } catch (IOException ignored) {
              // a temporary exclude list
            }
          }
        }
      }
    }
  }
}
