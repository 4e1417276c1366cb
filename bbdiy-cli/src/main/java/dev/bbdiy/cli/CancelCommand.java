package dev.bbdiy.cli;

import com.squareup.moshi.JsonAdapter;
import com.squareup.moshi.Moshi;
import com.squareup.moshi.Types;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.core.ExternalBackup;
import dev.bbdiy.core.MaintenanceClient;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "cancel", description = {"Cancels a backup.",
    "--running stops the bbdiy run in progress in the working directory: it sends that process SIGTERM, which"
        + " cancels Bitbucket's task and unlocks, and waits until it has ended. If the run's process is gone or"
        + " on another host, it cancels Bitbucket's task with the cancel token from the run's 0600 state file.",
    "--token cancels Bitbucket's task with a token you give; Bitbucket stays locked: unlock it afterwards."})
final class CancelCommand extends BaseCommand {
  /** How long the run may take to clean up after SIGTERM: its own grace, and a little more to exit. */
  static final Duration WAIT = BaseCommand.SHUTDOWN_GRACE.plusSeconds(15);

  static final class Which {
    @Option(names = "--running", required = true, description = "The run in progress in the working directory.")
    boolean running;

    @Option(names = "--token", paramLabel = "TOKEN", required = true, description = "A cancel token of Bitbucket's"
        + " backup task (it is a secret: prefer --running, which reads it from the state file).")
    @Nullable String token;
  }

  @ArgGroup(exclusive = true, multiplicity = "1")
  Which which = new Which();

  @Override
  int execute() {
    if (which.token != null) {
      MaintenanceClient client = factory().requireClient();
      client.cancel(ExternalBackup.ofCancelToken(which.token));
      output.result("Cancelled the backup task; Bitbucket stays locked until 'bbdiy unlock'");
      if (json) {
        output.json(Map.of("cancelled", true));
      }
      return 0;
    }
    return cancelRunning();
  }

  private int cancelRunning() {
    EngineFactory f = factory();
    Path workDir = f.workDir();
    Path stateDir = workDir.resolve(".bbdiy");
    Optional<RunState.Run> found = RunState.read(stateDir);
    Map<String, Object> result = new LinkedHashMap<>();
    if (found.isPresent()) {
      RunState.Run run = found.get();
      result.put("backupId", run.backupId());
      result.put("pid", run.pid());
      Optional<ProcessHandle> process = run.process();
      if (process.isPresent()) {
        return stop(run, process.get(), stateDir, result);
      }
      if (run.onThisHost()) {
        output.info("The " + run.operation() + " " + run.backupId() + " (pid " + run.pid() + ") is no longer"
            + " running");
      } else {
        output.warn("the " + run.operation() + " " + run.backupId() + " runs on " + run.host() + ", not here:"
            + " cancelling Bitbucket's task only; to stop the run itself, run 'bbdiy cancel --running' on "
            + run.host());
      }
    }
    Optional<String> token = cancelToken(stateDir);
    if (token.isEmpty()) {
      if (found.isPresent() && found.get().onThisHost()) {
        throw new BbdiyException(ErrorCode.NOT_FOUND, "Nothing to cancel: the run is over and left no Bitbucket"
            + " task behind. If Bitbucket is still locked, run 'bbdiy unlock --recover'");
      }
      throw new BbdiyException(ErrorCode.NOT_FOUND, "No bbdiy run is in progress in " + workDir + " (no "
          + stateDir.resolve(RunState.FILE) + ", and no Bitbucket task in " + stateDir.resolve(LOCK_STATE)
          + "). 'bbdiy status' shows Bitbucket's state; a run with another work.dir is cancelled with that"
          + " configuration.");
    }
    MaintenanceClient client = f.requireClient();
    client.cancel(ExternalBackup.ofCancelToken(token.get()));
    result.put("cancelled", "bitbucket-task");
    output.result("Cancelled Bitbucket's backup task (cancel token read from " + stateDir.resolve(LOCK_STATE)
        + "). Bitbucket stays locked: " + (found.isPresent() && !found.get().onThisHost()
            ? "the run on " + found.get().host() + " unlocks it when it stops"
            : "run 'bbdiy unlock --recover' to release the lock the run left"));
    if (json) {
      output.json(result);
    }
    return 0;
  }

