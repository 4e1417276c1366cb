package dev.bbdiy.core.internal;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.core.MaintenanceStatus;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The failures of the maintenance client: Bitbucket's refusals, answers it cannot read and I/O failures, each
 * mapped to a {@link dev.bbdiy.core.BitbucketException} whose error code says whether retrying can help and whose
 * message says what happened, to which Bitbucket, and what to do next. Every exception it returns is made by the
 * {@link Factory} the client passes in, so it is a {@code BitbucketException}.
 *
 * <p>Internal to bbdiy-core (public only because the client is in another package): no compatibility guarantees.
 */
public final class BitbucketFailures {
  private static final Pattern TITLE = Pattern.compile("<title>([^<]*)</title>", Pattern.CASE_INSENSITIVE);

  /** Makes a {@link dev.bbdiy.core.BitbucketException}, whose constructor only its own package can call. */
  @FunctionalInterface
  public interface Factory {
    /** Returns the exception; {@code status} is Bitbucket's HTTP status, or -1 if there was no answer. */
    BbdiyException create(ErrorCode code, String message, int status, @Nullable Throwable cause);
  }

  /** The calls, whose refusals mean different things: a 409 is "already locked" to a lock, "not yours" to an unlock. */
  public enum Call { LOCK, START, STATUS, PROGRESS, UNLOCK, CANCEL, READ }

  private final String baseUrl;
  private final @Nullable String username;
  private final Factory factory;

  /** Creates the failures of a client of {@code baseUrl} (shown without trailing slash) acting as {@code username}. */
  public BitbucketFailures(String baseUrl, @Nullable String username, Factory factory) {
    this.baseUrl = baseUrl;
    this.username = username;
    this.factory = factory;
  }

  /** Returns the failure of a call that Bitbucket answered with a status other than 2xx. */
  public BbdiyException failure(String what, Exchange ex, Call call) {
    String detail = errorText(ex);
    String prefix = "Bitbucket at " + baseUrl + " refused to " + what + ": ";
    if (ex.code() >= 300 && ex.code() < 400) {
      String location = ex.location() == null ? "" : ex.location();
      if (location.contains("/login")) {
        return factory.create(ErrorCode.BITBUCKET_AUTH, prefix + "it redirected to its login page."
            + " Check bitbucket.user and bitbucket.password.", ex.code(), null);
      }
      return factory.create(ErrorCode.BITBUCKET_PROTOCOL, prefix + "unexpected redirect (HTTP " + ex.code()
          + ") to " + location + ". Check bitbucket.url: scheme, host and context path must be the ones Bitbucket"
          + " serves.", ex.code(), null);
    }
    switch (ex.code()) {
      case 401:
        return factory.create(ErrorCode.BITBUCKET_AUTH, prefix + "the credentials of user '" + username
            + "' were rejected (HTTP 401). Check bitbucket.user and bitbucket.password.", ex.code(), null);
      case 403:
        return factory.create(ErrorCode.BITBUCKET_AUTH, prefix + "user '" + username
            + "' lacks the permission (HTTP 403). The backup user needs the SYS_ADMIN global permission.",
            ex.code(), null);
      case 404:
        return factory.create(ErrorCode.BITBUCKET_PROTOCOL, prefix + "not found (HTTP 404). Check that"
            + " bitbucket.url includes Bitbucket's context path, if it has one.", ex.code(), null);
      case 409:
        switch (call) {
          case LOCK:
            return factory.create(ErrorCode.BITBUCKET_BUSY, prefix + detail("already locked", detail)
                + ". Another backup or maintenance task holds the lock; wait for it, or if a bbdiy run was killed,"
                + " run 'bbdiy unlock --recover'.", ex.code(), null);
          case START:
            return factory.create(ErrorCode.BITBUCKET_BUSY, prefix + detail("other maintenance is in"
                + " progress", detail) + ". Wait for it to end, then retry.", ex.code(), null);
          case UNLOCK:
            return factory.create(ErrorCode.BITBUCKET_PROTOCOL, prefix + detail("the unlock token was"
                + " rejected", detail) + ". The lock is no longer the one this run took.", ex.code(), null);
          case CANCEL:
            return factory.create(ErrorCode.BITBUCKET_PROTOCOL, prefix + detail("the cancel token was"
                + " rejected", detail), ex.code(), null);
          default:
            return factory.create(ErrorCode.BITBUCKET_BUSY, prefix + detail("conflict", detail),
                ex.code(), null);
        }
      default:
        if (ex.code() >= 500) {
          return factory.create(ErrorCode.BITBUCKET_UNAVAILABLE, prefix + detail("HTTP " + ex.code() + " "
              + ex.message(), detail) + ". Bitbucket may be starting, overloaded or behind a failing proxy;"
              + " retry later.", ex.code(), null);
        }
        return factory.create(ErrorCode.BITBUCKET_PROTOCOL,
            prefix + detail("HTTP " + ex.code() + " " + ex.message(), detail), ex.code(), null);
    }
  }

