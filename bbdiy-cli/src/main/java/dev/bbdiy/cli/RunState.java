package dev.bbdiy.cli;

import com.squareup.moshi.JsonAdapter;
import com.squareup.moshi.Moshi;
import com.squareup.moshi.Types;
import dev.bbdiy.api.BackupEvent;
import dev.bbdiy.api.BackupListener;
import dev.bbdiy.api.Phase;
import dev.bbdiy.kit.LockFile;
import dev.bbdiy.kit.PrivateFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * What {@code bbdiy status} and {@code bbdiy cancel --running} know of the operation running in a working directory:
 * a file {@code <work.dir>/.bbdiy/running.json} (0600, replaced atomically) that a command writes while its engine
 * runs an operation, from the operation's first phase (when it holds the working directory's run lock, so a second
 * command that is refused never overwrites it) to its end. It holds no token: the unlock and cancel tokens stay in
 * the engine's own lock state file. Everything read back is checked (a file someone else wrote is not trusted): a
 * process is signalled only if it is alive, on this host, started when the file says, and runs as the file's owner.
 */
final class RunState {
  static final String FILE = "running.json";
  private static final JsonAdapter<Map<String, Object>> ADAPTER = new Moshi.Builder().build()
      .adapter(Types.newParameterizedType(Map.class, String.class, Object.class));

