package dev.bbdiy.snapshot;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.BackupSource;
import dev.bbdiy.api.spi.CancellationSignal;
import dev.bbdiy.api.spi.CaptureHandle;
import dev.bbdiy.api.spi.ContentSource;
import dev.bbdiy.api.spi.ProgressReporter;
import dev.bbdiy.api.spi.ProviderContext;
import dev.bbdiy.api.spi.RestoreContext;
import dev.bbdiy.api.spi.RestoreOutcome;
import dev.bbdiy.api.spi.RunContext;
import dev.bbdiy.api.spi.Secret;
import dev.bbdiy.api.spi.Setting;
import dev.bbdiy.api.spi.Settings;
import dev.bbdiy.kit.ChildProcess;
import dev.bbdiy.kit.Cancellations;
import dev.bbdiy.kit.HomeExcludes;
import dev.bbdiy.kit.PrivateFiles;
import dev.bbdiy.kit.Reasons;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Runs the administrator's command for each phase ({@code sh -c}, no standard input), with the documented
 * environment, a timeout per phase, output streamed to the progress listener, secrets in the environment only.
 * What the commands want remembered goes into {@code BBDIY_ARTIFACT_FILE}, one line each:
 *
 * <ul>
 *   <li>{@code id <key>=<value>}: recorded in the backup's artifact (a snapshot id, a LUN name), handed back to the
 *       restore, release and delete commands in the same file;
 *   <li>{@code expose <layout path> <directory>}: the archiver reads that part ({@code bitbucket-home}, {@code
 *       bitbucket-data-stores/...}) from the directory, read-only, instead of from the working directory (a mounted
 *       snapshot: no staging copy). A database dump is always written to {@code $BBDIY_WORK_DIR/bitbucket-db}.
 * </ul>
 *
 * Exit codes: 0 success; 2 a configuration problem (preflight fails as a configuration error, nothing done); 75
 * a temporary failure (retrying may help); anything else a failure.
 */
abstract class CommandSource implements BackupSource {
  /** The phases a command can be configured for, as {@code <provider>.<phase>}. */
  enum Step {
    PREFLIGHT,
    PREPARE,
    CAPTURE,
    COMPLETE,
    RELEASE,
    ABORT,
    RESTORE,
    DELETE;

    String key() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** Exit code of a command that reports a configuration problem. */
  static final int EXIT_CONFIGURATION = 2;
  /** Exit code of a command that reports a temporary failure (EX_TEMPFAIL). */
  static final int EXIT_TEMPORARY = 75;

  private static final Pattern KEY = Pattern.compile("[a-z0-9][a-z0-9._-]{0,99}");
  private static final int MAX_ARTIFACT_FILE = 64 * 1024;

  protected final String provider;
  protected final BitbucketInstance instance;
  private final ProviderContext context;
  private final Map<Step, String> commands;
  private final Duration timeout;
  private final Duration captureTimeout;
  private final @Nullable Secret secret;
  private @Nullable BackupId running;
  private @Nullable Path artifactFile;
  private boolean completed;
  private boolean finished;

  CommandSource(String provider, ProviderContext context, Map<Step, String> commands, Duration timeout,
      Duration captureTimeout, @Nullable Secret secret) {
    this.provider = provider;
    this.context = context;
    this.instance = context.instance();
    this.commands = Map.copyOf(commands);
    this.timeout = timeout;
    this.captureTimeout = captureTimeout;
    this.secret = secret;
  }

  /** Reads the command settings of a provider. */
  static Map<Step, String> commands(Settings settings, Map<Step, Setting> declared) {
    Map<Step, String> out = new LinkedHashMap<>();
    declared.forEach((step, setting) -> settings.optional(setting).ifPresent(c -> out.put(step, c)));
    return out;
  }

  /** Returns {@code home} or {@code database}, for {@code BBDIY_KIND}. */
  protected abstract String kind();

  /** Returns the layout paths the artifact holds. */
  protected abstract List<String> layoutPaths();

  /** Returns the exclude patterns of an exposed part. */
  protected List<String> excludes(String layoutPath) {
    if (layoutPath.equals(BackupLayout.HOME)) {
      return HomeExcludes.home(instance.type(), instance.excludedRepositories());
    }
    if (layoutPath.startsWith(BackupLayout.DATA_STORES + "/")) {
      return HomeExcludes.dataStore(instance.excludedRepositories());
    }
    return List.of();
  }

  protected abstract Artifact.Kind artifactKind();