  /** Stops the run's process with SIGTERM and waits until it ended and released its lock. */
  private int stop(RunState.Run run, ProcessHandle process, Path stateDir, Map<String, Object> result) {
    Optional<String> user = process.info().user();
    Optional<String> owner = RunState.owner(stateDir);
    if (user.isEmpty() || owner.isEmpty() || !user.get().equals(owner.get())) {
      throw BbdiyException.refused("Not signalling pid " + run.pid() + ": it runs as " + user.orElse("an unknown"
          + " user") + ", but " + stateDir.resolve(RunState.FILE) + " belongs to " + owner.orElse("an unknown user")
          + ". Stop the run as its own user, or with 'kill -TERM " + run.pid() + "' if you are sure it is bbdiy.");
    }
    output.info("Stopping the " + run.operation() + " " + run.backupId() + " (pid " + run.pid() + ", phase "
        + run.phase() + "): it cancels Bitbucket's task and unlocks; waiting up to " + WAIT.toMinutes()
        + " minutes for it to end");
    if (!process.destroy()) {
      throw BbdiyException.refused("Could not send SIGTERM to pid " + run.pid() + " (not allowed for this user?):"
          + " run 'bbdiy cancel --running' as " + owner.get());
    }
    try {
      process.onExit().get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw new BbdiyException(ErrorCode.LEFT_LOCKED, "pid " + run.pid() + " got SIGTERM but has not ended within "
          + WAIT.toMinutes() + " minutes; Bitbucket may still be locked. See its log; if it hangs, kill it"
          + " (kill -KILL " + run.pid() + ") and run 'bbdiy unlock --recover'", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BbdiyException(ErrorCode.INTERRUPTED, "Stopped waiting for pid " + run.pid() + " to end; it got"
          + " SIGTERM and is cleaning up: 'bbdiy status' shows when it is done", e);
    } catch (ExecutionException e) {
      throw new BbdiyException(ErrorCode.INTERNAL, "Cannot wait for pid " + run.pid() + ": " + e.getCause(), e);
    }
    result.put("stopped", true);
    // Verified, not assumed: the run deletes its lock state only once Bitbucket confirmed the unlock.
    if (Files.exists(stateDir.resolve(LOCK_STATE), LinkOption.NOFOLLOW_LINKS)) {
      // With --json the error document says it: one document on standard output.
      throw new BbdiyException(ErrorCode.LEFT_LOCKED, "The " + run.operation() + " " + run.backupId() + " ended,"
          + " but its lock state is still in " + stateDir.resolve(LOCK_STATE) + ": Bitbucket may still be locked."
          + " Run 'bbdiy unlock --recover'.");
    }
    result.put("unlocked", true);
    output.result("Cancelled the " + run.operation() + " " + run.backupId() + ": its process ended and"
        + " holds no lock on Bitbucket");
    if (json) {
      output.json(result);
    }
    return 0;
  }

  static final String LOCK_STATE = "maintenance-lock.json";
  private static final JsonAdapter<Map<String, Object>> ADAPTER = new Moshi.Builder().build()
      .adapter(Types.newParameterizedType(Map.class, String.class, Object.class));

  /** Reads the cancel token of Bitbucket's task from the engine's lock state file (0600), never printing it. */
  static Optional<String> cancelToken(Path stateDir) {
    Path file = stateDir.resolve(LOCK_STATE);
    if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
      return Optional.empty();
    }
    try {
      Map<String, Object> m = ADAPTER.fromJson(Files.readString(file, StandardCharsets.UTF_8));
      Object token = m == null ? null : m.get("cancelToken");
      return token instanceof String && !((String) token).isBlank() ? Optional.of((String) token) : Optional.empty();
    } catch (IOException | RuntimeException e) {
      throw BbdiyException.configuration("The lock state file " + file + " is unreadable (" + e.getMessage()
          + "); 'bbdiy unlock --recover' says what to do");
    }
  }
}