  /**
   * A run as its state file describes it.
   *
   * @param phase the current phase in lower case, or null before the first
   * @param lockRequestedAt when Bitbucket's lock was requested, while the run holds it (or may hold it)
   * @param lockReleased false once the unlock failed: Bitbucket may still be locked
   */
  record Run(
      String operation,
      @Nullable String backupId,
      @Nullable String phase,
      @Nullable Instant phaseStartedAt,
      @Nullable Instant lockRequestedAt,
      boolean lockReleased,
      long pid,
      @Nullable Instant processStartedAt,
      String host,
      Instant startedAt) {

    /** Returns how long Bitbucket has been locked by this run at {@code now}, if it is. */
    Optional<Duration> lockHeld(Instant now) {
      return lockRequestedAt == null ? Optional.empty() : Optional.of(Duration.between(lockRequestedAt, now));
    }

    /** Returns whether this run is on this host (its pid means something here). */
    boolean onThisHost() {
      return host.equals(LockFile.hostName());
    }

    /**
     * Returns the live process of this run: on this host, alive, started when the file says (a pid is reused),
     * or empty.
     */
    Optional<ProcessHandle> process() {
      if (!onThisHost() || pid <= 0 || processStartedAt == null) {
        return Optional.empty();
      }
      return ProcessHandle.of(pid).filter(ProcessHandle::isAlive).filter(p -> p.info().startInstant()
          .map(s -> Math.abs(Duration.between(s, processStartedAt).toMillis()) < 2000).orElse(false));
    }

    Map<String, Object> toJson(Instant now) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("operation", operation);
      m.put("backupId", backupId);
      m.put("phase", phase);
      m.put("phaseStartedAt", phaseStartedAt);
      m.put("startedAt", startedAt);
      m.put("pid", pid);
      m.put("host", host);
      m.put("running", process().isPresent());
      m.put("lockHeldSeconds", lockHeld(now).map(d -> d.toMillis() / 1000.0).orElse(null));
      m.put("lockReleased", lockReleased);
      return m;
    }
  }

  private RunState() {}

  /** Returns the run recorded in {@code stateDir}, if there is one; fails with the fix if the file is unreadable. */
  static Optional<Run> read(Path stateDir) {
    Path file = stateDir.resolve(FILE);
    if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
      return Optional.empty();
    }
    try {
      if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS) || Files.size(file) > 64 * 1024) {
        throw new IOException("not a small regular file");
      }
      Map<String, Object> m = ADAPTER.fromJson(Files.readString(file, StandardCharsets.UTF_8));
      if (m == null) {
        throw new IOException("empty");
      }
      return Optional.of(new Run(
          required(m, "operation"),
          optional(m, "backupId"),
          optional(m, "phase"),
          instant(optional(m, "phaseStartedAt")),
          instant(optional(m, "lockRequestedAt")),
          !"false".equals(optional(m, "lockReleased")),
          Long.parseLong(required(m, "pid")),
          instant(optional(m, "processStartedAt")),
          required(m, "host"),
          java.util.Objects.requireNonNull(instant(required(m, "startedAt")))));
    } catch (IOException | RuntimeException e) {
      throw new dev.bbdiy.api.BbdiyException(dev.bbdiy.api.ErrorCode.CONFIGURATION, "The run state file " + file
          + " is unreadable (" + e.getMessage() + "); if no bbdiy runs in this working directory, delete it", e);
    }
  }

  /** Returns the owner of {@code stateDir}'s run state file, to compare with a process's user. */
  static Optional<String> owner(Path stateDir) {
    try {
      return Optional.of(Files.getOwner(stateDir.resolve(FILE), LinkOption.NOFOLLOW_LINKS).getName());
    } catch (IOException | UnsupportedOperationException e) {
      return Optional.empty();
    }
  }

  private static String required(Map<String, Object> m, String key) throws IOException {
    String v = optional(m, key);
    if (v == null) {
      throw new IOException("no " + key);
    }
    return v;
  }

  private static @Nullable String optional(Map<String, Object> m, String key) {
    Object v = m.get(key);
    return v == null ? null : v.toString();
  }

  private static @Nullable Instant instant(@Nullable String s) {
    if (s == null) {
      return null;
    }
    try {
      return Instant.parse(s);
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException("bad instant " + s, e);
    }
  }

  /**
   * Keeps the run state file of one command up to date from its engine's events. Best effort: a file that
   * cannot be written is one warning, never a failed backup. Not thread-safe; the engine delivers events in order.
   */
  static final class Recorder implements BackupListener {
    private final Path stateDir;
    private final Consumer<String> warn;
    private final long pid = ProcessHandle.current().pid();
    private final @Nullable Instant processStartedAt = ProcessHandle.current().info().startInstant().orElse(null);
    private String operation = "unknown";
    private @Nullable String backupId;
    private @Nullable String phase;
    private @Nullable Instant phaseStartedAt;
    private @Nullable Instant lockRequestedAt;
    private boolean lockReleased = true;
    private Instant startedAt = Instant.now();
    private boolean written;
    private boolean failed;

    Recorder(Path stateDir, Consumer<String> warn) {
      this.stateDir = stateDir;
      this.warn = warn;
    }

    @Override
    public void onEvent(BackupEvent e) {
      if (e instanceof BackupEvent.OperationStarted) {
        BackupEvent.OperationStarted s = (BackupEvent.OperationStarted) e;
        operation = s.operation();
        backupId = s.backupId() == null ? null : s.backupId().toString();
        startedAt = s.at();
        phase = null;
        lockRequestedAt = null;
        lockReleased = true;
      } else if (e instanceof BackupEvent.PhaseStarted) {
        Phase p = ((BackupEvent.PhaseStarted) e).phase();
        phase = p.name().toLowerCase(Locale.ROOT);
        phaseStartedAt = e.at();
        if (p == Phase.LOCK) {
          lockRequestedAt = e.at();
        }
        write();
      } else if (e instanceof BackupEvent.Unlocked) {
        BackupEvent.Unlocked u = (BackupEvent.Unlocked) e;
        if (u.released()) {
          lockRequestedAt = null;
        } else {
          lockReleased = false;
        }
        write();
      } else if (e instanceof BackupEvent.OperationFinished) {
        clear();
      }
    }

    private void write() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("operation", operation);
      m.put("backupId", backupId);
      m.put("phase", phase);
      m.put("phaseStartedAt", str(phaseStartedAt));
      m.put("lockRequestedAt", str(lockRequestedAt));
      m.put("lockReleased", Boolean.toString(lockReleased));
      m.put("pid", Long.toString(pid));
      m.put("processStartedAt", str(processStartedAt));
      m.put("host", LockFile.hostName());
      m.put("startedAt", startedAt.toString());
      m.put("howToCancel", "bbdiy cancel --running (sends this process SIGTERM: it cancels Bitbucket's task and"
          + " unlocks)");
      try {
        PrivateFiles.createPrivateDirectories(stateDir);
        PrivateFiles.writeAtomically(stateDir.resolve(FILE), (ADAPTER.serializeNulls().indent("  ").toJson(m) + "\n")
            .getBytes(StandardCharsets.UTF_8), false);
        written = true;
      } catch (IOException | RuntimeException ex) {
        if (!failed) {
          failed = true;
          warn.accept("cannot write the run state file " + stateDir.resolve(FILE) + " (" + ex.getMessage()
              + "): 'bbdiy status' will not show this run");
        }
      }
    }

    /** Deletes the file if this command wrote it; called at the operation's end and when the command ends. */
    void clear() {
      if (!written) {
        return;
      }
      written = false;
      try {
        Files.deleteIfExists(stateDir.resolve(FILE));
      } catch (IOException ex) {
        warn.accept("cannot delete the run state file " + stateDir.resolve(FILE) + " (" + ex.getMessage() + ")");
      }
    }

    private static @Nullable String str(@Nullable Instant i) {
      return i == null ? null : i.toString();
    }
  }
}
