package dev.bbdiy.simulator;

import static dev.bbdiy.simulator.Replies.error;
import static dev.bbdiy.simulator.Replies.maintenancePage;
import static dev.bbdiy.simulator.Replies.methodNotAllowed;

import dev.bbdiy.simulator.FakeBitbucketServer.Builder;
import dev.bbdiy.simulator.FakeBitbucketServer.Endpoint;
import dev.bbdiy.simulator.FakeBitbucketServer.EventType;
import dev.bbdiy.simulator.Replies.Reply;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * The simulated server's state machine: the maintenance lock and its token, the backup task with its latches and
 * progress, and the answer to each call of the protocol. Every method that reads or changes the state holds this
 * object's monitor, so each request is applied atomically.
 */
final class MaintenanceProtocol {
  private final Builder config;
  private final Clock clock;
  private final EventLog events;
  private final SecureRandom random = new SecureRandom();

  // State, guarded by this.
  private @Nullable Lock lock;
  private @Nullable Task task;
  private Duration drainTime;
  private @Nullable Duration drainFailsAfter;
  private boolean drainNever;
  private int unlockStatus;

  private static final class Lock {
    final String token;
    final String owner;
    final Instant at;

    Lock(String token, String owner, Instant at) {
      this.token = token;
      this.owner = owner;
      this.at = at;
    }
  }

  private static final class Task {
    final String id;
    final String cancelToken;
    final Instant startedAt;
    final Duration drainTime;
    final boolean never;
    final @Nullable Duration failsAfter;
    String state = "RUNNING";
    String message = "Waiting for database and SCM operations to drain";
    int clientProgress = -1;
    boolean drainedRecorded;

    Task(String id, String cancelToken, Instant startedAt, Duration drainTime, boolean never,
        @Nullable Duration failsAfter) {
      this.id = id;
      this.cancelToken = cancelToken;
      this.startedAt = startedAt;
      this.drainTime = drainTime;
      this.never = never;
      this.failsAfter = failsAfter;
    }
  }

