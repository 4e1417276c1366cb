package dev.bbdiy.core;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.CancellationSignal;
import dev.bbdiy.api.spi.Secret;
import dev.bbdiy.core.internal.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import okhttp3.Credentials;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okhttp3.ResponseBody;
import okhttp3.tls.HandshakeCertificates;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A typed client of Bitbucket's maintenance REST API: one method per call of the DIY Backup protocol.
 *
 * <p>Calls that can safely be repeated ({@link #status}, {@link #unlock}, {@link #cancel}, the read-only calls)
 * are retried on connection failures and 5xx answers with capped exponential backoff; TLS handshake and
 * certificate failures are not retried, since repeating them cannot help. {@link #lock()} is never repeated
 * blindly: when its outcome is unknown the client asks Bitbucket's {@code /status} whether the system is locked
 * before doing anything else. {@link #reportProgress} is best effort: it never takes more than two seconds.
 *
 * <p>While Bitbucket is locked, time is downtime. {@link #limitedTo} returns a view of the client whose calls all
 * end within a budget, whatever Bitbucket does: each call's timeout is the smaller of the call timeout and the
 * time left, no retry is started that cannot end in time, and a call in flight is aborted at once when a
 * cancellation signal fires (a thread interrupt does not stop a blocking socket read; the view closes the
 * socket).
 *
 * <p>Redirects are never followed: a redirect to {@code /login} is an authentication failure. HTTPS certificates
 * are always verified; {@link Builder#trustedCertificates(Path)} adds a private CA. Passwords never appear in
 * logs, messages or {@code toString()}.
 *
 * <p>Instances are immutable, thread-safe and meant to be shared; they hold a connection pool released when the
 * JVM exits.
 */
public final class MaintenanceClient {
  private static final Logger LOG = LoggerFactory.getLogger(MaintenanceClient.class);
  private static final MediaType JSON = MediaType.get("application/json");
  private static final String TOKEN_HEADER = "X-Atlassian-Maintenance-Token";
  private static final Pattern TITLE = Pattern.compile("<title>([^<]*)</title>", Pattern.CASE_INSENSITIVE);
  private static final Duration FAST_POLL = Duration.ofMillis(25);
  private static final Duration FAST_POLL_PERIOD = Duration.ofSeconds(2);
  /** The most a progress report may take, retries included: it is best effort and made while locked. */
  private static final Duration PROGRESS_BUDGET = Duration.ofSeconds(2);
  /** The timeout of the {@code /status} check that decides whether an unanswered lock or unlock took effect. */
  private static final Duration HEALTH_TIMEOUT = Duration.ofSeconds(5);
  /** Less time left than this is not worth another attempt. */
  private static final long MIN_ATTEMPT_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

  private final HttpUrl baseUrl;
  private final @Nullable String username;
  private final @Nullable Secret password;
  private final @Nullable Path trustedCertificates;
  private final Duration connectTimeout;
  private final Duration callTimeout;
  private final int maxAttempts;
  private final Duration initialBackoff;
  private final Duration maxBackoff;
  private final Duration unlockRetryBudget;
  private final Duration pollInterval;
  private final Clock clock;
  private final OkHttpClient http;
  /** When every call of this view must have ended; {@link Deadline#NONE} for the unlimited client. */
  private final Deadline limit;
  /** Aborts the calls of this view in flight; {@code null} for the unlimited client. */
  private final @Nullable CancellationSignal abortOn;

  private MaintenanceClient(Builder b) {
    this.baseUrl = b.baseUrl;
    this.username = b.username;
    this.password = b.password;
    this.trustedCertificates = b.trustedCertificates;
    this.connectTimeout = b.connectTimeout;
    this.callTimeout = b.callTimeout;
    this.maxAttempts = b.maxAttempts;
    this.initialBackoff = b.initialBackoff;
    this.maxBackoff = b.maxBackoff;
    this.unlockRetryBudget = b.unlockRetryBudget;
    this.pollInterval = b.pollInterval;
    this.clock = b.clock;
    OkHttpClient.Builder http =
        new OkHttpClient.Builder()
            .followRedirects(false)
            .followSslRedirects(false)
            .retryOnConnectionFailure(false)
            .connectTimeout(connectTimeout.toMillis(), TimeUnit.MILLISECONDS)
            .readTimeout(callTimeout.toMillis(), TimeUnit.MILLISECONDS)
            .writeTimeout(callTimeout.toMillis(), TimeUnit.MILLISECONDS)
            .callTimeout(callTimeout.toMillis(), TimeUnit.MILLISECONDS);
    if (trustedCertificates != null) {
      HandshakeCertificates certs = loadCertificates(trustedCertificates);
      http.sslSocketFactory(certs.sslSocketFactory(), certs.trustManager());
    }
    this.http = http.build();
    this.limit = Deadline.NONE;
    this.abortOn = null;
  }

  private MaintenanceClient(MaintenanceClient base, Deadline limit, CancellationSignal abortOn) {
    this.baseUrl = base.baseUrl;
    this.username = base.username;
    this.password = base.password;
    this.trustedCertificates = base.trustedCertificates;
    this.connectTimeout = base.connectTimeout;
    this.callTimeout = base.callTimeout;
    this.maxAttempts = base.maxAttempts;
    this.initialBackoff = base.initialBackoff;
    this.maxBackoff = base.maxBackoff;
    this.unlockRetryBudget = base.unlockRetryBudget;
    this.pollInterval = base.pollInterval;
    this.clock = base.clock;
    this.http = base.http;
    this.limit = limit;
    this.abortOn = abortOn;
  }

  /**
   * Returns a builder for a client of the Bitbucket at {@code baseUrl}, which may include a context path
   * ({@code https://host/bitbucket}).
   */
  public static Builder builder(String baseUrl) {
    return new Builder(baseUrl);
  }

  /**
   * Returns a view of this client for calls made while Bitbucket is locked: every call made through it ends within
   * {@code budget} from now. Each call's timeout is the smaller of the call timeout and the time left, a retry that
   * cannot start in time is not attempted, {@link #awaitDrained} stops polling at the earlier of its own timeout
   * and this limit, and when {@code abortOn} fires, the call in flight is aborted at once (its connection closed)
   * and the view's calls fail with {@link ErrorCode#INTERRUPTED}.
   *
   * <p>{@link #unlock} is the exception: it is neither limited nor aborted, and keeps its own retry budget ({@link
   * Builder#unlockRetryBudget}), because releasing the lock is what the limit is for. The view shares this
   * client's connections; a limit on a view replaces the view's limit.
   */
  public MaintenanceClient limitedTo(Duration budget, CancellationSignal abortOn) {
    Objects.requireNonNull(budget, "budget");
    Objects.requireNonNull(abortOn, "abortOn");
    return new MaintenanceClient(this, Deadline.in(budget), abortOn);
  }

  /**
   * Returns {@code baseUrl} as a client of it would show it (without trailing slash), after the checks {@link
   * #builder} makes: for whoever shows the URL before a client exists.
   *
   * @throws BbdiyException {@link ErrorCode#CONFIGURATION} for a URL a client refuses, such as one with a user name
   *     or password in it; the message never shows them
   */
  public static String checkedBaseUrl(String baseUrl) {
    String s = new Builder(baseUrl).baseUrl.toString();
    return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
  }

  /** Returns a builder initialised with this client's settings, without the limit of a {@link #limitedTo} view. */
  public Builder newBuilder() {
    Builder b = new Builder(baseUrl.toString());
    b.username = username;
    b.password = password;
    b.trustedCertificates = trustedCertificates;
    b.connectTimeout = connectTimeout;
    b.callTimeout = callTimeout;
    b.maxAttempts = maxAttempts;
    b.initialBackoff = initialBackoff;
    b.maxBackoff = maxBackoff;
    b.unlockRetryBudget = unlockRetryBudget;
    b.pollInterval = pollInterval;
    b.clock = clock;
    return b;
  }

  /** Returns the base URL, without trailing slash. */
  public String baseUrl() {
    String s = baseUrl.toString();
    return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
  }

  /** Returns the user the client authenticates as, if any. */
  public @Nullable String username() {
    return username;
  }

  // ---------------------------------------------------------------------------------------------------------
  // The calls

  /**
   * Locks Bitbucket for maintenance ({@code POST /mvc/maintenance/lock}). Needs a SYS_ADMIN user.
   *
   * <p>If the request fails without an answer, or with a server error, the client asks {@code /status} whether
   * Bitbucket is locked: if it is not, the lock is requested again (up to the retry limit); if it is, the lock
   * may be ours with a token we never received, and the call fails with {@link ErrorCode#LEFT_LOCKED}.
   *
   * @throws BitbucketException {@link ErrorCode#BITBUCKET_BUSY} if already locked, {@link
   *     ErrorCode#BITBUCKET_AUTH} for rejected credentials, {@link ErrorCode#LEFT_LOCKED} if the outcome is
   *     unknown and Bitbucket is now locked
   */
  public MaintenanceLock lock() {
    requireCredentials("lock");
    Instant requestedAt = clock.instant();
    BbdiyException last = null;
    for (int attempt = 1; attempt <= maxAttempts; attempt++) {
      Request request = post(url("mvc/maintenance/lock"), null);
      Exchange ex;
      boolean unanswered = false;
      try {
        ex = execute(request, limit, true);
      } catch (IOException e) {
        last = unreachable("lock", e);
        ex = null;
        unanswered = mayHaveArrived(e);
      }
      if (ex != null && ex.success()) {
        String token;
        String owner;
        try {
          JsonObject body = JsonObject.parse(ex.body, "the lock response");
          token = body.string("unlockToken");
          owner = body.optObject("owner")
              .flatMap(o -> o.optString("displayName").or(() -> o.optString("name")))
              .orElse(username == null ? "unknown" : username);
        } catch (IllegalArgumentException e) {
          // We may hold a lock we cannot release: say so, do not pretend nothing happened.
          throw new BitbucketException(ErrorCode.LEFT_LOCKED,
              "Bitbucket accepted the lock request but its answer has no unlock token (" + e.getMessage()
                  + "). Bitbucket may now be locked with a token we never received: open " + baseUrl()
                  + "/admin and check the maintenance state; restarting Bitbucket releases a lost lock.",
              ex.code, e);
        }
        LOG.debug("Locked {} as {}", baseUrl(), owner);
        return new MaintenanceLock(this, token, owner, requestedAt, clock.instant());
      }
      if (ex != null && ex.code < 500) {
        throw failure("lock Bitbucket for maintenance", ex, Call.LOCK);
      }
      if (ex != null) {
        last = failure("lock Bitbucket for maintenance", ex, Call.LOCK);
      }
      // Outcome unknown: find out before doing anything else.
      String state = healthOrNull();
      if ("MAINTENANCE".equals(state)) {
        throw new BitbucketException(ErrorCode.LEFT_LOCKED,
            "The lock request to " + baseUrl() + " failed without a usable answer (" + messageOf(last)
                + "), and Bitbucket now reports MAINTENANCE: it may be locked by this request, whose unlock token"
                + " was lost, or by someone else. Check " + baseUrl() + "/admin before retrying; if no one else"
                + " is running a backup, restarting Bitbucket releases the lock.",
            ex == null ? -1 : ex.code, last);
      }
      if (state == null && unanswered) {
        // A request sent but never answered may have locked Bitbucket: saying "unavailable" would leave it
        // locked with no one told to look.
        throw new BitbucketException(ErrorCode.LEFT_LOCKED,
            "The lock request to " + baseUrl() + " got no answer (" + messageOf(last) + "), and Bitbucket's state"
                + " cannot be read either: it may now be locked by this request, whose unlock token was lost. Check "
                + baseUrl() + "/admin (or 'bbdiy status') once it answers; if it is locked and no one else is"
                + " running a backup, restarting Bitbucket releases the lock.",
            -1, last);
      }
      throwIfAborted("lock Bitbucket", last);
      if (state == null || attempt == maxAttempts || isPermanent(last) || !fits(backoff(attempt), limit)) {
        break;
      }
      pause(backoff(attempt), "lock Bitbucket");
    }
    throw Objects.requireNonNull(last);
  }

  /**
   * Returns a lock held by an earlier process, from its saved unlock token, so it can be released or reported
   * on ({@code bbdiy unlock --recover}).
   */
  public MaintenanceLock adopt(String unlockToken) {
    Objects.requireNonNull(unlockToken, "unlockToken");
    if (unlockToken.isBlank() || unlockToken.equals("null")) {
      throw new IllegalArgumentException("Not an unlock token: '" + unlockToken + "'");
    }
    Instant now = clock.instant();
    return new MaintenanceLock(this, unlockToken, username == null ? "unknown" : username, now, now);
  }

  /**
   * Starts an external backup ({@code POST /mvc/admin/backups?external=true}): Bitbucket latches its database and
   * git operations and starts draining them.
   *
   * @throws BitbucketException {@link ErrorCode#BITBUCKET_BUSY} if another maintenance task runs
   */
  public ExternalBackup startExternalBackup(MaintenanceLock lock) {
    requireCredentials("start an external backup");
    HttpUrl url = url("mvc/admin/backups").newBuilder().addQueryParameter("external", "true").build();
    // Not idempotent: a second start would be refused as "other maintenance in progress".
    Exchange ex = once("start the external backup", withToken(post(url, "{}"), lock), limit);
    if (!ex.success()) {
      throw failure("start the external backup", ex, Call.START);
    }
    JsonObject body = parseBody(ex, "the backup response");
    try {
      return new ExternalBackup(body.optString("id").orElse(null), body.string("cancelToken"));
    } catch (IllegalArgumentException e) {
      throw protocol("start the external backup", e.getMessage(), ex.code);
    }
  }

  /** Returns the maintenance status ({@code GET /mvc/maintenance}). Retried on transient failures. */
  public MaintenanceStatus status(MaintenanceLock lock) {
    return status(lock, limit);
  }

  private MaintenanceStatus status(MaintenanceLock lock, Deadline deadline) {
    Request request = withToken(get(url("mvc/maintenance")), lock);
    Exchange ex = retried("read the maintenance status", request, maxAttempts, deadline);
    if (ex.code == 404) {
      return MaintenanceStatus.none();
    }
    if (!ex.success()) {
      throw failure("read the maintenance status", ex, Call.STATUS);
    }
    JsonObject body = parseBody(ex, "the maintenance status");
    MaintenanceStatus.Task task = body.optObject("task").map(MaintenanceClient::task).orElse(null);
    String db = body.optString("db-state").orElse("");
    String scm = body.optString("scm-state").orElse("");
    return new MaintenanceStatus(task, LatchState.parse(db), LatchState.parse(scm), db, scm);
  }

  /** Waits until database and git operations are drained. See {@link #awaitDrained(MaintenanceLock, Duration, Consumer)}. */
  public MaintenanceStatus awaitDrained(MaintenanceLock lock, Duration timeout) {
    return awaitDrained(lock, timeout, status -> {});
  }

  /**
   * Polls the status until both latches report {@code DRAINED}: every 25 ms for two seconds, then slowing down
   * (by half each time) to the configured poll interval. Unknown latch states count as not drained. Every status
   * read ends by the deadline: one that gets no answer in time ends the wait as a drain timeout.
   *
   * @param onStatus receives every status read, for progress messages
   * @throws BitbucketException {@link ErrorCode#BACKUP_TASK_FAILED} as soon as the task leaves {@code
   *     RUNNING}; {@link ErrorCode#DRAIN_TIMEOUT} at the deadline; {@link ErrorCode#INTERRUPTED} if the thread
   *     is interrupted or the view's cancellation fires
   */
  public MaintenanceStatus awaitDrained(
      MaintenanceLock lock, Duration timeout, Consumer<MaintenanceStatus> onStatus) {
    long start = System.nanoTime();
    Deadline drain = Deadline.in(timeout);
    Deadline polls = drain.min(limit);
    // Every millisecond between the drain and noticing it is downtime: poll every 25 ms for the first two
    // seconds (drains usually take a few hundred milliseconds; a status read is cheap), then back off to the
    // configured interval.
    long delay = Math.min(FAST_POLL.toMillis(), pollInterval.toMillis());
    MaintenanceStatus last = null;
    while (true) {
      if (last != null && drain.nanosLeft() < MIN_ATTEMPT_NANOS) {
        throw drainTimeout(timeout, last);
      }
      MaintenanceStatus status;
      try {
        status = status(lock, polls);
      } catch (BbdiyException e) {
        if (drain.nanosLeft() < MIN_ATTEMPT_NANOS && e.code() == ErrorCode.BITBUCKET_UNAVAILABLE) {
          throw new BitbucketException(ErrorCode.DRAIN_TIMEOUT,
              "Bitbucket did not drain within " + human(timeout) + ": the last status read got no usable answer in"
                  + " time (" + e.getMessage() + "). Bitbucket may be overloaded; retry at a quieter time.",
              -1, e);
        }
        throw e;
      }
      last = status;
      onStatus.accept(status);
      MaintenanceStatus.Task task = status.task();
      if (task != null && task.state() != TaskState.RUNNING) {
        throw new BitbucketException(ErrorCode.BACKUP_TASK_FAILED,
            "Bitbucket's backup task ended as " + task.rawState() + " before draining"
                + (task.message().isEmpty() ? "" : ": " + task.message())
                + ". Long-running git operations or database connections may have kept it from draining in time;"
                + " see Bitbucket's log (atlassian-bitbucket.log) and retry later.",
            -1, null);
      }
      if (status.drained()) {
        return status;
      }
      pause(Duration.ofNanos(Math.max(0, Math.min(TimeUnit.MILLISECONDS.toNanos(delay), polls.nanosLeft()))),
          "wait for Bitbucket to drain");
      if (System.nanoTime() - start > FAST_POLL_PERIOD.toNanos()) {
        delay = Math.min(pollInterval.toMillis(), Math.max(delay + 1, delay * 3 / 2));
      }
    }
  }

  private static BitbucketException drainTimeout(Duration timeout, MaintenanceStatus status) {
    return new BitbucketException(ErrorCode.DRAIN_TIMEOUT,
        "Bitbucket did not drain within " + human(timeout) + " (database " + show(status.rawDb())
            + ", git " + show(status.rawScm()) + "). Long-running git operations or database"
            + " connections hold it; retry at a quieter time or raise bitbucket.drain-timeout.",
        -1, null);
  }

  /**
   * Reports backup progress ({@code POST /mvc/admin/backups/progress/client}). Values are kept monotonic: a value
   * not above the last one reported on this lock is skipped. {@code 100} completes Bitbucket's task and
   * releases the latches; the lock stays until {@link #unlock}.
   *
   * <p>Best effort, made while Bitbucket is locked: the report, retries included, takes at most two seconds, and on
   * a {@link #limitedTo limited} view at most a quarter of the time left, so that a Bitbucket hanging on it cannot
   * use up the lock window.
   *
   * @throws IllegalArgumentException for values outside 0..100
   */
  public void reportProgress(MaintenanceLock lock, int percentage) {
    if (percentage < 0 || percentage > 100) {
      throw new IllegalArgumentException("percentage must be within 0..100: " + percentage);
    }
    if (!lock.advanceProgress(percentage)) {
      return;
    }
    HttpUrl url = url("mvc/admin/backups/progress/client").newBuilder()
        .addQueryParameter("token", lock.unlockToken())
        .addQueryParameter("percentage", Integer.toString(percentage))
        .build();
    Deadline budget = Deadline.in(PROGRESS_BUDGET).min(limit.fraction(4));
    Exchange ex = retried("report progress " + percentage + "%", withToken(post(url, null), lock), maxAttempts,
        budget);
    if (!ex.success()) {
      throw failure("report progress " + percentage + "%", ex, Call.PROGRESS);
    }
  }

  /**
   * Unlocks Bitbucket ({@code DELETE /mvc/maintenance/lock}). Any 2xx is success. Retried with backoff for up to
   * the unlock retry budget (two minutes by default), each attempt ending within it. When a retry is refused
   * because an earlier attempt whose answer was lost already unlocked, that is success too, and so is a budget
   * run out with Bitbucket reporting that it is no longer locked. A TLS handshake or certificate failure is not
   * retried. Never limited nor aborted by a {@link #limitedTo} view.
   *
   * @throws BitbucketException {@link ErrorCode#LEFT_LOCKED} if Bitbucket may still be locked, with the
   *     command that unlocks it, or, if Bitbucket refuses this token while it is locked, with what to do
   */
  public void unlock(MaintenanceLock lock) {
    if (lock.isReleased()) {
      return;
    }
    HttpUrl url = url("mvc/maintenance/lock").newBuilder()
        .addQueryParameter("token", lock.unlockToken())
        .build();
    Request request = withToken(new Request.Builder().url(url).delete().header("Accept", "application/json"), lock);
    Deadline giveUp = Deadline.in(unlockRetryBudget);
    BbdiyException last = null;
    for (int attempt = 1; ; attempt++) {
      try {
        Exchange ex = execute(request, giveUp, false);
        if (ex.success()) {
          lock.markReleased();
          LOG.debug("Unlocked {}", baseUrl());
          return;
        }
        if (ex.code < 500) {
          // Refused: either an earlier attempt whose answer was lost already unlocked, or the lock is no longer
          // ours. Only Bitbucket's state tells whether it is still locked.
          if (!"MAINTENANCE".equals(healthOrNull())) {
            lock.markReleased();
            return;
          }
          if (ex.code == 409) {
            throw notThisLock(ex);
          }
          throw leftLocked(lock, failure("unlock", ex, Call.UNLOCK).getMessage(), null);
        }
        last = failure("unlock", ex, Call.UNLOCK);
      } catch (IOException e) {
        last = unreachable("unlock", e);
        if (isPermanent(last)) {
          throw leftLocked(lock, last.getMessage(), last);
        }
      }
      Duration pause = backoff(attempt);
      if (!fits(pause, giveUp)) {
        // Out of budget. An attempt whose answer never came may have unlocked all the same: ask before saying
        // Bitbucket may be locked.
        if ("RUNNING".equals(healthOrNull())) {
          lock.markReleased();
          LOG.debug("Unlock of {} unanswered, but Bitbucket is running again", baseUrl());
          return;
        }
        throw leftLocked(lock, messageOf(last), last);
      }
      try {
        sleep(pause);
      } catch (BbdiyException interrupted) {
        throw leftLocked(lock, "interrupted while retrying", interrupted);
      }
    }
  }

  /**
   * Cancels an external backup ({@code POST /mvc/maintenance?token=<cancelToken>}). The task becomes CANCELED
   * and the latches are released; Bitbucket stays locked until {@link #unlock}.
   */
  public void cancel(ExternalBackup backup) {
    HttpUrl url = url("mvc/maintenance").newBuilder().addQueryParameter("token", backup.cancelToken()).build();
    Exchange ex = retried("cancel the backup task", post(url, null), maxAttempts, limit);
    if (!ex.success()) {
      throw failure("cancel the backup task", ex, Call.CANCEL);
    }
  }

  /** Returns Bitbucket's version ({@code GET /rest/api/1.0/application-properties}, no login needed). */
  public ApplicationProperties applicationProperties() {
    Exchange ex = retried("read the application properties",
        anonymous(get(url("rest/api/1.0/application-properties"))), maxAttempts, limit);
    if (!ex.success()) {
      throw failure("read the application properties", ex, Call.READ);
    }
    JsonObject body = parseBody(ex, "the application properties");
    try {
      return new ApplicationProperties(body.string("version"), body.optString("buildNumber").orElse(""),
          body.optString("displayName").orElse("Bitbucket"));
    } catch (IllegalArgumentException e) {
      throw protocol("read the application properties", e.getMessage(), ex.code);
    }
  }

  /**
   * Returns Bitbucket's state from {@code GET /status}: {@code RUNNING}, {@code MAINTENANCE}, {@code STARTING}...
   */
  public String health() {
    Exchange ex = retried("read /status", anonymous(get(url("status"))), maxAttempts, limit);
    try {
      return JsonObject.parse(ex.body, "/status").string("state");
    } catch (IllegalArgumentException e) {
      throw protocol("read /status", "HTTP " + ex.code + ", " + e.getMessage(), ex.code);
    }
  }

  /**
   * Makes an authenticated call that locks nothing, to check the credentials before a backup starts ({@code GET
   * /rest/api/1.0/admin/permissions/users?filter=<user>}).
   *
   * @throws BitbucketException {@link ErrorCode#BITBUCKET_AUTH} if the credentials are rejected or the user is
   *     not an administrator
   */
  public CredentialCheck checkCredentials() {
    requireCredentials("check the credentials");
    HttpUrl url = url("rest/api/1.0/admin/permissions/users").newBuilder()
        .addQueryParameter("filter", username).build();
    Exchange ex = retried("check the credentials", get(url), maxAttempts, limit);
    if (!ex.success()) {
      throw failure("check the credentials", ex, Call.READ);
    }
    String permission = null;
    try {
      for (Object value : JsonObject.parse(ex.body, "the permissions response").array("values")) {
        if (value instanceof java.util.Map) {
          @SuppressWarnings("unchecked")
          java.util.Map<String, Object> entry = (java.util.Map<String, Object>) value;
          Object user = entry.get("user");
          Object name = user instanceof java.util.Map ? ((java.util.Map<?, ?>) user).get("name") : null;
          if (username != null && username.equalsIgnoreCase(String.valueOf(name))) {
            permission = String.valueOf(entry.get("permission"));
          }
        }
      }
    } catch (IllegalArgumentException e) {
      throw protocol("check the credentials", e.getMessage(), ex.code);
    }
    return new CredentialCheck(Objects.requireNonNull(username), permission);
  }

  // ---------------------------------------------------------------------------------------------------------
  // HTTP plumbing

  private enum Call { LOCK, START, STATUS, PROGRESS, UNLOCK, CANCEL, READ }

  private static final class Exchange {
    final int code;
    final String message;
    final String body;
    final @Nullable String location;

    Exchange(int code, String message, String body, @Nullable String location) {
      this.code = code;
      this.message = message;
      this.body = body;
      this.location = location;
    }

    boolean success() {
      return code >= 200 && code < 300;
    }
  }

  /**
   * Makes one attempt, ending by {@code deadline} or the call timeout, whichever comes first; aborted when the
   * view's cancellation fires if {@code abortable}.
   */
  private Exchange execute(Request request, Deadline deadline, boolean abortable) throws IOException {
    if (Thread.currentThread().isInterrupted()) {
      throw new InterruptedIOException("interrupted");
    }
    long left = deadline.nanosLeft();
    if (left <= 0) {
      throw new TimedOut(0, "", null);
    }
    // At least a millisecond: OkHttp reads a zero timeout as none at all.
    long timeout = Math.max(TimeUnit.MILLISECONDS.toNanos(1), Math.min(callTimeout.toNanos(), left));
    okhttp3.Call call = http.newCall(request);
    // The call timeout spans the whole exchange, the body included: a read timeout alone restarts with every
    // byte, so an answer trickling in, or cut off midway, could hold the lock for ever.
    call.timeout().timeout(timeout, TimeUnit.NANOSECONDS);
    CancellationSignal.Registration abort = abortable && abortOn != null ? abortOn.onCancel(call::cancel) : null;
    long start = System.nanoTime();
    try (Response response = call.execute()) {
      ResponseBody body = response.body();
      String text = body == null ? "" : readLimited(body.byteStream());
      LOG.debug("{} {} -> {}", request.method(), redact(request.url()), response.code());
      return new Exchange(response.code(), response.message(), text, response.header("Location"));
    } catch (InterruptedIOException e) {
      if (aborted(abortable) || Thread.currentThread().isInterrupted()) {
        throw e;
      }
      long waited = System.nanoTime() - start;
      throw new TimedOut(waited, timeout < callTimeout.toNanos() ? " (all the time this step had left)"
          : waited >= callTimeout.toNanos() * 95 / 100 ? " (bitbucket.timeout)" : "", e);
    } finally {
      if (abort != null) {
        abort.close();
      }
    }
  }

  /** No answer within the time an attempt had; {@code limit} says which limit that was, for messages. */
  private static final class TimedOut extends InterruptedIOException {
    private static final long serialVersionUID = 1L;

    final long nanos;
    final String limit;

    TimedOut(long nanos, String limit, @Nullable Throwable cause) {
      super("no answer within " + human(Duration.ofNanos(nanos)));
      this.nanos = nanos;
      this.limit = limit;
      if (cause != null) {
        initCause(cause);
      }
    }
  }

  private static String readLimited(InputStream in) throws IOException {
    byte[] bytes = in.readNBytes(1 << 20);
    return new String(bytes, StandardCharsets.UTF_8);
  }

  private Exchange once(String what, Request request, Deadline deadline) {
    try {
      return execute(request, deadline, true);
    } catch (IOException e) {
      throwIfAborted(what, e);
      throw unreachable(what, e);
    }
  }

  private Exchange retried(String what, Request request, int attempts, Deadline deadline) {
    BbdiyException last = null;
    for (int attempt = 1; attempt <= attempts; attempt++) {
      try {
        Exchange ex = execute(request, deadline, true);
        if (ex.code < 500) {
          return ex;
        }
        last = failure(what, ex, Call.READ);
        if (attempt == attempts || !fits(backoff(attempt), deadline)) {
          return ex;
        }
      } catch (InterruptedIOException e) {
        throwIfAborted(what, e);
        if (Thread.currentThread().isInterrupted()) {
          throw new BbdiyException(ErrorCode.INTERRUPTED, "Interrupted while trying to " + what, e);
        }
        last = unreachable(what, e);
      } catch (IOException e) {
        throwIfAborted(what, e);
        last = unreachable(what, e);
        if (isPermanent(last)) {
          throw last;
        }
      }
      if (attempt < attempts) {
        Duration pause = backoff(attempt);
        if (!fits(pause, deadline)) {
          break;
        }
        LOG.debug("Retrying to {} after: {}", what, messageOf(last));
        pause(pause, what);
      }
    }
    throw Objects.requireNonNull(last);
  }

  /** Returns whether an attempt after {@code pause} would still have time before {@code deadline}. */
  private static boolean fits(Duration pause, Deadline deadline) {
    return deadline.nanosLeft() - pause.toNanos() >= MIN_ATTEMPT_NANOS;
  }

  private boolean aborted(boolean abortable) {
    return abortable && abortOn != null && abortOn.isCancelled();
  }

  private void throwIfAborted(String what, @Nullable Throwable cause) {
    CancellationSignal signal = abortOn;
    if (signal != null && signal.isCancelled()) {
      throw new BbdiyException(ErrorCode.INTERRUPTED, "Stopped trying to " + what + ": " + signal.reason(), cause);
    }
  }

  /** Waits between attempts; on a view, wakes up as soon as the cancellation fires, and then fails. */
  private void pause(Duration d, String what) {
    CancellationSignal signal = abortOn;
    if (signal == null) {
      sleep(d);
      return;
    }
    CountDownLatch woken = new CountDownLatch(1);
    try (CancellationSignal.Registration ignored = signal.onCancel(woken::countDown)) {
      woken.await(Math.max(0, d.toNanos()), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BbdiyException(ErrorCode.INTERRUPTED, "Interrupted while waiting for Bitbucket", e);
    }
    throwIfAborted(what, null);
  }

  private Duration backoff(int attempt) {
    long millis = initialBackoff.toMillis() << Math.min(attempt - 1, 20);
    return Duration.ofMillis(Math.min(millis, maxBackoff.toMillis()));
  }

  private void sleep(Duration d) {
    try {
      Thread.sleep(Math.max(0, d.toMillis()));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BbdiyException(ErrorCode.INTERRUPTED, "Interrupted while waiting for Bitbucket", e);
    }
  }

  /**
   * Returns Bitbucket's state, or {@code null} if it cannot be read: what decides whether an unanswered lock or
   * unlock took effect, so it is asked even when the view's time is up, with a short timeout of its own.
   */
  private @Nullable String healthOrNull() {
    try {
      Exchange ex = execute(anonymous(get(url("status"))), Deadline.in(HEALTH_TIMEOUT), false);
      return JsonObject.parse(ex.body, "/status").string("state");
    } catch (IOException | IllegalArgumentException e) {
      return null;
    }
  }

  private HttpUrl url(String path) {
    HttpUrl.Builder b = baseUrl.newBuilder();
    for (String segment : path.split("/")) {
      b.addPathSegment(segment);
    }
    return b.build();
  }

  private Request.Builder authenticated(Request.Builder b) {
    if (username != null && password != null) {
      b.header("Authorization", Credentials.basic(username, password.reveal(), StandardCharsets.UTF_8));
    }
    return b.header("Accept", "application/json")
        .header("X-Atlassian-Token", "no-check")
        .header("User-Agent", "bbdiy/" + Version.current());
  }

  private Request post(HttpUrl url, @Nullable String json) {
    RequestBody body = RequestBody.create(json == null ? "" : json, JSON);
    return authenticated(new Request.Builder().url(url).post(body)).build();
  }

  private Request get(HttpUrl url) {
    return authenticated(new Request.Builder().url(url).get()).build();
  }

  private Request anonymous(Request request) {
    return request.newBuilder().removeHeader("Authorization").build();
  }

  private Request withToken(Request request, MaintenanceLock lock) {
    return request.newBuilder().header(TOKEN_HEADER, lock.unlockToken()).build();
  }

  private Request withToken(Request.Builder request, MaintenanceLock lock) {
    return withToken(authenticated(request).build(), lock);
  }

  private void requireCredentials(String what) {
    if (username == null || password == null) {
      throw BbdiyException.configuration(
          "Cannot " + what + " without credentials: set bitbucket.user and bitbucket.password (or"
              + " bitbucket.password.file) to a user with the SYS_ADMIN permission");
    }
  }

  private static MaintenanceStatus.Task task(JsonObject t) {
    String state = t.optString("state").orElse("");
    JsonObject progress = t.optObject("progress").orElse(null);
    return new MaintenanceStatus.Task(
        t.optString("id").orElse(""),
        t.optString("type").orElse(""),
        TaskState.parse(state),
        state,
        progress == null ? "" : progress.optString("message").orElse(""),
        progress == null ? 0 : progress.optInt("percentage").orElse(0));
  }

  private JsonObject parseBody(Exchange ex, String what) {
    try {
      return JsonObject.parse(ex.body, what);
    } catch (IllegalArgumentException e) {
      throw protocol("read " + what, e.getMessage() + " (HTTP " + ex.code + ")", ex.code);
    }
  }

  private BitbucketException failure(String what, Exchange ex, Call call) {
    String detail = errorText(ex);
    String prefix = "Bitbucket at " + baseUrl() + " refused to " + what + ": ";
    if (ex.code >= 300 && ex.code < 400) {
      String location = ex.location == null ? "" : ex.location;
      if (location.contains("/login")) {
        return new BitbucketException(ErrorCode.BITBUCKET_AUTH, prefix + "it redirected to its login page."
            + " Check bitbucket.user and bitbucket.password.", ex.code, null);
      }
      return new BitbucketException(ErrorCode.BITBUCKET_PROTOCOL, prefix + "unexpected redirect (HTTP " + ex.code
          + ") to " + location + ". Check bitbucket.url: scheme, host and context path must be the ones Bitbucket"
          + " serves.", ex.code, null);
    }
    switch (ex.code) {
      case 401:
        return new BitbucketException(ErrorCode.BITBUCKET_AUTH, prefix + "the credentials of user '" + username
            + "' were rejected (HTTP 401). Check bitbucket.user and bitbucket.password.", ex.code, null);
      case 403:
        return new BitbucketException(ErrorCode.BITBUCKET_AUTH, prefix + "user '" + username
            + "' lacks the permission (HTTP 403). The backup user needs the SYS_ADMIN global permission.",
            ex.code, null);
      case 404:
        return new BitbucketException(ErrorCode.BITBUCKET_PROTOCOL, prefix + "not found (HTTP 404). Check that"
            + " bitbucket.url includes Bitbucket's context path, if it has one.", ex.code, null);
      case 409:
        switch (call) {
          case LOCK:
            return new BitbucketException(ErrorCode.BITBUCKET_BUSY, prefix + detail("already locked", detail)
                + ". Another backup or maintenance task holds the lock; wait for it, or if a bbdiy run was killed,"
                + " run 'bbdiy unlock --recover'.", ex.code, null);
          case START:
            return new BitbucketException(ErrorCode.BITBUCKET_BUSY, prefix + detail("other maintenance is in"
                + " progress", detail) + ". Wait for it to end, then retry.", ex.code, null);
          case UNLOCK:
            return new BitbucketException(ErrorCode.BITBUCKET_PROTOCOL, prefix + detail("the unlock token was"
                + " rejected", detail) + ". The lock is no longer the one this run took.", ex.code, null);
          case CANCEL:
            return new BitbucketException(ErrorCode.BITBUCKET_PROTOCOL, prefix + detail("the cancel token was"
                + " rejected", detail), ex.code, null);
          default:
            return new BitbucketException(ErrorCode.BITBUCKET_BUSY, prefix + detail("conflict", detail),
                ex.code, null);
        }
      default:
        if (ex.code >= 500) {
          return new BitbucketException(ErrorCode.BITBUCKET_UNAVAILABLE, prefix + detail("HTTP " + ex.code + " "
              + ex.message, detail) + ". Bitbucket may be starting, overloaded or behind a failing proxy;"
              + " retry later.", ex.code, null);
        }
        return new BitbucketException(ErrorCode.BITBUCKET_PROTOCOL,
            prefix + detail("HTTP " + ex.code + " " + ex.message, detail), ex.code, null);
    }
  }

  private static String detail(String fallback, @Nullable String detail) {
    return detail == null ? fallback : fallback + " (\"" + detail + "\")";
  }

  /** Extracts a human message from either error shape, an HTML title, or nothing. */
  private static @Nullable String errorText(Exchange ex) {
    String body = ex.body.trim();
    if (body.isEmpty()) {
      return null;
    }
    if (body.startsWith("{")) {
      try {
        JsonObject json = JsonObject.parse(body, "error");
        List<String> texts = new ArrayList<>();
        for (Object e : json.array("errors")) {
          if (e instanceof java.util.Map && ((java.util.Map<?, ?>) e).get("message") != null) {
            texts.add(String.valueOf(((java.util.Map<?, ?>) e).get("message")));
          }
        }
        for (Object e : json.array("errorTexts")) {
          texts.add(String.valueOf(e));
        }
        json.optString("message").ifPresent(texts::add);
        return texts.isEmpty() ? null : String.join("; ", texts);
      } catch (IllegalArgumentException e) {
        return null;
      }
    }
    Matcher m = TITLE.matcher(body);
    if (m.find()) {
      return m.group(1).trim();
    }
    return null;
  }

  private BitbucketException unreachable(String what, IOException e) {
    if (e instanceof TimedOut) {
      TimedOut t = (TimedOut) e;
      if (t.nanos == 0) {
        return new BitbucketException(ErrorCode.BITBUCKET_UNAVAILABLE, "No time was left to " + what + " at "
            + baseUrl() + ".", -1, e);
      }
      return new BitbucketException(ErrorCode.BITBUCKET_UNAVAILABLE, "Bitbucket at " + baseUrl() + " did not answer"
          + " within " + human(Duration.ofNanos(t.nanos)) + " when trying to " + what + t.limit
          + ". It may be overloaded, or a proxy in front of it may hang.", -1, e);
    }
    String detail = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    String hint = e instanceof javax.net.ssl.SSLException
        ? " The TLS handshake failed: if Bitbucket uses a private CA, set bitbucket.ca-certificates to its PEM"
            + " bundle."
        : " Check bitbucket.url and that Bitbucket is running.";
    return new BitbucketException(ErrorCode.BITBUCKET_UNAVAILABLE,
        "Cannot reach Bitbucket at " + baseUrl() + " to " + what + ": " + detail + "." + hint, -1, e);
  }

  /**
   * Returns whether {@code failure} came from a TLS handshake or certificate problem that repeating cannot fix
   * (an untrusted or expired certificate, a host name mismatch, no common protocol), as opposed to a connection
   * dropped during the handshake.
   */
  private static boolean isPermanent(@Nullable Throwable failure) {
    boolean handshake = false;
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof javax.net.ssl.SSLPeerUnverifiedException
          || t instanceof java.security.cert.CertificateException
          || t instanceof java.security.cert.CertPathValidatorException
          || t instanceof java.security.cert.CertPathBuilderException) {
        return true;
      }
      if (t instanceof java.io.EOFException || t instanceof java.net.SocketException
          || t instanceof InterruptedIOException) {
        return false;
      }
      handshake |= t instanceof javax.net.ssl.SSLHandshakeException;
    }
    return handshake;
  }

  /**
   * Returns whether a request that failed with {@code e} may have reached Bitbucket: anything but a failure to
   * connect at all (refused, unknown host, no route, a TLS handshake that failed).
   */
  private static boolean mayHaveArrived(IOException e) {
    return !(e instanceof java.net.ConnectException || e instanceof java.net.UnknownHostException
        || e instanceof java.net.NoRouteToHostException || isPermanent(e)
        || e instanceof TimedOut && ((TimedOut) e).nanos == 0);
  }

  /** Bitbucket is locked, and refuses this token: someone else's lock, which no retry with this token releases. */
  private BitbucketException notThisLock(Exchange ex) {
    String detail = errorText(ex);
    return new BitbucketException(ErrorCode.LEFT_LOCKED, "Bitbucket at " + baseUrl() + " is locked for"
        + " maintenance, but not with this unlock token: it " + (detail == null ? "refused it (HTTP " + ex.code + ")"
        : "answered \"" + detail + "\"") + ". The current lock was taken by another run or another administrator"
        + " (or again, after this token's lock ended), and only its own token releases it. Check with 'bbdiy"
        + " status' whether a bbdiy run on this machine left it; if a killed bbdiy backup did, run 'bbdiy unlock"
        + " --recover' on the machine that ran it (its state file holds the token). Otherwise see who is doing"
        + " maintenance in " + baseUrl() + "/admin; if no one is, restarting Bitbucket releases the lock.",
        ex.code, null);
  }

  private BitbucketException protocol(String what, @Nullable String detail, int code) {
    return new BitbucketException(ErrorCode.BITBUCKET_PROTOCOL,
        "Bitbucket at " + baseUrl() + " gave an answer this client does not understand when trying to " + what
            + ": " + detail, code, null);
  }

  private BitbucketException leftLocked(MaintenanceLock lock, String why, @Nullable Throwable cause) {
    return new BitbucketException(ErrorCode.LEFT_LOCKED,
        "Bitbucket at " + baseUrl() + " may still be locked: the unlock failed (" + why + "). Unlock it with:\n"
            + "  " + unlockCommand(lock.unlockToken()) + "\n"
            + "or: bbdiy unlock --token " + lock.unlockToken(),
        -1, cause);
  }

  /** Returns a curl command that unlocks Bitbucket with {@code token}, for messages. */
  public String unlockCommand(String token) {
    return unlockCommand(baseUrl(), username, token);
  }

  /**
   * Returns a curl command that unlocks the Bitbucket at {@code baseUrl} with {@code token}, as a real Bitbucket
   * takes it: the token in the maintenance header and the query, and the administrator's credentials with {@code
   * -u <user>}, for which curl asks the password (it is never printed).
   */
  public static String unlockCommand(String baseUrl, @Nullable String user, String token) {
    String url = baseUrl.replaceAll("/+$", "") + "/mvc/maintenance/lock?token=" + token;
    return "curl -f -u " + shellQuote(user == null ? "<admin user>" : user) + " -X DELETE -H "
        + shellQuote(TOKEN_HEADER + ": " + token) + " -H 'Accept: application/json' " + shellQuote(url);
  }

  private static String shellQuote(String s) {
    return "'" + s.replace("'", "'\\''") + "'";
  }

  private static String messageOf(@Nullable Throwable t) {
    return t == null ? "no answer" : String.valueOf(t.getMessage());
  }

  private static String redact(HttpUrl url) {
    HttpUrl.Builder b = url.newBuilder();
    if (url.queryParameter("token") != null) {
      b.setQueryParameter("token", "******");
    }
    return b.build().toString();
  }

  private static String show(String raw) {
    return raw.isEmpty() ? "not reported" : raw;
  }

  private static String human(Duration d) {
    return d.toMillis() % 1000 == 0 ? d.toSeconds() + "s" : d.toMillis() + "ms";
  }

  private static HandshakeCertificates loadCertificates(Path pem) {
    try (InputStream in = Files.newInputStream(pem)) {
      CertificateFactory factory = CertificateFactory.getInstance("X.509");
      HandshakeCertificates.Builder b = new HandshakeCertificates.Builder().addPlatformTrustedCertificates();
      int n = 0;
      for (Certificate c : factory.generateCertificates(in)) {
        b.addTrustedCertificate((X509Certificate) c);
        n++;
      }
      if (n == 0) {
        throw BbdiyException.configuration("No certificate found in " + pem + ": expected a PEM bundle");
      }
      return b.build();
    } catch (IOException | GeneralSecurityException e) {
      throw BbdiyException.configuration("Cannot read the CA bundle " + pem + ": " + e.getMessage());
    }
  }

  @Override
  public String toString() {
    return "MaintenanceClient[" + baseUrl() + ", user=" + username + "]";
  }

  /** A point in time on the monotonic clock, which wall-clock changes do not move. */
  private static final class Deadline {
    static final Deadline NONE = new Deadline(0, true);
    /** About 73 years: far enough to mean "no limit", near enough never to overflow. */
    private static final long MAX_NANOS = Long.MAX_VALUE / 4;

    private final long at;
    private final boolean none;

    private Deadline(long at, boolean none) {
      this.at = at;
      this.none = none;
    }

    static Deadline in(Duration d) {
      long nanos;
      try {
        nanos = d.toNanos();
      } catch (ArithmeticException tooLong) {
        nanos = MAX_NANOS;
      }
      return new Deadline(System.nanoTime() + Math.min(Math.max(0, nanos), MAX_NANOS), false);
    }

    long nanosLeft() {
      return none ? Long.MAX_VALUE : at - System.nanoTime();
    }

    boolean passed() {
      return nanosLeft() <= 0;
    }

    Deadline min(Deadline other) {
      if (none) {
        return other;
      }
      if (other.none) {
        return this;
      }
      return at - other.at <= 0 ? this : other;
    }

    /** Returns the deadline {@code 1/divisor} of the time left from now; no limit stays no limit. */
    Deadline fraction(int divisor) {
      return none ? this : new Deadline(System.nanoTime() + Math.max(0, nanosLeft()) / divisor, false);
    }
  }

  /** Builds a {@link MaintenanceClient}. */
  public static final class Builder {
    private final HttpUrl baseUrl;
    private @Nullable String username;
    private @Nullable Secret password;
    private @Nullable Path trustedCertificates;
    private Duration connectTimeout = Duration.ofSeconds(10);
    private Duration callTimeout = Duration.ofSeconds(60);
    private int maxAttempts = 5;
    private Duration initialBackoff = Duration.ofMillis(250);
    private Duration maxBackoff = Duration.ofSeconds(8);
    private Duration unlockRetryBudget = Duration.ofMinutes(2);
    private Duration pollInterval = Duration.ofMillis(500);
    private Clock clock = Clock.systemUTC();

    private Builder(String baseUrl) {
      Objects.requireNonNull(baseUrl, "baseUrl");
      HttpUrl parsed = HttpUrl.parse(baseUrl.trim());
      if (parsed == null) {
        throw BbdiyException.configuration("bitbucket.url '" + withoutUserInfo(baseUrl) + "' is not an http:// or"
            + " https:// URL, e.g. https://bitbucket.example.com");
      }
      if (!parsed.encodedUsername().isEmpty() || !parsed.encodedPassword().isEmpty()) {
        // It would end up in every message, log line, report and manifest that names the URL.
        throw BbdiyException.configuration("bitbucket.url must not contain a user name or password ('"
            + withoutUserInfo(baseUrl) + "'): set the URL without them, the user with bitbucket.user and the"
            + " password with bitbucket.password or bitbucket.password.file");
      }
      if (parsed.querySize() > 0 || parsed.fragment() != null) {
        throw BbdiyException.configuration("bitbucket.url must not have a query or fragment: "
            + withoutUserInfo(baseUrl));
      }
      String path = parsed.encodedPath();
      while (path.length() > 1 && path.endsWith("/")) {
        path = path.substring(0, path.length() - 1);
      }
      this.baseUrl = parsed.newBuilder().encodedPath(path.isEmpty() ? "/" : path).build();
    }

    /**
     * Masks everything between {@code //} (or the start) and the last {@code @}, for messages: a password may hold
     * any character, so the authority's end cannot be trusted to be where a parser would put it.
     */
    private static String withoutUserInfo(String url) {
      int at = url.lastIndexOf('@');
      if (at < 0) {
        return url;
      }
      int start = url.indexOf("//");
      start = start < 0 || start > at ? 0 : start + 2;
      return url.substring(0, start) + "***" + url.substring(at);
    }

    /** Sets the user and password, of a user with the SYS_ADMIN global permission. */
    public Builder credentials(String username, Secret password) {
      this.username = Objects.requireNonNull(username, "username");
      this.password = Objects.requireNonNull(password, "password");
      if (username.isBlank()) {
        throw BbdiyException.configuration("bitbucket.user must not be empty");
      }
      return this;
    }

    /**
     * Trusts the certificates of a PEM bundle in addition to the JVM's, for Bitbucket behind a private CA.
     * Certificate verification cannot be turned off.
     */
    public Builder trustedCertificates(Path pemBundle) {
      this.trustedCertificates = Objects.requireNonNull(pemBundle, "pemBundle");
      return this;
    }

    /** Sets the connect timeout (default 10 s). */
    public Builder connectTimeout(Duration timeout) {
      this.connectTimeout = positive(timeout, "connectTimeout");
      return this;
    }

    /** Sets the timeout of one HTTP call (default 60 s). */
    public Builder callTimeout(Duration timeout) {
      this.callTimeout = positive(timeout, "callTimeout");
      return this;
    }

    /**
     * Sets how often a retried call is attempted (default 5) and the backoff between attempts (default 250 ms,
     * doubling, capped at 8 s).
     */
    public Builder retries(int maxAttempts, Duration initialBackoff, Duration maxBackoff) {
      if (maxAttempts < 1) {
        throw new IllegalArgumentException("maxAttempts must be at least 1");
      }
      this.maxAttempts = maxAttempts;
      this.initialBackoff = positive(initialBackoff, "initialBackoff");
      this.maxBackoff = positive(maxBackoff, "maxBackoff");
      return this;
    }

    /** Sets how long an unlock keeps being retried before giving up (default 2 minutes). */
    public Builder unlockRetryBudget(Duration budget) {
      this.unlockRetryBudget = positive(budget, "unlockRetryBudget");
      return this;
    }

    /** Sets the slowest poll interval of {@link #awaitDrained} (default 500 ms, as Bitbucket's own UI). */
    public Builder pollInterval(Duration interval) {
      this.pollInterval = positive(interval, "pollInterval");
      return this;
    }

    /** Sets the clock (tests). */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /** Returns the client. */
    public MaintenanceClient build() {
      return new MaintenanceClient(this);
    }

    private static Duration positive(Duration d, String name) {
      Objects.requireNonNull(d, name);
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(name + " must be positive");
      }
      return d;
    }
  }

}
