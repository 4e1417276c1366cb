package dev.bbdiy.simulator;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * An in-process, stateful simulator of Bitbucket's maintenance REST API, faithful to {@code
 * shared/spec/maintenance-api.md}: the maintenance lock and its token, the external backup task with its cancel
 * token, database and SCM latches that go {@code LATCHED → DRAINED} after a configurable drain time, monotonic
 * progress where 100 completes the task and releases the latches, cancel, unlock (also while a task runs, which
 * cancels it), the {@code /system} aliases, {@code /status}, the application properties, Basic authentication
 * with an administrator and a non-administrator, and 503 for every other request while locked.
 *
 * <p>Fault knobs make the unhappy paths testable: drains that never complete or fail, server errors or dropped
 * connections on any call, unlock answering 200 or 202, slow responses; for calls that hang, or answers cut off
 * midway, put a {@code dev.bbdiy.testkit.StallingProxy} in front of it. Every state change is recorded in an
 * {@linkplain #events() event log} with timestamps, so tests and benchmarks measure the lock window from the
 * server's side.
 *
 * <p>Thread-safe. Runs standalone too: {@code java -cp bbdiy-cli.jar dev.bbdiy.simulator.FakeBitbucketServer
 * --port 7990}.
 */
public final class FakeBitbucketServer implements AutoCloseable {

  /** The calls of the maintenance protocol, for fault injection and counting. */
  public enum Endpoint {
    LOCK, START_BACKUP, STATUS, PROGRESS, UNLOCK, CANCEL, APPLICATION_PROPERTIES, HEALTH, PERMISSIONS, OTHER
  }

  /** What happened on the simulated server. */
  public enum EventType {
    LOCKED, LOCK_REFUSED, BACKUP_STARTED, DRAINED, PROGRESS, TASK_ENDED, CANCELED, UNLOCKED, UNLOCK_REFUSED,
    REQUEST
  }

  /**
   * One entry of the event log.
   *
   * @param at when it happened
   * @param type what happened
   * @param detail details: the percentage, the task state, the request line and status
   */
  public record Event(Instant at, EventType type, String detail) {
    @Override
    public String toString() {
      return at + " " + type + (detail.isEmpty() ? "" : " " + detail);
    }
  }

  /** A fault injected into the next calls of an endpoint. */
  public static final class Fault {
    private final int status;
    private final boolean dropBefore;
    private final boolean dropAfter;
    private final Duration delay;

    private Fault(int status, boolean dropBefore, boolean dropAfter, Duration delay) {
      this.status = status;
      this.dropBefore = dropBefore;
      this.dropAfter = dropAfter;
      this.delay = delay;
    }

    /** Answers with this HTTP status without touching the state. */
    public static Fault status(int status) {
      return new Fault(status, false, false, Duration.ZERO);
    }

    /** Closes the connection before the request has any effect. */
    public static Fault dropBeforeHandling() {
      return new Fault(0, true, false, Duration.ZERO);
    }

    /** Applies the request, then closes the connection without answering: the client cannot know it worked. */
    public static Fault dropAfterHandling() {
      return new Fault(0, false, true, Duration.ZERO);
    }

    /** Handles the request normally after a delay. */
    public static Fault delay(Duration delay) {
      return new Fault(0, false, false, delay);
    }
  }

  private final Builder config;
  private final Clock clock;
  private final SecureRandom random = new SecureRandom();
  private final List<Event> events = new CopyOnWriteArrayList<>();
  private final List<Consumer<Event>> eventListeners = new CopyOnWriteArrayList<>();
  private final Map<Endpoint, AtomicInteger> calls = new EnumMap<>(Endpoint.class);
  private final Map<Endpoint, List<Fault>> faults = new EnumMap<>(Endpoint.class);
  private final HttpServer server;
  private final ExecutorService executor;

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

  static {
    // The JDK's server writes headers and body separately; without TCP_NODELAY each small response waits for the
    // client's delayed ACK (about 40 ms), which would inflate every lock window measured against the simulator.
    // Real Bitbucket (Tomcat) sets TCP_NODELAY. Read once, when the JDK's server is first used: for `bbdiy simulate`
    // and the demo; test JVMs get it on their command line (the parent pom), before any other server starts.
    if (System.getProperty("sun.net.httpserver.nodelay") == null) {
      System.setProperty("sun.net.httpserver.nodelay", "true");
    }
  }

  private FakeBitbucketServer(Builder b) throws IOException {
    this.config = b;
    this.clock = b.clock;
    this.drainTime = b.drainTime;
    this.drainFailsAfter = b.drainFailsAfter;
    this.drainNever = b.drainNever;
    this.unlockStatus = b.unlockStatus;
    for (Endpoint e : Endpoint.values()) {
      calls.put(e, new AtomicInteger());
      faults.put(e, new ArrayList<>());
    }
    this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), b.port), 64);
    this.executor = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "fake-bitbucket");
      t.setDaemon(true);
      return t;
    });
    server.setExecutor(executor);
    server.createContext("/", this::handle);
    server.start();
  }

  /** Returns a builder with the defaults: admin/admin, user/user, a 200 ms drain, unlock answering 202. */
  public static Builder builder() {
    return new Builder();
  }

  /** Starts a simulator with the defaults. */
  public static FakeBitbucketServer start() {
    return builder().start();
  }

  /** Returns the base URL clients use, with the context path and without trailing slash. */
  public String url() {
    return "http://" + server.getAddress().getHostString() + ":" + server.getAddress().getPort()
        + config.contextPath;
  }

  /** Returns the port the simulator listens on. */
  public int port() {
    return server.getAddress().getPort();
  }

  /** Returns the administrator's user name. */
  public String adminUser() {
    return config.adminUser;
  }

  /** Returns the administrator's password. */
  public String adminPassword() {
    return config.adminPassword;
  }

  /** Stops the simulator. */
  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }

  // ---------------------------------------------------------------------------------------------------------
  // State inspection

  /** Returns whether the system is locked for maintenance. */
  public synchronized boolean isLocked() {
    return lock != null;
  }

  /** Returns the current unlock token, if locked (tests that simulate an admin holding the token). */
  public synchronized Optional<String> unlockToken() {
    return Optional.ofNullable(lock).map(l -> l.token);
  }

  /** Returns the state of the current or last task ({@code RUNNING}, {@code CANCELED}...), if there was one. */
  public synchronized Optional<String> taskState() {
    refresh();
    return Optional.ofNullable(task).map(t -> t.state);
  }

  /** Returns the last progress percentage the client reported on the current or last task, or -1. */
  public synchronized int lastProgress() {
    return task == null ? -1 : task.clientProgress;
  }

  /** Returns the event log, oldest first. */
  public List<Event> events() {
    return List.copyOf(events);
  }

  /** Returns the events of one type, oldest first. */
  public List<Event> events(EventType type) {
    return events.stream().filter(e -> e.type() == type).toList();
  }

  /** Returns the state-changing events, without {@link EventType#REQUEST}, oldest first. */
  public List<EventType> eventTypes() {
    return events.stream().map(Event::type).filter(t -> t != EventType.REQUEST).toList();
  }

  /** Calls {@code listener} for every event from now on, on a server thread. */
  public void onEvent(Consumer<Event> listener) {
    eventListeners.add(listener);
  }

  /** Returns how many requests reached an endpoint, faults included. */
  public int calls(Endpoint endpoint) {
    return calls.get(endpoint).get();
  }

  /**
   * Returns every completed lock window measured on the server: from the lock being granted to the unlock being
   * accepted, in order.
   */
  public List<Duration> lockWindows() {
    List<Duration> out = new ArrayList<>();
    Instant lockedAt = null;
    for (Event e : events) {
      if (e.type() == EventType.LOCKED) {
        lockedAt = e.at();
      } else if (e.type() == EventType.UNLOCKED && lockedAt != null) {
        out.add(Duration.between(lockedAt, e.at()));
        lockedAt = null;
      }
    }
    return out;
  }

  /** Returns the last completed lock window. */
  public Optional<Duration> lastLockWindow() {
    List<Duration> windows = lockWindows();
    return windows.isEmpty() ? Optional.empty() : Optional.of(windows.get(windows.size() - 1));
  }

  /**
   * Throws {@link AssertionError} if the system is locked or a backup task still runs: a test must never leave
   * Bitbucket locked.
   */
  public synchronized void assertNotLocked() {
    refresh();
    if (lock != null) {
      throw new AssertionError("The simulated Bitbucket was left locked (owner " + lock.owner + ", since "
          + lock.at + "). Events:\n" + eventsText());
    }
    if (task != null && task.state.equals("RUNNING")) {
      throw new AssertionError("A backup task was left RUNNING. Events:\n" + eventsText());
    }
  }

  /** Returns the event log as text, one event a line. */
  public String eventsText() {
    StringBuilder sb = new StringBuilder();
    for (Event e : events) {
      sb.append("  ").append(e).append('\n');
    }
    return sb.toString();
  }

  // ---------------------------------------------------------------------------------------------------------
  // Knobs, changeable while running

  /** Injects {@code fault} into the next {@code times} calls of {@code endpoint}. */
  public synchronized FakeBitbucketServer failNext(Endpoint endpoint, int times, Fault fault) {
    for (int i = 0; i < times; i++) {
      faults.get(endpoint).add(fault);
    }
    return this;
  }

  /** Sets the drain time of tasks started from now on. */
  public synchronized FakeBitbucketServer drainTime(Duration drainTime) {
    this.drainTime = drainTime;
    this.drainNever = false;
    return this;
  }

  /** Makes tasks started from now on never drain (and never fail). */
  public synchronized FakeBitbucketServer drainNever() {
    this.drainNever = true;
    return this;
  }

  /** Makes tasks started from now on fail, as Bitbucket's SCM drain timeout does, after {@code after}. */
  public synchronized FakeBitbucketServer drainFailsAfter(Duration after) {
    this.drainFailsAfter = after;
    this.drainNever = true;
    return this;
  }

  /** Sets the status a successful unlock answers with: 200 or 202 (real servers differ). */
  public synchronized FakeBitbucketServer unlockStatus(int status) {
    this.unlockStatus = status;
    return this;
  }

  /** Locks the system as another user would, returning the unlock token. */
  public synchronized String lockAs(String owner) {
    if (lock != null) {
      throw new IllegalStateException("already locked");
    }
    lock = new Lock(newToken(), owner, clock.instant());
    task = null;
    record(EventType.LOCKED, owner);
    return lock.token;
  }

  /** Releases any lock and ends any task, as an administrator restarting Bitbucket would. */
  public synchronized void forceUnlock() {
    if (task != null && task.state.equals("RUNNING")) {
      endTask("CANCELED", "Bitbucket was restarted");
    }
    if (lock != null) {
      lock = null;
      record(EventType.UNLOCKED, "forced");
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // HTTP

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      String path = exchange.getRequestURI().getRawPath();
      String method = exchange.getRequestMethod().toUpperCase(Locale.ROOT);
      if (!path.startsWith(config.contextPath + "/") && !path.equals(config.contextPath)) {
        respond(exchange, 404, "text/html", "<html><title>Not Found</title></html>");
        return;
      }
      String local = path.substring(config.contextPath.length());
      if (local.startsWith("/system/maintenance")) {
        local = "/mvc/maintenance" + local.substring("/system/maintenance".length());
      }
      Endpoint endpoint = endpoint(method, local);
      calls.get(endpoint).incrementAndGet();
      Fault fault = nextFault(endpoint);
      if (config.responseDelay.compareTo(Duration.ZERO) > 0) {
        sleep(config.responseDelay);
      }
      if (fault != null) {
        sleep(fault.delay);
        if (fault.dropBefore) {
          record(EventType.REQUEST, method + " " + local + " -> dropped");
          throw new IOException("fault: connection dropped before handling");
        }
        if (fault.status != 0) {
          record(EventType.REQUEST, method + " " + local + " -> " + fault.status + " (fault)");
          respond(exchange, fault.status, "text/html",
              "<html><head><title>" + fault.status + " Injected fault</title></head></html>");
          return;
        }
      }
      Reply reply = dispatch(exchange, method, local, endpoint);
      record(EventType.REQUEST, method + " " + local + " -> " + reply.status);
      if (fault != null && fault.dropAfter) {
        throw new IOException("fault: connection dropped after handling");
      }
      if (reply.location != null) {
        exchange.getResponseHeaders().set("Location", reply.location);
      }
      respond(exchange, reply.status, reply.contentType, reply.body);
    }
  }

  private record Reply(int status, String contentType, String body, @Nullable String location) {
    static Reply json(int status, String body) {
      return new Reply(status, "application/json;charset=UTF-8", body, null);
    }

    static Reply empty(int status) {
      return new Reply(status, "application/json;charset=UTF-8", "", null);
    }
  }

  /**
   * Returns the call a request is, from its method and its path below the context path ({@code /system/maintenance}
   * already mapped to {@code /mvc/maintenance}).
   */
  public static Endpoint endpoint(String method, String path) {
    switch (path) {
      case "/mvc/maintenance/lock":
        return method.equals("DELETE") ? Endpoint.UNLOCK : Endpoint.LOCK;
      case "/mvc/maintenance":
        return method.equals("POST") ? Endpoint.CANCEL : Endpoint.STATUS;
      case "/mvc/admin/backups":
        return Endpoint.START_BACKUP;
      case "/mvc/admin/backups/progress/client":
        return Endpoint.PROGRESS;
      case "/rest/api/1.0/application-properties":
        return Endpoint.APPLICATION_PROPERTIES;
      case "/rest/api/1.0/admin/permissions/users":
        return Endpoint.PERMISSIONS;
      case "/status":
        return Endpoint.HEALTH;
      default:
        return Endpoint.OTHER;
    }
  }

  private synchronized Reply dispatch(HttpExchange ex, String method, String path, Endpoint endpoint) {
    refresh();
    Map<String, String> query = query(ex.getRequestURI());
    String auth = authenticate(ex);
    String header = ex.getRequestHeaders().getFirst("X-Atlassian-Maintenance-Token");
    boolean tokenOk = lock != null && lock.token.equals(header);
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
        return new Reply(404, "text/html", "<html><head><title>Not Found</title></head></html>", null);
    }
  }

  private Reply lock(@Nullable String auth) {
    Reply denied = requireAdmin(auth, true);
    if (denied != null) {
      return denied;
    }
    if (lock != null) {
      record(EventType.LOCK_REFUSED, "held by " + lock.owner);
      return error(409, "The system has already been locked for maintenance. The current maintenance operation"
          + " must be completed before the next operation can be started.");
    }
    lock = new Lock(newToken(), Objects.requireNonNull(auth), clock.instant());
    task = null;
    record(EventType.LOCKED, auth);
    return Reply.json(202, "{\"unlockToken\":\"" + lock.token + "\",\"owner\":{\"displayName\":\""
        + displayName(auth) + "\",\"name\":\"" + auth + "\"}}");
  }

  private Reply unlock(@Nullable String token) {
    if (lock == null) {
      record(EventType.UNLOCK_REFUSED, "not locked");
      return error(409, "The system is not currently locked for maintenance.");
    }
    if (!lock.token.equals(token)) {
      record(EventType.UNLOCK_REFUSED, "wrong token");
      return error(409, "The provided unlock token is incorrect.");
    }
    if (task != null && task.state.equals("RUNNING")) {
      endTask("CANCELED", "The system was unlocked while the backup was running");
    }
    lock = null;
    record(EventType.UNLOCKED, "");
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
    sb.append("\"db-state\":\"").append(latch(true)).append("\",\"scm-state\":\"").append(latch(false))
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
    record(EventType.CANCELED, task.id);
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
    task = new Task(Long.toString(Math.abs(random.nextLong() % 100000)), newToken(), clock.instant(), drainTime,
        drainNever, drainFailsAfter);
    record(EventType.BACKUP_STARTED, task.id);
    return Reply.json(202, "{\"id\":\"" + task.id + "\",\"progress\":{\"message\":\"" + task.message
        + "\",\"percentage\":0},\"state\":\"RUNNING\",\"type\":\"BACKUP\",\"cancelToken\":\"" + task.cancelToken
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
    record(EventType.PROGRESS, Integer.toString(percentage));
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

  /** Returns the authenticated user, {@code null} for anonymous; {@code ""} for wrong credentials. */
  private @Nullable String authenticate(HttpExchange ex) {
    String header = ex.getRequestHeaders().getFirst("Authorization");
    if (header == null || !header.regionMatches(true, 0, "Basic ", 0, 6)) {
      return null;
    }
    String decoded;
    try {
      decoded = new String(Base64.getDecoder().decode(header.substring(6).trim()), StandardCharsets.UTF_8);
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

  private Reply maintenancePage() {
    return new Reply(503, "text/html", "<html><head><title>Bitbucket - Maintenance</title></head><body>Bitbucket is"
        + " in maintenance mode.</body></html>", null);
  }

  private static Reply methodNotAllowed() {
    return error(405, "Method not allowed");
  }

  private static Reply error(int status, String message) {
    if (status == 401 || status == 403 || status == 400 && message.startsWith("The percentage")) {
      return Reply.json(status, "{\"errors\":[{\"context\":null,\"message\":\"" + message
          + "\",\"exceptionName\":\"com.atlassian.bitbucket.AuthorisationException\"}]}");
    }
    return Reply.json(status, "{\"errorTexts\":[\"" + message + "\"]}");
  }

  private static void respond(HttpExchange ex, int status, String contentType, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", contentType);
    ex.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
    if (bytes.length > 0) {
      try (OutputStream out = ex.getResponseBody()) {
        out.write(bytes);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // The state machine

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
      record(EventType.DRAINED, task.id);
    }
  }

  private String latch(boolean db) {
    if (task == null || !task.state.equals("RUNNING")) {
      return "AVAILABLE";
    }
    return task.drainedRecorded ? "DRAINED" : "LATCHED";
  }

  private int serverPercentage(Task t) {
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
    record(EventType.TASK_ENDED, state);
  }

  private @Nullable Fault nextFault(Endpoint endpoint) {
    synchronized (this) {
      List<Fault> list = faults.get(endpoint);
      return list.isEmpty() ? null : list.remove(0);
    }
  }

  private void record(EventType type, String detail) {
    Event e = new Event(clock.instant(), type, detail);
    events.add(e);
    for (Consumer<Event> l : eventListeners) {
      try {
        l.accept(e);
      } catch (RuntimeException ignored) {
        // a listener must not break the simulator
      }
    }
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

  private static Map<String, String> query(URI uri) {
    Map<String, String> out = new HashMap<>();
    String raw = uri.getRawQuery();
    if (raw == null) {
      return out;
    }
    for (String pair : raw.split("&")) {
      int eq = pair.indexOf('=');
      String k = eq < 0 ? pair : pair.substring(0, eq);
      String v = eq < 0 ? "" : pair.substring(eq + 1);
      out.put(URLDecoder.decode(k, StandardCharsets.UTF_8), URLDecoder.decode(v, StandardCharsets.UTF_8));
    }
    return out;
  }

  private static void sleep(Duration d) {
    if (d.isZero() || d.isNegative()) {
      return;
    }
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Builder and standalone main

  /** Configures and starts a {@link FakeBitbucketServer}. */
  public static final class Builder {
    private int port;
    private String contextPath = "";
    private String adminUser = "admin";
    private String adminPassword = "admin";
    private String plainUser = "user";
    private String plainPassword = "user";
    private String version = "8.19.1";
    private Duration drainTime = Duration.ofMillis(200);
    private @Nullable Duration drainFailsAfter;
    private boolean drainNever;
    private int unlockStatus = 202;
    private Duration responseDelay = Duration.ZERO;
    private boolean redirectAnonymous = true;
    private boolean unlockNeedsAdmin;
    private Clock clock = Clock.systemUTC();

    private Builder() {}

    /**
     * Whether the unlock needs the administrator's credentials and the token in the maintenance header too (off by
     * default, as the documentation describes it), to check that a client or a printed command sends both, as
     * Atlassian's scripts do.
     */
    public Builder unlockNeedsAdmin(boolean needs) {
      this.unlockNeedsAdmin = needs;
      return this;
    }

    /** Listens on {@code port}; 0 (the default) picks a free one. */
    public Builder port(int port) {
      this.port = port;
      return this;
    }

    /** Serves under a context path such as {@code /bitbucket}. */
    public Builder contextPath(String contextPath) {
      String c = contextPath.trim();
      while (c.endsWith("/")) {
        c = c.substring(0, c.length() - 1);
      }
      if (!c.isEmpty() && !c.startsWith("/")) {
        c = "/" + c;
      }
      this.contextPath = c;
      return this;
    }

    /** Sets the SYS_ADMIN user. */
    public Builder admin(String user, String password) {
      this.adminUser = user;
      this.adminPassword = password;
      return this;
    }

    /** Sets the user without administrative permission. */
    public Builder plainUser(String user, String password) {
      this.plainUser = user;
      this.plainPassword = password;
      return this;
    }

    /** Sets the version the application properties report. */
    public Builder version(String version) {
      this.version = version;
      return this;
    }

    /** Sets how long after the backup starts both latches report DRAINED. */
    public Builder drainTime(Duration drainTime) {
      this.drainTime = drainTime;
      return this;
    }

    /** Latches never drain (and the task never fails). */
    public Builder drainNever() {
      this.drainNever = true;
      return this;
    }

    /** Latches never drain and the task fails after {@code after}, as Bitbucket's SCM drain timeout does. */
    public Builder drainFailsAfter(Duration after) {
      this.drainNever = true;
      this.drainFailsAfter = after;
      return this;
    }

    /** Sets the status of a successful unlock, 200 or 202. */
    public Builder unlockStatus(int status) {
      this.unlockStatus = status;
      return this;
    }

    /** Delays every response. */
    public Builder responseDelay(Duration delay) {
      this.responseDelay = delay;
      return this;
    }

    /** Whether an anonymous lock request is redirected to {@code /login} (default) or answered 401. */
    public Builder redirectAnonymous(boolean redirect) {
      this.redirectAnonymous = redirect;
      return this;
    }

    /** Sets the clock of the event log and drains. */
    public Builder clock(Clock clock) {
      this.clock = clock;
      return this;
    }

    /** Starts the simulator. */
    public FakeBitbucketServer start() {
      try {
        return new FakeBitbucketServer(this);
      } catch (IOException e) {
        throw new IllegalStateException("Cannot start the Bitbucket simulator: " + e.getMessage(), e);
      }
    }
  }

  /**
   * Runs the simulator until interrupted, printing every event.
   *
   * <p>Options: {@code --port N} (default 7990), {@code --context-path /bitbucket}, {@code --user admin},
   * {@code --password admin}, {@code --drain 2s}, {@code --version 8.19.1}.
   */
  public static void main(String[] args) throws InterruptedException {
    run(args, System.out);
    Thread.currentThread().join();
  }

  /** Starts a simulator from command line options and reports its events to {@code out}. */
  public static FakeBitbucketServer run(String[] args, PrintStream out) {
    Builder b = builder().port(7990);
    for (int i = 0; i < args.length; i++) {
      String value = i + 1 < args.length ? args[i + 1] : "";
      switch (args[i]) {
        case "--port":
          b.port(Integer.parseInt(value));
          i++;
          break;
        case "--context-path":
          b.contextPath(value);
          i++;
          break;
        case "--user":
          b.admin(value, b.adminPassword);
          i++;
          break;
        case "--password":
          b.admin(b.adminUser, value);
          i++;
          break;
        case "--drain":
          b.drainTime(parseDuration(value));
          i++;
          break;
        case "--version":
          b.version(value);
          i++;
          break;
        default:
          throw new IllegalArgumentException("Unknown option " + args[i]
              + "; use --port, --context-path, --user, --password, --drain, --version");
      }
    }
    FakeBitbucketServer server = b.start();
    out.println("Bitbucket simulator listening on " + server.url() + " (SYS_ADMIN user '" + b.adminUser
        + "'; drain time " + b.drainTime.toMillis() + " ms)");
    server.onEvent(e -> {
      if (e.type() != EventType.REQUEST) {
        out.println(e);
      }
    });
    return server;
  }

  private static Duration parseDuration(String text) {
    String t = text.trim().toLowerCase(Locale.ROOT);
    if (t.endsWith("ms")) {
      return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
    }
    if (t.endsWith("s")) {
      return Duration.ofMillis((long) (Double.parseDouble(t.substring(0, t.length() - 1)) * 1000));
    }
    if (t.endsWith("m")) {
      return Duration.ofMinutes(Long.parseLong(t.substring(0, t.length() - 1)));
    }
    return Duration.ofSeconds(Long.parseLong(t));
  }
}