  MaintenanceProtocol(Builder config, EventLog events) {
    this.config = config;
    this.clock = config.clock;
    this.events = events;
    this.drainTime = config.drainTime;
    this.drainFailsAfter = config.drainFailsAfter;
    this.drainNever = config.drainNever;
    this.unlockStatus = config.unlockStatus;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Inspection and knobs

  synchronized boolean isLocked() {
    return lock != null;
  }

  synchronized Optional<String> unlockToken() {
    return Optional.ofNullable(lock).map(l -> l.token);
  }

  synchronized Optional<String> taskState() {
    refresh();
    return Optional.ofNullable(task).map(t -> t.state);
  }

  synchronized int lastProgress() {
    return task == null ? -1 : task.clientProgress;
  }

  synchronized void assertNotLocked() {
    refresh();
    if (lock != null) {
      throw new AssertionError("The simulated Bitbucket was left locked (owner " + lock.owner + ", since "
          + lock.at + "). Events:\n" + events.text());
    }
    if (task != null && task.state.equals("RUNNING")) {
      throw new AssertionError("A backup task was left RUNNING. Events:\n" + events.text());
    }
  }

  synchronized void drainTime(Duration drainTime) {
    this.drainTime = drainTime;
    this.drainNever = false;
  }

  synchronized void drainNever() {
    this.drainNever = true;
  }

  synchronized void drainFailsAfter(Duration after) {
    this.drainFailsAfter = after;
    this.drainNever = true;
  }

  synchronized void unlockStatus(int status) {
    this.unlockStatus = status;
  }

  synchronized String lockAs(String owner) {
    if (lock != null) {
      throw new IllegalStateException("already locked");
    }
    Lock l = new Lock(newToken(), owner, clock.instant());
    lock = l;
    task = null;
    events.record(EventType.LOCKED, owner);
    return l.token;
  }

  synchronized void forceUnlock() {
    if (task != null && task.state.equals("RUNNING")) {
      endTask("CANCELED", "Bitbucket was restarted");
    }
    if (lock != null) {
      lock = null;
      events.record(EventType.UNLOCKED, "forced");
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // The protocol

  /**
   * Applies one request and returns the answer.
   *
   * @param auth the authenticated user from {@link #authenticate}
   * @param maintenanceToken the {@code X-Atlassian-Maintenance-Token} header, if sent
   */
  synchronized Reply dispatch(String method, Endpoint endpoint, Map<String, String> query, @Nullable String auth,
      @Nullable String maintenanceToken) {
    refresh();
    boolean tokenOk = lock != null && lock.token.equals(maintenanceToken);
    switch (endpoint) {
      case LOCK:
        if (!method.equals("POST")) {
          return methodNotAllowed();
        }
        return lock(auth);
      case UNLOCK:
        if (config.unlockNeedsAdmin && !config.adminUser.equals(auth)) {
          return error(401, "Authentication failed. Please check your credentials and try again.");
        }
        if (config.unlockNeedsAdmin && !tokenOk) {
          return maintenancePage();
        }
        return unlock(query.get("token"));
      case STATUS:
        if (!method.equals("GET")) {
          return methodNotAllowed();
        }
        return status();
      case CANCEL:
        return cancel(query.get("token"));
      case START_BACKUP:
        if (!method.equals("POST")) {
          return methodNotAllowed();
        }
        if (lock != null && !tokenOk) {
          return maintenancePage();
        }
        return startBackup(auth, query);
      case PROGRESS:
        return progress(auth, query);
      case HEALTH:
        return Reply.json(200, "{\"state\":\"" + (lock == null ? "RUNNING" : "MAINTENANCE") + "\"}");
      case APPLICATION_PROPERTIES:
        if (lock != null && !tokenOk) {
          return maintenancePage();
        }
        return Reply.json(200, "{\"version\":\"" + config.version + "\",\"buildNumber\":\""
            + buildNumber(config.version) + "\",\"buildDate\":\"1700000000000\",\"displayName\":\"Bitbucket\"}");
      case PERMISSIONS:
        if (lock != null && !tokenOk) {
          return maintenancePage();
        }
        return permissions(auth, query.getOrDefault("filter", ""));
      default:
        if (lock != null && !tokenOk) {
          return maintenancePage();
        }
        return Replies.notFound();
    }
  }

  /** Returns the authenticated user, {@code null} for anonymous; {@code ""} for wrong credentials. */
  @Nullable String authenticate(@Nullable String authorization) {
    if (authorization == null || !authorization.regionMatches(true, 0, "Basic ", 0, 6)) {
      return null;
    }
    String decoded;
    try {
      decoded = new String(Base64.getDecoder().decode(authorization.substring(6).trim()), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return "";
    }
    int colon = decoded.indexOf(':');
    if (colon < 0) {
      return "";
    }
    String user = decoded.substring(0, colon);
    String password = decoded.substring(colon + 1);
    if (user.equals(config.adminUser) && password.equals(config.adminPassword)) {
      return user;
    }
    if (user.equals(config.plainUser) && password.equals(config.plainPassword)) {
      return user;
    }
    return "";
  }

  private Reply lock(@Nullable String auth) {
    Reply denied = requireAdmin(auth, true);
    if (denied != null) {
      return denied;
    }
    if (lock != null) {
      events.record(EventType.LOCK_REFUSED, "held by " + lock.owner);
      return error(409, "The system has already been locked for maintenance. The current maintenance operation"
          + " must be completed before the next operation can be started.");
    }
    Lock l = new Lock(newToken(), Objects.requireNonNull(auth), clock.instant());
    lock = l;
    task = null;
    events.record(EventType.LOCKED, auth);
    return Reply.json(202, "{\"unlockToken\":\"" + l.token + "\",\"owner\":{\"displayName\":\""
        + displayName(auth) + "\",\"name\":\"" + auth + "\"}}");
  }

  private Reply unlock(@Nullable String token) {
    if (lock == null) {
      events.record(EventType.UNLOCK_REFUSED, "not locked");
      return error(409, "The system is not currently locked for maintenance.");
    }
    if (!lock.token.equals(token)) {
      events.record(EventType.UNLOCK_REFUSED, "wrong token");
      return error(409, "The provided unlock token is incorrect.");
    }
    if (task != null && task.state.equals("RUNNING")) {
      endTask("CANCELED", "The system was unlocked while the backup was running");
    }
    lock = null;
    events.record(EventType.UNLOCKED, "");
    return Reply.empty(unlockStatus);
  }

  private Reply status() {
    if (lock == null && task == null) {
      return error(404, "There is no maintenance operation to report on.");
    }
    StringBuilder sb = new StringBuilder("{");
    if (task != null) {
      sb.append("\"task\":{\"id\":\"").append(task.id).append("\",\"progress\":{\"message\":\"")
          .append(task.message).append("\",\"percentage\":").append(serverPercentage(task))
          .append("},\"state\":\"").append(task.state).append("\",\"type\":\"BACKUP\"},");
    }
    sb.append("\"db-state\":\"").append(latch()).append("\",\"scm-state\":\"").append(latch())
        .append("\"}");
    return Reply.json(200, sb.toString());
  }

  private Reply cancel(@Nullable String token) {
    if (task == null || !task.state.equals("RUNNING")) {
      return error(409, "There is no maintenance operation to cancel.");
    }
    if (!task.cancelToken.equals(token)) {
      return error(409, "The provided cancellation token is incorrect.");
    }
    endTask("CANCELED", "Canceled by the client");
    events.record(EventType.CANCELED, task.id);
    return Reply.empty(202);
  }

  private Reply startBackup(@Nullable String auth, Map<String, String> query) {
    Reply denied = requireAdmin(auth, false);
    if (denied != null) {
      return denied;
    }
    if (task != null && task.state.equals("RUNNING")) {
      return error(409, "Backup cannot be started because other system maintenance is already in progress.");
    }
    if (lock == null || !"true".equals(query.get("external"))) {
      return error(409, "Only external backups of a system locked for maintenance are simulated.");
    }
    Task t = new Task(Long.toString(Math.abs(random.nextLong() % 100000)), newToken(), clock.instant(), drainTime,
        drainNever, drainFailsAfter);
    task = t;
    events.record(EventType.BACKUP_STARTED, t.id);
    return Reply.json(202, "{\"id\":\"" + t.id + "\",\"progress\":{\"message\":\"" + t.message
        + "\",\"percentage\":0},\"state\":\"RUNNING\",\"type\":\"BACKUP\",\"cancelToken\":\"" + t.cancelToken
        + "\"}");
  }

  private Reply progress(@Nullable String auth, Map<String, String> query) {
    Reply denied = requireAdmin(auth, false);
    if (denied != null) {
      return denied;
    }
    if (lock == null || !lock.token.equals(query.get("token"))) {
      return error(409, "The provided unlock token is incorrect.");
    }
    if (task == null || !task.state.equals("RUNNING")) {
      return error(409, "The system is not currently backing up.");
    }
    int percentage;
    try {
      percentage = Integer.parseInt(query.getOrDefault("percentage", ""));
    } catch (NumberFormatException e) {
      return error(400, "The percentage must be a number between 0 and 100.");
    }
    if (percentage < 0 || percentage > 100 || percentage < task.clientProgress) {
      return error(400, "The percentage must be between 0 and 100 and must not decrease.");
    }
    task.clientProgress = percentage;
    events.record(EventType.PROGRESS, Integer.toString(percentage));
    if (percentage == 100) {
      endTask("SUCCESSFUL", "Backup complete");
    }
    return Reply.empty(202);
  }

  private Reply permissions(@Nullable String auth, String filter) {
    if (auth == null || auth.isEmpty()) {
      return error(401, "Authentication failed. Please check your credentials and try again.");
    }
    if (!auth.equals(config.adminUser)) {
      return error(403, "You are not permitted to access this resource");
    }
    String values = filter.isEmpty() || config.adminUser.contains(filter)
        ? "{\"user\":{\"name\":\"" + config.adminUser + "\",\"displayName\":\"" + displayName(config.adminUser)
            + "\"},\"permission\":\"SYS_ADMIN\"}"
        : "";
    return Reply.json(200, "{\"size\":" + (values.isEmpty() ? 0 : 1) + ",\"limit\":25,\"isLastPage\":true,"
        + "\"values\":[" + values + "],\"start\":0}");
  }

  private @Nullable Reply requireAdmin(@Nullable String auth, boolean redirectAnonymous) {
    if (auth == null && redirectAnonymous && config.redirectAnonymous) {
      return new Reply(302, "text/html", "", config.contextPath + "/login?next=/mvc/maintenance/lock");
    }
    if (auth == null || auth.isEmpty()) {
      return error(401, "Authentication failed. Please check your credentials and try again.");
    }
    if (!auth.equals(config.adminUser)) {
      return error(403, "You are not permitted to access this resource");
    }
    return null;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Time-driven state

  /** Advances time-driven state: drains complete, drains time out. */
  private void refresh() {
    if (task == null || !task.state.equals("RUNNING")) {
      return;
    }
    Instant now = clock.instant();
    Duration running = Duration.between(task.startedAt, now);
    if (task.failsAfter != null && running.compareTo(task.failsAfter) >= 0) {
      endTask("FAILED", "Operations from one or more SCMs did not finish within the allotted timeout");
      return;
    }
    if (!task.never && running.compareTo(task.drainTime) >= 0 && !task.drainedRecorded) {
      task.drainedRecorded = true;
      task.message = "Database and SCM operations drained; waiting for the external backup client";
      events.record(EventType.DRAINED, task.id);
    }
  }

  /** The database and SCM latches drain together in the simulator. */
  private String latch() {
    if (task == null || !task.state.equals("RUNNING")) {
      return "AVAILABLE";
    }
    return task.drainedRecorded ? "DRAINED" : "LATCHED";
  }

  private static int serverPercentage(Task t) {
    // Bitbucket mixes drain and client progress; only 100 is reliable. A 10/90 split is a plausible shape.
    if (!t.state.equals("RUNNING")) {
      return t.state.equals("SUCCESSFUL") ? 100 : Math.max(0, t.clientProgress);
    }
    int drain = t.drainedRecorded ? 10 : 0;
    return drain + Math.max(0, t.clientProgress) * 90 / 100;
  }

  private void endTask(String state, String message) {
    if (task == null) {
      return;
    }
    task.state = state;
    task.message = message;
    events.record(EventType.TASK_ENDED, state);
  }

  private String newToken() {
    byte[] bytes = new byte[20];
    random.nextBytes(bytes);
    return HexFormat.of().formatHex(bytes);
  }

  private static String displayName(String user) {
    return user.isEmpty() ? user : Character.toUpperCase(user.charAt(0)) + user.substring(1);
  }

  private static String buildNumber(String version) {
    String[] p = (version + ".0.0").split("\\.");
    try {
      return String.format(Locale.ROOT, "%d%03d%03d", Integer.parseInt(p[0]), Integer.parseInt(p[1]),
          Integer.parseInt(p[2].replaceAll("\\D.*", "")));
    } catch (NumberFormatException e) {
      return "0";
    }
  }
}