  @Override
  public void preflight(RunContext ctx) {
    if (!commands.containsKey(Step.CAPTURE)) {
      throw BbdiyException.configuration("Missing setting " + provider + ".capture: the command that takes the"
          + " consistent point while Bitbucket is locked");
    }
    if (!Tool.installed("sh")) {
      throw BbdiyException.configuration(provider + " runs its commands with sh, which is not on the PATH");
    }
    run(Step.PREFLIGHT, ctx.backupId(), ctx.cancellation(), ctx.progress(), Map.of());
  }

  @Override
  public void prepare(RunContext ctx) {
    abortLeftovers(ctx.progress());
    run(Step.PREPARE, ctx.backupId(), ctx.cancellation(), ctx.progress(), Map.of());
  }

  @Override
  public CaptureHandle capture(RunContext ctx) {
    running = ctx.backupId();
    run(Step.CAPTURE, ctx.backupId(), ctx.cancellation(), ctx.progress(), Map.of());
    return CaptureHandle.NONE;
  }

  @Override
  public Artifact complete(RunContext ctx, CaptureHandle capture) {
    run(Step.COMPLETE, ctx.backupId(), ctx.cancellation(), ctx.progress(), Map.of());
    Recorded r = read(artifactFile(ctx.backupId()));
    for (String p : r.exposed().keySet()) {
      if (!layoutPaths().contains(p)) {
        throw failed("the commands exposed " + p + ", which is not part of a " + kind() + " backup (expected one of "
            + layoutPaths() + ")", null);
      }
    }
    for (String p : layoutPaths()) {
      Path inWork = ctx.workDir().resolve(p);
      Path exposed = r.exposed().get(p);
      if (exposed != null) {
        if (!exposed.isAbsolute() || !Files.isDirectory(exposed, LinkOption.NOFOLLOW_LINKS)) {
          throw failed("the commands exposed " + p + " at " + exposed + ", which is not an absolute path to a"
              + " directory (symbolic links are not followed)", null);
        }
        try {
          if (Files.isDirectory(inWork, LinkOption.NOFOLLOW_LINKS)) {
            PrivateFiles.emptyDirectory(inWork);
          } else {
            PrivateFiles.deleteTree(inWork);
            Files.createDirectories(inWork);
          }
        } catch (IOException e) {
          throw failed("cannot prepare the placeholder " + inWork + ": " + Reasons.of(e), e);
        }
        ContentSource source;
        try {
          source = new ContentSource(p, exposed, excludes(p));
        } catch (IllegalArgumentException e) {
          throw failed("the commands exposed " + p + ", but only the home and data stores can be read from elsewhere;"
              + " write the dump into " + inWork, e);
        }
        ctx.readFrom(source);
      } else if (!Files.isDirectory(inWork, LinkOption.NOFOLLOW_LINKS)) {
        throw failed("after the capture and complete commands, " + p + " is neither exposed (an 'expose " + p
            + " <directory>' line in BBDIY_ARTIFACT_FILE) nor a directory in the working directory " + inWork, null);
      }
    }
    completed = true;
    Map<String, String> props = new TreeMap<>();
    r.ids().forEach((k, v) -> props.put("id." + k, v));
    return new Artifact(provider, artifactKind(), layoutPaths(), props);
  }

  /** Runs the release command once the backup is verified (the engine closes without aborting). */
  @Override
  public void close() {
    BackupId id = running;
    if (id == null || !completed || finished) {
      return;
    }
    finished = true;
    try {
      run(Step.RELEASE, id, Cancellations.none(), silent(), Map.of());
      Files.deleteIfExists(artifactFile(id));
    } catch (IOException | RuntimeException e) {
      // close must not throw: the artifact file stays, and the next backup runs the abort command for it
    }
  }

  @Override
  public void abort(RunContext ctx, @Nullable CaptureHandle capture) {
    finished = true;
    BackupId id = running;
    if (id == null) {
      return;
    }
    run(Step.ABORT, id, Cancellations.none(), ctx.progress(), Map.of());
    try {
      Files.deleteIfExists(artifactFile(id));
    } catch (IOException e) {
      ctx.progress().warning("could not remove " + artifactFile(id) + ": " + Reasons.of(e));
    }
  }

