package dev.bbdiy.core.internal;

import dev.bbdiy.kit.LockFile;
import dev.bbdiy.kit.PrivateFiles;

import com.squareup.moshi.JsonAdapter;
import com.squareup.moshi.Moshi;
import com.squareup.moshi.Types;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * The state file that survives a killed run: written (0600, atomically, durably) just before the lock request
 * and updated with the unlock and cancel tokens as soon as they are known, deleted once the unlock is
 * confirmed. A later run, or {@code bbdiy unlock --recover}, that finds it releases the lock first.
 */
public final class LockStateFile {
  /** What a state file records. */
  public record State(
      String phase,
      String baseUrl,
      @Nullable String unlockToken,
      @Nullable String cancelToken,
      String backupId,
      long pid,
      String host,
      Instant startedAt) {
    /** Returns whether the lock request may have been sent but its token is unknown. */
    public boolean tokenUnknown() {
      return unlockToken == null;
    }
  }

  private static final JsonAdapter<Map<String, Object>> ADAPTER = new Moshi.Builder().build()
      .adapter(Types.newParameterizedType(Map.class, String.class, Object.class));

  private final Path file;

  public LockStateFile(Path stateDir) {
    this.file = stateDir.resolve("maintenance-lock.json");
  }

  public Path path() {
    return file;
  }

  /** Records that a lock is about to be requested. */
  public void locking(String baseUrl, String backupId) {
    write(new State("LOCKING", baseUrl, null, null, backupId, ProcessHandle.current().pid(), LockFile.hostName(),
        Instant.now()));
  }

  /** Records the unlock token of a granted lock. */
  public void locked(String baseUrl, String backupId, String unlockToken) {
    write(new State("LOCKED", baseUrl, unlockToken, null, backupId, ProcessHandle.current().pid(),
        LockFile.hostName(), Instant.now()));
  }

  /**
   * Adds the cancel token of the started backup task. Not forced to disk: this runs while Bitbucket is locked,
   * the file is still replaced atomically (a killed process loses nothing), and recovery unlocks without it.
   */
  public void taskStarted(String baseUrl, String backupId, String unlockToken, String cancelToken) {
    write(new State("BACKUP_RUNNING", baseUrl, unlockToken, cancelToken, backupId, ProcessHandle.current().pid(),
        LockFile.hostName(), Instant.now()), false);
  }

  /** Deletes the file once the lock is released. */
  public void clear() {
    try {
      Files.deleteIfExists(file);
      PrivateFiles.forceDirectory(PrivateFiles.parentOf(file));
    } catch (IOException e) {
      throw new IllegalStateException("Cannot delete " + file + ": " + e.getMessage(), e);
    }
  }

  /** Returns the recorded state, if a run left one. */
  public Optional<State> read() {
    if (!Files.exists(file)) {
      return Optional.empty();
    }
    try {
      JsonObject json = JsonObject.parse(Files.readString(file, StandardCharsets.UTF_8), file.toString());
      return Optional.of(new State(
          json.optString("phase").orElse("LOCKING"),
          json.string("baseUrl"),
          json.optString("unlockToken").orElse(null),
          json.optString("cancelToken").orElse(null),
          json.optString("backupId").orElse("unknown"),
          json.optString("pid").map(Long::parseLong).orElse(-1L),
          json.optString("host").orElse("unknown"),
          json.optString("startedAt").map(Instant::parse).orElse(Instant.EPOCH)));
    } catch (IOException | RuntimeException e) {
      throw new IllegalStateException("The lock state file " + file + " is unreadable (" + e.getMessage()
          + "). It may hold the unlock token of a killed run: read it, unlock with 'bbdiy unlock --token <token>',"
          + " then delete it.", e);
    }
  }

  private void write(State s) {
    write(s, true);
  }

  private void write(State s, boolean durable) {
    Map<String, Object> map = new LinkedHashMap<>();
    map.put("phase", s.phase());
    map.put("baseUrl", s.baseUrl());
    if (s.unlockToken() != null) {
      map.put("unlockToken", s.unlockToken());
    }
    if (s.cancelToken() != null) {
      map.put("cancelToken", s.cancelToken());
    }
    map.put("backupId", s.backupId());
    map.put("pid", Long.toString(s.pid()));
    map.put("host", s.host());
    map.put("startedAt", s.startedAt().toString());
    // The curl command is the one a real Bitbucket takes (credentials asked for by curl, token in the header). The
    // token stays a placeholder: `status` shows this file, and a token must never reach a log.
    map.put("howToRecover", "bbdiy unlock --recover (or, with the unlockToken above: "
        + BitbucketFailures.unlockCommand(s.baseUrl(), null, "<unlockToken>") + ")");
    try {
      PrivateFiles.createPrivateDirectories(PrivateFiles.parentOf(file));
      PrivateFiles.writeAtomically(file, (ADAPTER.indent("  ").toJson(map) + "\n").getBytes(
          java.nio.charset.StandardCharsets.UTF_8), durable);
    } catch (IOException e) {
      throw new IllegalStateException("Cannot write the lock state file " + file + ": " + e.getMessage(), e);
    }
  }
}
