package dev.bbdiy.core.internal;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.CancellationSignal;
import dev.bbdiy.api.spi.Secret;
import dev.bbdiy.core.MaintenanceClient;
import dev.bbdiy.core.Version;
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
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
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
 * The HTTP exchange of the {@link MaintenanceClient} with Bitbucket: its requests (credentials, headers, the
 * maintenance token), one attempt that ends by a {@link Deadline} or the call timeout, retries with capped
 * exponential backoff, pauses that a cancellation cuts short, and the abort of a call in flight when that
 * cancellation fires. Redirects are never followed and certificates always verified. Failures are the {@link
 * BitbucketFailures} of the client.
 *
 * <p>Immutable and thread-safe; {@link #abortingOn} returns a view that shares the connections.
 *
 * <p>Internal to bbdiy-core (public only because the client is in another package): no compatibility guarantees.
 */
public final class BitbucketHttp {
  /** The header that carries the maintenance lock's unlock token. */
  public static final String TOKEN_HEADER = "X-Atlassian-Maintenance-Token";
  // Under the client's name: the one users turn on to see its requests.
  private static final Logger LOG = LoggerFactory.getLogger(MaintenanceClient.class);
  private static final MediaType JSON = MediaType.get("application/json");
  /** The timeout of the {@code /status} check that decides whether an unanswered lock or unlock took effect. */
  private static final Duration HEALTH_TIMEOUT = Duration.ofSeconds(5);

  private final HttpUrl baseUrl;
  private final @Nullable String username;
  private final @Nullable Secret password;
  private final Duration callTimeout;
  private final int maxAttempts;
  private final Duration initialBackoff;
  private final Duration maxBackoff;
  private final OkHttpClient http;
  private final BitbucketFailures failures;
  /** Aborts the abortable calls of this view in flight; {@code null} if nothing does. */
  private final @Nullable CancellationSignal abortOn;

  /**
   * Creates the exchange with the Bitbucket at {@code baseUrl} (as {@link #parseBaseUrl} returns it), its failures
   * made by {@code exceptions}.
   *
   * @throws BbdiyException {@link ErrorCode#CONFIGURATION} if {@code trustedCertificates} cannot be read
   */
  public BitbucketHttp(HttpUrl baseUrl, @Nullable String username, @Nullable Secret password,
      @Nullable Path trustedCertificates, Duration connectTimeout, Duration callTimeout, int maxAttempts,
      Duration initialBackoff, Duration maxBackoff, BitbucketFailures.Factory exceptions) {
    this.baseUrl = baseUrl;
    this.username = username;
    this.password = password;
    this.callTimeout = callTimeout;
    this.maxAttempts = maxAttempts;
    this.initialBackoff = initialBackoff;
    this.maxBackoff = maxBackoff;
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
    this.failures = new BitbucketFailures(withoutTrailingSlash(baseUrl), username, exceptions);
    this.abortOn = null;
  }

  private BitbucketHttp(BitbucketHttp base, CancellationSignal abortOn) {
    this.baseUrl = base.baseUrl;
    this.username = base.username;
    this.password = base.password;
    this.callTimeout = base.callTimeout;
    this.maxAttempts = base.maxAttempts;
    this.initialBackoff = base.initialBackoff;
    this.maxBackoff = base.maxBackoff;
    this.http = base.http;
    this.failures = base.failures;
    this.abortOn = abortOn;
  }

  /** Returns a view of this exchange whose abortable calls and pauses end at once when {@code abortOn} fires. */
  public BitbucketHttp abortingOn(CancellationSignal abortOn) {
    return new BitbucketHttp(this, abortOn);
  }

  /** Returns the failures of this exchange, which name its base URL and user. */
  public BitbucketFailures failures() {
    return failures;
  }

  // ---------------------------------------------------------------------------------------------------------
  // The base URL and the requests

  /**
   * Returns {@code baseUrl} parsed and checked as the value of {@code bitbucket.url}, without trailing slashes.
   *
   * @throws BbdiyException {@link ErrorCode#CONFIGURATION} for a URL that is not http(s), has a user name or
   *     password (never shown), a query or a fragment
   */
  public static HttpUrl parseBaseUrl(String baseUrl) {
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
    return parsed.newBuilder().encodedPath(path.isEmpty() ? "/" : path).build();
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

  /** Returns {@code url} as messages show a base URL: without trailing slash. */
  public static String withoutTrailingSlash(HttpUrl url) {
    String s = url.toString();
    return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
  }

  /** Returns the URL of {@code path} (segments separated by {@code /}) below the base URL. */
  public HttpUrl url(String path) {
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

  /** Returns an authenticated POST of {@code json} (an empty body if {@code null}). */
  public Request post(HttpUrl url, @Nullable String json) {
    RequestBody body = RequestBody.create(json == null ? "" : json, JSON);
    return authenticated(new Request.Builder().url(url).post(body)).build();
  }

  /** Returns an authenticated GET. */
  public Request get(HttpUrl url) {
    return authenticated(new Request.Builder().url(url).get()).build();
  }

  /** Returns an authenticated DELETE. */
  public Request delete(HttpUrl url) {
    return authenticated(new Request.Builder().url(url).delete()).build();
  }

  /** Returns {@code request} without credentials, for the calls that need none. */
  public static Request anonymous(Request request) {
    return request.newBuilder().removeHeader("Authorization").build();
  }

  /** Returns {@code request} with the maintenance lock's unlock token in its header. */
  public static Request withToken(Request request, String unlockToken) {
    return request.newBuilder().header(TOKEN_HEADER, unlockToken).build();
  }

  /**
   * Checks that there are credentials to {@code what}.
   *
   * @throws BbdiyException {@link ErrorCode#CONFIGURATION} if there are none
   */
  public void requireCredentials(String what) {
    if (username == null || password == null) {
      throw BbdiyException.configuration(
          "Cannot " + what + " without credentials: set bitbucket.user and bitbucket.password (or"
              + " bitbucket.password.file) to a user with the SYS_ADMIN permission");
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Attempts, retries and pauses

  /**
   * Makes one attempt, ending by {@code deadline} or the call timeout, whichever comes first; aborted when the
   * view's cancellation fires if {@code abortable}.
   *
   * @throws TimedOut if there was no time left, or no answer in time
   * @throws InterruptedIOException if the thread is interrupted or the call aborted
   * @throws IOException if there was no answer
   */
  public Exchange execute(Request request, Deadline deadline, boolean abortable) throws IOException {
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

  private static String readLimited(InputStream in) throws IOException {
    byte[] bytes = in.readNBytes(1 << 20);
    return new String(bytes, StandardCharsets.UTF_8);
  }

  /** Makes one abortable attempt to {@code what}: for the calls that must not be repeated. */
  public Exchange once(String what, Request request, Deadline deadline) {
    try {
      return execute(request, deadline, true);
    } catch (IOException e) {
      throwIfAborted(what, e);
      throw failures.unreachable(what, e);
    }
  }

  /**
   * Makes abortable attempts to {@code what} until one gets an answer below 500, up to the retry limit and while
   * the next attempt fits before {@code deadline}, and returns the last answer. TLS handshake and certificate
   * failures are not retried.
   *
   * @throws BbdiyException the failure of the last attempt if none got an answer; {@link ErrorCode#INTERRUPTED}
   *     if the thread is interrupted or the view's cancellation fires
   */
  public Exchange retried(String what, Request request, Deadline deadline) {
    BbdiyException last = null;
    for (int attempt = 1; attempt <= maxAttempts; attempt++) {
      try {
        Exchange ex = execute(request, deadline, true);
        if (ex.code() < 500) {
          return ex;
        }
        last = failures.failure(what, ex, BitbucketFailures.Call.READ);
        if (attempt == maxAttempts || !deadline.allowsAttemptAfter(backoff(attempt))) {
          return ex;
        }
      } catch (InterruptedIOException e) {
        throwIfAborted(what, e);
        if (Thread.currentThread().isInterrupted()) {
          throw new BbdiyException(ErrorCode.INTERRUPTED, "Interrupted while trying to " + what, e);
        }
        last = failures.unreachable(what, e);
      } catch (IOException e) {
        throwIfAborted(what, e);
        last = failures.unreachable(what, e);
        if (BitbucketFailures.isPermanent(last)) {
          throw last;
        }
      }
      if (attempt < maxAttempts) {
        Duration pause = backoff(attempt);
        if (!deadline.allowsAttemptAfter(pause)) {
          break;
        }
        LOG.debug("Retrying to {} after: {}", what, BitbucketFailures.messageOf(last));
        pause(pause, what);
      }
    }
    throw Objects.requireNonNull(last);
  }

  private boolean aborted(boolean abortable) {
    return abortable && abortOn != null && abortOn.isCancelled();
  }

  /**
   * Fails if this view's cancellation has fired.
   *
   * @throws BbdiyException {@link ErrorCode#INTERRUPTED}, saying it stopped trying to {@code what} and why
   */
  public void throwIfAborted(String what, @Nullable Throwable cause) {
    CancellationSignal signal = abortOn;
    if (signal != null && signal.isCancelled()) {
      throw new BbdiyException(ErrorCode.INTERRUPTED, "Stopped trying to " + what + ": " + signal.reason(), cause);
    }
  }

  /**
   * Waits between attempts to {@code what}; on a view, wakes up as soon as the cancellation fires, and then fails.
   *
   * @throws BbdiyException {@link ErrorCode#INTERRUPTED} if interrupted or cancelled
   */
  public void pause(Duration d, String what) {
    CancellationSignal signal = abortOn;
    if (signal == null) {
      sleep(d);
      return;
    }
    CountDownLatch woken = new CountDownLatch(1);
    try (CancellationSignal.Registration ignored = signal.onCancel(woken::countDown)) {
      woken.await(Math.max(0, d.toNanos()), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      throw interrupted(e);
    }
    throwIfAborted(what, null);
  }

  /**
   * Waits {@code d}, whatever cancellation fires: for the unlock, which no cancellation stops.
   *
   * @throws BbdiyException {@link ErrorCode#INTERRUPTED} if the thread is interrupted
   */
  public static void sleep(Duration d) {
    try {
      Thread.sleep(Math.max(0, d.toMillis()));
    } catch (InterruptedException e) {
      throw interrupted(e);
    }
  }

  private static BbdiyException interrupted(InterruptedException e) {
    Thread.currentThread().interrupt();
    return new BbdiyException(ErrorCode.INTERRUPTED, "Interrupted while waiting for Bitbucket", e);
  }

  /** Returns the pause before the attempt after {@code attempt}: the initial backoff, doubling, capped. */
  public Duration backoff(int attempt) {
    long millis = initialBackoff.toMillis() << Math.min(attempt - 1, 20);
    return Duration.ofMillis(Math.min(millis, maxBackoff.toMillis()));
  }

  /**
   * Returns Bitbucket's state, or {@code null} if it cannot be read: what decides whether an unanswered lock or
   * unlock took effect, so it is asked even when the view's time is up, with a short timeout of its own.
   */
  public @Nullable String healthOrNull() {
    try {
      Exchange ex = execute(anonymous(get(url("status"))), Deadline.in(HEALTH_TIMEOUT), false);
      return JsonObject.parse(ex.body(), "/status").string("state");
    } catch (IOException | IllegalArgumentException e) {
      return null;
    }
  }

  private static String redact(HttpUrl url) {
    HttpUrl.Builder b = url.newBuilder();
    if (url.queryParameter("token") != null) {
      b.setQueryParameter("token", "******");
    }
    return b.build().toString();
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
}
