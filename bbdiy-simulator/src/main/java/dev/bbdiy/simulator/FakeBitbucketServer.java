package dev.bbdiy.simulator;

import static dev.bbdiy.simulator.Replies.respond;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.bbdiy.simulator.Replies.Reply;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
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
  private final EventLog events;
  private final FaultPlan faults = new FaultPlan();
  private final MaintenanceProtocol protocol;
  private final HttpServer server;
  private final ExecutorService executor;

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
    this.events = new EventLog(b.clock);
    this.protocol = new MaintenanceProtocol(b, events);
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
  public boolean isLocked() {
    return protocol.isLocked();
  }

  /** Returns the current unlock token, if locked (tests that simulate an admin holding the token). */
  public Optional<String> unlockToken() {
    return protocol.unlockToken();
  }

  /** Returns the state of the current or last task ({@code RUNNING}, {@code CANCELED}...), if there was one. */
  public Optional<String> taskState() {
    return protocol.taskState();
  }

  /** Returns the last progress percentage the client reported on the current or last task, or -1. */
  public int lastProgress() {
    return protocol.lastProgress();
  }

  /** Returns the event log, oldest first. */
  public List<Event> events() {
    return events.all();
  }

  /** Returns the events of one type, oldest first. */
  public List<Event> events(EventType type) {
    return events.ofType(type);
  }

  /** Returns the state-changing events, without {@link EventType#REQUEST}, oldest first. */
  public List<EventType> eventTypes() {
    return events.stateChanges();
  }

  /** Calls {@code listener} for every event from now on, on a server thread. */
  public void onEvent(Consumer<Event> listener) {
    events.onEvent(listener);
  }

  /** Returns how many requests reached an endpoint, faults included. */
  public int calls(Endpoint endpoint) {
    return faults.calls(endpoint);
  }

  /**
   * Returns every completed lock window measured on the server: from the lock being granted to the unlock being
   * accepted, in order.
   */
  public List<Duration> lockWindows() {
    return events.lockWindows();
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
  public void assertNotLocked() {
    protocol.assertNotLocked();
  }

  /** Returns the event log as text, one event a line. */
  public String eventsText() {
    return events.text();
  }

  // ---------------------------------------------------------------------------------------------------------
  // Knobs, changeable while running

  /** Injects {@code fault} into the next {@code times} calls of {@code endpoint}. */
  public FakeBitbucketServer failNext(Endpoint endpoint, int times, Fault fault) {
    faults.failNext(endpoint, times, fault);
    return this;
  }

  /** Sets the drain time of tasks started from now on. */
  public FakeBitbucketServer drainTime(Duration drainTime) {
    protocol.drainTime(drainTime);
    return this;
  }

  /** Makes tasks started from now on never drain (and never fail). */
  public FakeBitbucketServer drainNever() {
    protocol.drainNever();
    return this;
  }

  /** Makes tasks started from now on fail, as Bitbucket's SCM drain timeout does, after {@code after}. */
  public FakeBitbucketServer drainFailsAfter(Duration after) {
    protocol.drainFailsAfter(after);
    return this;
  }

  /** Sets the status a successful unlock answers with: 200 or 202 (real servers differ). */
  public FakeBitbucketServer unlockStatus(int status) {
    protocol.unlockStatus(status);
    return this;
  }

  /** Locks the system as another user would, returning the unlock token. */
  public String lockAs(String owner) {
    return protocol.lockAs(owner);
  }

  /** Releases any lock and ends any task, as an administrator restarting Bitbucket would. */
  public void forceUnlock() {
    protocol.forceUnlock();
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
      Fault fault = faults.arrive(endpoint);
      if (config.responseDelay.compareTo(Duration.ZERO) > 0) {
        sleep(config.responseDelay);
      }
      if (fault != null) {
        sleep(fault.delay);
        if (fault.dropBefore) {
          events.record(EventType.REQUEST, method + " " + local + " -> dropped");
          throw new IOException("fault: connection dropped before handling");
        }
        if (fault.status != 0) {
          events.record(EventType.REQUEST, method + " " + local + " -> " + fault.status + " (fault)");
          respond(exchange, fault.status, "text/html",
              "<html><head><title>" + fault.status + " Injected fault</title></head></html>");
          return;
        }
      }
      Reply reply = protocol.dispatch(method, endpoint, Replies.query(exchange.getRequestURI()),
          protocol.authenticate(exchange.getRequestHeaders().getFirst("Authorization")),
          exchange.getRequestHeaders().getFirst("X-Atlassian-Maintenance-Token"));
      events.record(EventType.REQUEST, method + " " + local + " -> " + reply.status());
      if (fault != null && fault.dropAfter) {
        throw new IOException("fault: connection dropped after handling");
      }
      if (reply.location() != null) {
        exchange.getResponseHeaders().set("Location", reply.location());
      }
      respond(exchange, reply.status(), reply.contentType(), reply.body());
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
    int port;
    String contextPath = "";
    String adminUser = "admin";
    String adminPassword = "admin";
    String plainUser = "user";
    String plainPassword = "user";
    String version = "8.19.1";
    Duration drainTime = Duration.ofMillis(200);
    @Nullable Duration drainFailsAfter;
    boolean drainNever;
    int unlockStatus = 202;
    Duration responseDelay = Duration.ZERO;
    boolean redirectAnonymous = true;
    boolean unlockNeedsAdmin;
    Clock clock = Clock.systemUTC();

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
    return SimulatorCommandLine.run(args, out);
  }
}