  /** Runs the abort command for what killed runs left: artifact files of a dead process. */
  private void abortLeftovers(ProgressReporter progress) {
    Path dir = context.stateDirectory();
    List<Path> stale = new ArrayList<>();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.artifact")) {
      for (Path f : files) {
        stale.add(f);
      }
    } catch (IOException e) {
      throw failed("cannot read " + dir + ": " + Reasons.of(e), e);
    }
    for (Path f : stale) {
      String name = f.getFileName().toString();
      String[] parts = name.substring(0, name.length() - ".artifact".length()).split("\\.pid-", 2);
      if (parts.length != 2 || BackupId.parse(parts[0]).isEmpty()) {
        continue;
      }
      long pid;
      try {
        pid = Long.parseLong(parts[1]);
      } catch (NumberFormatException e) {
        continue;
      }
      if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
        continue;
      }
      progress.warning("the interrupted backup " + parts[0] + " left " + f + "; running the abort command for it");
      runIn(Step.ABORT, new BackupId(parts[0]), f, Cancellations.none(), progress, Map.of());
      try {
        Files.deleteIfExists(f);
      } catch (IOException e) {
        progress.warning("could not remove " + f + ": " + Reasons.of(e));
      }
    }
  }

  @Override
  public void deleteArtifact(Artifact artifact, RunContext ctx) {
    runWithRecorded(Step.DELETE, ctx.backupId(), artifact, ctx.cancellation(), ctx.progress(), Map.of());
  }

  /** Runs the restore command, if any, with the recorded ids and the restore's targets. */
  protected void runRestore(RestoreContext ctx, Map<String, String> env) {
    Map<String, String> e = new LinkedHashMap<>();
    e.put("BBDIY_TARGET_HOME", ctx.targetHome() == null ? "" : ctx.targetHome().toString());
    StringBuilder stores = new StringBuilder();
    ctx.targetDataStores().forEach((from, to) -> stores.append(from).append('\t').append(to).append('\n'));
    e.put("BBDIY_TARGET_DATA_STORES", stores.toString());
    e.put("BBDIY_RESTORE_SOURCE", ctx.source() == null ? "" : ctx.source().toString());
    e.put("BBDIY_TARGET_DATABASE", ctx.targetDatabase() == null ? "" : ctx.targetDatabase());
    e.putAll(env);
    runWithRecorded(Step.RESTORE, ctx.backupId(), ctx.artifact(), ctx.cancellation(), ctx.progress(), e);
  }

  protected boolean has(Step step) {
    return commands.containsKey(step);
  }

  @Override
  public abstract RestoreOutcome restore(RestoreContext ctx);

  private void runWithRecorded(Step step, BackupId id, Artifact artifact, CancellationSignal cancellation,
      ProgressReporter progress, Map<String, String> env) {
    if (!commands.containsKey(step)) {
      return;
    }
    Path file;
    try {
      file = Files.createTempFile(context.stateDirectory(), step.key() + "-", ".artifact-copy");
      StringBuilder sb = new StringBuilder();
      artifact.properties().forEach((k, v) -> {
        if (k.startsWith("id.") && KEY.matcher(k.substring(3)).matches() && v.indexOf('\n') < 0) {
          sb.append("id ").append(k.substring(3)).append('=').append(v).append('\n');
        }
      });
      Files.writeString(file, sb.toString());
    } catch (IOException e) {
      throw failed("cannot write the artifact file for the " + step.key() + " command: " + Reasons.of(e), e);
    }
    try {
      runIn(step, id, file, cancellation, progress, env);
    } finally {
      try {
        Files.deleteIfExists(file);
      } catch (IOException ignored) {
        // in the private state directory; harmless
      }
    }
  }

  private Path artifactFile(BackupId id) {
    if (artifactFile == null) {
      artifactFile = context.stateDirectory().resolve(id.value() + ".pid-" + ProcessHandle.current().pid()
          + ".artifact");
    }
    return artifactFile;
  }

  private void run(Step step, BackupId id, CancellationSignal cancellation, ProgressReporter progress,
      Map<String, String> env) {
    Path file = artifactFile(id);
    if (step == Step.CAPTURE || step == Step.PREPARE) {
      try {
        if (!Files.exists(file)) {
          PrivateFiles.writeAtomically(file, "");
        }
      } catch (IOException e) {
        throw failed("cannot create " + file + ": " + Reasons.of(e), e);
      }
    }
    runIn(step, id, file, cancellation, progress, env);
  }

  private void runIn(Step step, BackupId id, Path file, CancellationSignal cancellation, ProgressReporter progress,
      Map<String, String> extra) {
    String command = commands.get(step);
    if (command == null) {
      return;
    }
    Duration limit = step == Step.CAPTURE ? captureTimeout : timeout;
    Map<String, String> env = new LinkedHashMap<>();
    env.put("BBDIY_BACKUP_ID", id.value());
    env.put("BBDIY_PHASE", step.key());
    env.put("BBDIY_KIND", kind());
    env.put("BBDIY_INSTANCE", instance.name());
    env.put("BBDIY_HOME", instance.home() == null ? "" : instance.home().toString());
    StringBuilder stores = new StringBuilder();
    instance.dataStores().forEach(s -> stores.append(s).append('\n'));
    env.put("BBDIY_DATA_STORES", stores.toString());
    env.put("BBDIY_WORK_DIR", context.workDir().toString());
    env.put("BBDIY_STATE_DIR", context.stateDirectory().toString());
    env.put("BBDIY_ARTIFACT_FILE", file.toString());
    if (secret != null) {
      env.put("BBDIY_SECRET", secret.reveal());
    }
    env.putAll(extra);
    String label = provider + " " + step.key();
    ChildProcess.Builder b = ChildProcess.builder("sh", "-c", command).name(label).directory(context.workDir());
    env.forEach(b::environment);
    ChildProcess.Result r;
    try (PhaseTimeout t = new PhaseTimeout(cancellation, limit, "the " + step.key() + " command")) {
      b.cancellation(t).stdout(line -> progress.message(step.key() + ": " + line))
          .stderr(line -> progress.message(step.key() + ": " + line));
      try {
        r = b.build().run();
      } catch (BbdiyException e) {
        if (t.timedOut()) {
          throw new BbdiyException(ErrorCode.PROVIDER_FAILED, provider + ": the " + step.key() + " command did not"
              + " finish within " + human(limit) + " and was stopped; raise " + provider + "."
              + (step == Step.CAPTURE ? "capture-timeout" : "timeout") + " or fix the command", e);
        }
        throw e;
      }
    }
    if (r.exitCode() == 0) {
      return;
    }
    String tail = r.stderrTail().isEmpty() ? "" : ":\n  " + String.join("\n  ", r.stderrTail());
    if (r.exitCode() == EXIT_CONFIGURATION) {
      String msg = provider + ": the " + step.key() + " command reports a configuration problem (exit 2)" + tail;
      throw step == Step.PREFLIGHT ? BbdiyException.configuration(msg)
          : new BbdiyException(ErrorCode.PROVIDER_FAILED, msg, null, false);
    }
    throw new BbdiyException(ErrorCode.PROVIDER_FAILED, provider + ": the " + step.key() + " command failed with"
        + " exit code " + r.exitCode() + tail, null, r.exitCode() == EXIT_TEMPORARY);
  }

  /** What the commands wrote into the artifact file. */
  record Recorded(Map<String, String> ids, Map<String, Path> exposed) {}

  Recorded read(Path file) {
    Map<String, String> ids = new TreeMap<>();
    Map<String, Path> exposed = new LinkedHashMap<>();
    List<String> lines;
    try {
      if (Files.size(file) > MAX_ARTIFACT_FILE) {
        throw failed(file + " is larger than " + MAX_ARTIFACT_FILE + " bytes: record ids and paths only", null);
      }
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw failed("cannot read " + file + ": " + Reasons.of(e), e);
    }
    int n = 0;
    for (String line : lines) {
      n++;
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      if (line.startsWith("id ")) {
        String kv = line.substring(3);
        int eq = kv.indexOf('=');
        if (eq > 0 && KEY.matcher(kv.substring(0, eq)).matches()) {
          ids.put(kv.substring(0, eq), kv.substring(eq + 1));
          continue;
        }
      } else if (line.startsWith("expose ")) {
        String rest = line.substring("expose ".length());
        int sp = rest.indexOf(' ');
        if (sp > 0) {
          exposed.put(rest.substring(0, sp), Path.of(rest.substring(sp + 1)).normalize());
          continue;
        }
      }
      throw failed(file + " line " + n + " is neither 'id <key>=<value>' (key: lower case, digits, . _ -) nor"
          + " 'expose <layout path> <directory>'", null);
    }
    return new Recorded(ids, exposed);
  }

  protected BbdiyException failed(String what, @Nullable Throwable cause) {
    return new BbdiyException(ErrorCode.PROVIDER_FAILED, provider + ": " + what, cause);
  }

  private static String human(Duration d) {
    return d.toString().substring(2).toLowerCase(Locale.ROOT);
  }

  private static ProgressReporter silent() {
    return new ProgressReporter() {
      @Override
      public void message(String message) {}

      @Override
      public void progress(String message, long done, long total, String unit) {}

      @Override
      public void warning(String message) {}
    };
  }
}
