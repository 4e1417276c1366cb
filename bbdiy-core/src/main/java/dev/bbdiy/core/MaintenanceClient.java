package dev.bbdiy.core;

import static dev.bbdiy.core.internal.BitbucketFailures.isPermanent;
import static dev.bbdiy.core.internal.BitbucketFailures.mayHaveArrived;
import static dev.bbdiy.core.internal.BitbucketFailures.messageOf;
import static dev.bbdiy.core.internal.BitbucketHttp.anonymous;
import static dev.bbdiy.core.internal.BitbucketHttp.withToken;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.CancellationSignal;
import dev.bbdiy.api.spi.Secret;
import dev.bbdiy.core.internal.BitbucketAnswers;
import dev.bbdiy.core.internal.BitbucketFailures;
import dev.bbdiy.core.internal.BitbucketFailures.Call;
import dev.bbdiy.core.internal.BitbucketHttp;
import dev.bbdiy.core.internal.Deadline;
import dev.bbdiy.core.internal.Exchange;
import dev.bbdiy.core.internal.JsonObject;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import okhttp3.HttpUrl;
import okhttp3.Request;
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
  private static final Duration FAST_POLL = Duration.ofMillis(25);
  private static final Duration FAST_POLL_PERIOD = Duration.ofSeconds(2);
  /** The most a progress report may take, retries included: it is best effort and made while locked. */
  private static final Duration PROGRESS_BUDGET = Duration.ofSeconds(2);

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
  /** The requests, attempts, retries and pauses; on a view, aborted by its cancellation. */
  private final BitbucketHttp http;
  /** The exceptions this client throws, with their messages. */
  private final BitbucketFailures failures;
  /** Reads Bitbucket's answers into this client's values. */
  private final BitbucketAnswers answers;
  /** When every call of this view must have ended; {@link Deadline#NONE} for the unlimited client. */
  private final Deadline limit;

  private MaintenanceClient(Builder b) {
    this(b, new BitbucketHttp(b.baseUrl, b.username, b.password, b.trustedCertificates, b.connectTimeout,
        b.callTimeout, b.maxAttempts, b.initialBackoff, b.maxBackoff, BitbucketException::new), Deadline.NONE);
  }

  private MaintenanceClient(Builder b, BitbucketHttp http, Deadline limit) {
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
    this.http = http;
    this.failures = http.failures();
    this.answers = new BitbucketAnswers(failures);
    this.limit = limit;
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
    return new MaintenanceClient(newBuilder(), http.abortingOn(abortOn), Deadline.in(budget));
  }

  /**
   * Returns {@code baseUrl} as a client of it would show it (without trailing slash), after the checks {@link
   * #builder} makes: for whoever shows the URL before a client exists.
   *
   * @throws BbdiyException {@link ErrorCode#CONFIGURATION} for a URL a client refuses, such as one with a user name
   *     or password in it; the message never shows them
   */
  public static String checkedBaseUrl(String baseUrl) {
    return BitbucketHttp.withoutTrailingSlash(new Builder(baseUrl).baseUrl);
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
    return BitbucketHttp.withoutTrailingSlash(baseUrl);
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
    http.requireCredentials("lock");
    Instant requestedAt = clock.instant();
    BbdiyException last = null;
    for (int attempt = 1; attempt <= maxAttempts; attempt++) {
      Request request = http.post(http.url("mvc/maintenance/lock"), null);
      Exchange ex;
      boolean unanswered = false;
      try {
        ex = http.execute(request, limit, true);
      } catch (IOException e) {
        last = failures.unreachable("lock", e);
        ex = null;
        unanswered = mayHaveArrived(e);
      }
      if (ex != null && ex.success()) {
        BitbucketAnswers.Lock granted = answers.lock(ex, username == null ? "unknown" : username);
        LOG.debug("Locked {} as {}", baseUrl(), granted.owner());
        return new MaintenanceLock(this, granted.unlockToken(), granted.owner(), requestedAt, clock.instant());
      }
      if (ex != null && ex.code() < 500) {
        throw failures.failure("lock Bitbucket for maintenance", ex, Call.LOCK);
      }
      if (ex != null) {
        last = failures.failure("lock Bitbucket for maintenance", ex, Call.LOCK);
      }
      // Outcome unknown: find out before doing anything else.
      String state = http.healthOrNull();
      if ("MAINTENANCE".equals(state)) {
        throw failures.lockOutcomeUnknownButLocked(last, ex == null ? -1 : ex.code());
      }
      if (state == null && unanswered) {
        // A request sent but never answered may have locked Bitbucket: saying "unavailable" would leave it
        // locked with no one told to look.
        throw failures.lockUnanswered(last);
      }
      http.throwIfAborted("lock Bitbucket", last);
      if (state == null || attempt == maxAttempts || isPermanent(last)
          || !limit.allowsAttemptAfter(http.backoff(attempt))) {
        break;
      }
      http.pause(http.backoff(attempt), "lock Bitbucket");
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
    http.requireCredentials("start an external backup");
    HttpUrl url = http.url("mvc/admin/backups").newBuilder().addQueryParameter("external", "true").build();
    // Not idempotent: a second start would be refused as "other maintenance in progress".
    Exchange ex = http.once("start the external backup", withToken(http.post(url, "{}"), lock.unlockToken()), limit);
    if (!ex.success()) {
      throw failures.failure("start the external backup", ex, Call.START);
    }
    return answers.externalBackup(ex);
  }

  /** Returns the maintenance status ({@code GET /mvc/maintenance}). Retried on transient failures. */
  public MaintenanceStatus status(MaintenanceLock lock) {
    return status(lock, limit);
  }

  private MaintenanceStatus status(MaintenanceLock lock, Deadline deadline) {
    Request request = withToken(http.get(http.url("mvc/maintenance")), lock.unlockToken());
    Exchange ex = http.retried("read the maintenance status", request, deadline);
    if (ex.code() == 404) {
      return MaintenanceStatus.none();
    }
    if (!ex.success()) {
      throw failures.failure("read the maintenance status", ex, Call.STATUS);
    }
    JsonObject body = answers.parseBody(ex, "the maintenance status");
    MaintenanceStatus.Task task = body.optObject("task").map(MaintenanceClient::task).orElse(null);
    String db = body.optString("db-state").orElse("");
    String scm = body.optString("scm-state").orElse("");
    return new MaintenanceStatus(task, LatchState.parse(db), LatchState.parse(scm), db, scm);
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
      if (last != null && !drain.allowsAttempt()) {
        throw failures.drainTimeout(timeout, last);
      }
      MaintenanceStatus status;
      try {
        status = status(lock, polls);
      } catch (BbdiyException e) {
        if (!drain.allowsAttempt() && e.code() == ErrorCode.BITBUCKET_UNAVAILABLE) {
          throw failures.drainUnanswered(timeout, e);
        }
        throw e;
      }
      last = status;
      onStatus.accept(status);
      MaintenanceStatus.Task task = status.task();
      if (task != null && task.state() != TaskState.RUNNING) {
        throw failures.taskEnded(task);
      }
      if (status.drained()) {
        return status;
      }
      http.pause(Duration.ofNanos(Math.max(0, Math.min(TimeUnit.MILLISECONDS.toNanos(delay), polls.nanosLeft()))),
          "wait for Bitbucket to drain");
      if (System.nanoTime() - start > FAST_POLL_PERIOD.toNanos()) {
        delay = Math.min(pollInterval.toMillis(), Math.max(delay + 1, delay * 3 / 2));
      }
    }
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
    HttpUrl url = http.url("mvc/admin/backups/progress/client").newBuilder()
        .addQueryParameter("token", lock.unlockToken())
        .addQueryParameter("percentage", Integer.toString(percentage))
        .build();
    Deadline budget = Deadline.in(PROGRESS_BUDGET).min(limit.fraction(4));
    Exchange ex = http.retried("report progress " + percentage + "%",
        withToken(http.post(url, null), lock.unlockToken()), budget);
    if (!ex.success()) {
      throw failures.failure("report progress " + percentage + "%", ex, Call.PROGRESS);
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
    HttpUrl url = http.url("mvc/maintenance/lock").newBuilder()
        .addQueryParameter("token", lock.unlockToken())
        .build();
    Request request = withToken(http.delete(url), lock.unlockToken());
    Deadline giveUp = Deadline.in(unlockRetryBudget);
    BbdiyException last = null;
    for (int attempt = 1; ; attempt++) {
      try {
        Exchange ex = http.execute(request, giveUp, false);
        if (ex.success()) {
          lock.markReleased();
          LOG.debug("Unlocked {}", baseUrl());
          return;
        }
        if (ex.code() < 500) {
          // Refused: either an earlier attempt whose answer was lost already unlocked, or the lock is no longer
          // ours. Only Bitbucket's state tells whether it is still locked.
          if (!"MAINTENANCE".equals(http.healthOrNull())) {
            lock.markReleased();
            return;
          }
          if (ex.code() == 409) {
            throw failures.notThisLock(ex);
          }
          throw failures.leftLocked(lock.unlockToken(), failures.failure("unlock", ex, Call.UNLOCK).getMessage(), null);
        }
        last = failures.failure("unlock", ex, Call.UNLOCK);
      } catch (IOException e) {
        last = failures.unreachable("unlock", e);
        if (isPermanent(last)) {
          throw failures.leftLocked(lock.unlockToken(), last.getMessage(), last);
        }
      }
      Duration pause = http.backoff(attempt);
      if (!giveUp.allowsAttemptAfter(pause)) {
        // Out of budget. An attempt whose answer never came may have unlocked all the same: ask before saying
        // Bitbucket may be locked.
        if ("RUNNING".equals(http.healthOrNull())) {
          lock.markReleased();
          LOG.debug("Unlock of {} unanswered, but Bitbucket is running again", baseUrl());
          return;
        }
        throw failures.leftLocked(lock.unlockToken(), messageOf(last), last);
      }
      try {
        BitbucketHttp.sleep(pause);
      } catch (BbdiyException interrupted) {
        throw failures.leftLocked(lock.unlockToken(), "interrupted while retrying", interrupted);
      }
    }
  }

  /**
   * Cancels an external backup ({@code POST /mvc/maintenance?token=<cancelToken>}). The task becomes CANCELED
   * and the latches are released; Bitbucket stays locked until {@link #unlock}.
   */
  public void cancel(ExternalBackup backup) {
    HttpUrl url = http.url("mvc/maintenance").newBuilder().addQueryParameter("token", backup.cancelToken()).build();
    Exchange ex = http.retried("cancel the backup task", http.post(url, null), limit);
    if (!ex.success()) {
      throw failures.failure("cancel the backup task", ex, Call.CANCEL);
    }
  }

  /** Returns Bitbucket's version ({@code GET /rest/api/1.0/application-properties}, no login needed). */
  public ApplicationProperties applicationProperties() {
    Exchange ex = http.retried("read the application properties",
        anonymous(http.get(http.url("rest/api/1.0/application-properties"))), limit);
    if (!ex.success()) {
      throw failures.failure("read the application properties", ex, Call.READ);
    }
    return answers.applicationProperties(ex);
  }

  /**
   * Returns Bitbucket's state from {@code GET /status}: {@code RUNNING}, {@code MAINTENANCE}, {@code STARTING}...
   */
  public String health() {
    Exchange ex = http.retried("read /status", anonymous(http.get(http.url("status"))), limit);
    return answers.state(ex);
  }

  /**
   * Makes an authenticated call that locks nothing, to check the credentials before a backup starts ({@code GET
   * /rest/api/1.0/admin/permissions/users?filter=<user>}).
   *
   * @throws BitbucketException {@link ErrorCode#BITBUCKET_AUTH} if the credentials are rejected or the user is
   *     not an administrator
   */
  public CredentialCheck checkCredentials() {
    http.requireCredentials("check the credentials");
    HttpUrl url = http.url("rest/api/1.0/admin/permissions/users").newBuilder()
        .addQueryParameter("filter", username).build();
    Exchange ex = http.retried("check the credentials", http.get(url), limit);
    if (!ex.success()) {
      throw failures.failure("check the credentials", ex, Call.READ);
    }
    return new CredentialCheck(Objects.requireNonNull(username), answers.permission(ex, username));
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
    return BitbucketFailures.unlockCommand(baseUrl, user, token);
  }

  @Override
  public String toString() {
    return "MaintenanceClient[" + baseUrl() + ", user=" + username + "]";
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
      this.baseUrl = BitbucketHttp.parseBaseUrl(baseUrl);
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