  private static String detail(String fallback, @Nullable String detail) {
    return detail == null ? fallback : fallback + " (\"" + detail + "\")";
  }

  /** Extracts a human message from either error shape, an HTML title, or nothing. */
  private static @Nullable String errorText(Exchange ex) {
    String body = ex.body().trim();
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

  /** Returns the failure of a call that got no answer: no time left, no answer in time, no connection. */
  public BbdiyException unreachable(String what, IOException e) {
    if (e instanceof TimedOut) {
      TimedOut t = (TimedOut) e;
      if (t.nanos() == 0) {
        return factory.create(ErrorCode.BITBUCKET_UNAVAILABLE, "No time was left to " + what + " at "
            + baseUrl + ".", -1, e);
      }
      return factory.create(ErrorCode.BITBUCKET_UNAVAILABLE, "Bitbucket at " + baseUrl + " did not answer"
          + " within " + human(Duration.ofNanos(t.nanos())) + " when trying to " + what + t.limit()
          + ". It may be overloaded, or a proxy in front of it may hang.", -1, e);
    }
    String detail = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    String hint = e instanceof javax.net.ssl.SSLException
        ? " The TLS handshake failed: if Bitbucket uses a private CA, set bitbucket.ca-certificates to its PEM"
            + " bundle."
        : " Check bitbucket.url and that Bitbucket is running.";
    return factory.create(ErrorCode.BITBUCKET_UNAVAILABLE,
        "Cannot reach Bitbucket at " + baseUrl + " to " + what + ": " + detail + "." + hint, -1, e);
  }

  /**
   * Returns whether {@code failure} came from a TLS handshake or certificate problem that repeating cannot fix
   * (an untrusted or expired certificate, a host name mismatch, no common protocol), as opposed to a connection
   * dropped during the handshake.
   */
  public static boolean isPermanent(@Nullable Throwable failure) {
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
  public static boolean mayHaveArrived(IOException e) {
    return !(e instanceof java.net.ConnectException || e instanceof java.net.UnknownHostException
        || e instanceof java.net.NoRouteToHostException || isPermanent(e)
        || e instanceof TimedOut && ((TimedOut) e).nanos() == 0);
  }

  /** Returns the failure of an answer this client does not understand. */
  public BbdiyException protocol(String what, @Nullable String detail, int code) {
    return factory.create(ErrorCode.BITBUCKET_PROTOCOL,
        "Bitbucket at " + baseUrl + " gave an answer this client does not understand when trying to " + what
            + ": " + detail, code, null);
  }

  // ---------------------------------------------------------------------------------------------------------
  // The lock, unlock and drain failures, which say how to find out whether Bitbucket is locked

  /** Bitbucket accepted the lock but its answer (HTTP {@code code}) has no usable unlock token. */
  public BbdiyException lockedWithoutToken(IllegalArgumentException e, int code) {
    // We may hold a lock we cannot release: say so, do not pretend nothing happened.
    return factory.create(ErrorCode.LEFT_LOCKED,
        "Bitbucket accepted the lock request but its answer has no unlock token (" + e.getMessage()
            + "). Bitbucket may now be locked with a token we never received: open " + baseUrl
            + "/admin and check the maintenance state; restarting Bitbucket releases a lost lock.",
        code, e);
  }

  /** The lock request failed without a usable answer ({@code last}), and Bitbucket now reports MAINTENANCE. */
  public BbdiyException lockOutcomeUnknownButLocked(@Nullable BbdiyException last, int code) {
    return factory.create(ErrorCode.LEFT_LOCKED,
        "The lock request to " + baseUrl + " failed without a usable answer (" + messageOf(last)
            + "), and Bitbucket now reports MAINTENANCE: it may be locked by this request, whose unlock token"
            + " was lost, or by someone else. Check " + baseUrl + "/admin before retrying; if no one else"
            + " is running a backup, restarting Bitbucket releases the lock.",
        code, last);
  }

  /** The lock request may have arrived but got no answer ({@code last}), and Bitbucket's state is unknown. */
  public BbdiyException lockUnanswered(@Nullable BbdiyException last) {
    return factory.create(ErrorCode.LEFT_LOCKED,
        "The lock request to " + baseUrl + " got no answer (" + messageOf(last) + "), and Bitbucket's state"
            + " cannot be read either: it may now be locked by this request, whose unlock token was lost. Check "
            + baseUrl + "/admin (or 'bbdiy status') once it answers; if it is locked and no one else is"
            + " running a backup, restarting Bitbucket releases the lock.",
        -1, last);
  }

  /** Bitbucket is locked, and refuses this token: someone else's lock, which no retry with this token releases. */
  public BbdiyException notThisLock(Exchange ex) {
    String detail = errorText(ex);
    return factory.create(ErrorCode.LEFT_LOCKED, "Bitbucket at " + baseUrl + " is locked for"
        + " maintenance, but not with this unlock token: it " + (detail == null ? "refused it (HTTP " + ex.code()
        + ")" : "answered \"" + detail + "\"") + ". The current lock was taken by another run or another"
        + " administrator (or again, after this token's lock ended), and only its own token releases it. Check with"
        + " 'bbdiy status' whether a bbdiy run on this machine left it; if a killed bbdiy backup did, run 'bbdiy"
        + " unlock --recover' on the machine that ran it (its state file holds the token). Otherwise see who is"
        + " doing maintenance in " + baseUrl + "/admin; if no one is, restarting Bitbucket releases the lock.",
        ex.code(), null);
  }

  /** The unlock with {@code token} failed ({@code why}): the message gives the commands that unlock Bitbucket. */
  public BbdiyException leftLocked(String token, @Nullable String why, @Nullable Throwable cause) {
    return factory.create(ErrorCode.LEFT_LOCKED,
        "Bitbucket at " + baseUrl + " may still be locked: the unlock failed (" + why + "). Unlock it with:\n"
            + "  " + unlockCommand(baseUrl, username, token) + "\n"
            + "or: bbdiy unlock --token " + token,
        -1, cause);
  }

  /** See {@link dev.bbdiy.core.MaintenanceClient#unlockCommand(String, String, String)}. */
  public static String unlockCommand(String baseUrl, @Nullable String user, String token) {
    String url = baseUrl.replaceAll("/+$", "") + "/mvc/maintenance/lock?token=" + token;
    return "curl -f -u " + shellQuote(user == null ? "<admin user>" : user) + " -X DELETE -H "
        + shellQuote(BitbucketHttp.TOKEN_HEADER + ": " + token) + " -H 'Accept: application/json' "
        + shellQuote(url);
  }

  private static String shellQuote(String s) {
    return "'" + s.replace("'", "'\\''") + "'";
  }

  /** Bitbucket's backup task left RUNNING before the latches drained. */
  public BbdiyException taskEnded(MaintenanceStatus.Task task) {
    return factory.create(ErrorCode.BACKUP_TASK_FAILED,
        "Bitbucket's backup task ended as " + task.rawState() + " before draining"
            + (task.message().isEmpty() ? "" : ": " + task.message())
            + ". Long-running git operations or database connections may have kept it from draining in time;"
            + " see Bitbucket's log (atlassian-bitbucket.log) and retry later.",
        -1, null);
  }

  /** Bitbucket did not drain within {@code timeout}; {@code status} is the last status read. */
  public BbdiyException drainTimeout(Duration timeout, MaintenanceStatus status) {
    return factory.create(ErrorCode.DRAIN_TIMEOUT,
        "Bitbucket did not drain within " + human(timeout) + " (database " + show(status.rawDb())
            + ", git " + show(status.rawScm()) + "). Long-running git operations or database"
            + " connections hold it; retry at a quieter time or raise bitbucket.drain-timeout.",
        -1, null);
  }

  /** Bitbucket did not drain within {@code timeout}: the last status read got no usable answer in time. */
  public BbdiyException drainUnanswered(Duration timeout, BbdiyException e) {
    return factory.create(ErrorCode.DRAIN_TIMEOUT,
        "Bitbucket did not drain within " + human(timeout) + ": the last status read got no usable answer in"
            + " time (" + e.getMessage() + "). Bitbucket may be overloaded; retry at a quieter time.",
        -1, e);
  }

  /** Returns the message of {@code t}, or "no answer" if there is no failure to tell of. */
  public static String messageOf(@Nullable Throwable t) {
    return t == null ? "no answer" : String.valueOf(t.getMessage());
  }

  /** Returns {@code d} as messages show it: whole seconds as {@code 5s}, anything else in milliseconds. */
  static String human(Duration d) {
    return d.toMillis() % 1000 == 0 ? d.toSeconds() + "s" : d.toMillis() + "ms";
  }

  private static String show(String raw) {
    return raw.isEmpty() ? "not reported" : raw;
  }
}
