package dev.bbdiy.core.internal;

import dev.bbdiy.core.ApplicationProperties;
import dev.bbdiy.core.ExternalBackup;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Reads Bitbucket's JSON answers into the maintenance client's values. An answer that is not what the protocol
 * says is a {@link BitbucketFailures#protocol} failure naming what is wrong with it, never a half-filled value. The
 * client reads the maintenance status itself: its latch and task states are parsed in its own package.
 *
 * <p>Internal to bbdiy-core (public only because the client is in another package): no compatibility guarantees.
 */
public final class BitbucketAnswers {
  private final BitbucketFailures failures;

  /** Creates the reader of the answers whose failures are {@code failures}. */
  public BitbucketAnswers(BitbucketFailures failures) {
    this.failures = failures;
  }

  /** A lock Bitbucket granted: the token that releases it and who holds it. */
  public record Lock(String unlockToken, String owner) {}

  /**
   * Reads the answer to a lock request Bitbucket accepted; the owner is {@code fallbackOwner} if it does not say.
   *
   * @throws dev.bbdiy.api.BbdiyException {@link dev.bbdiy.api.ErrorCode#LEFT_LOCKED} if it has no unlock token
   */
  public Lock lock(Exchange ex, String fallbackOwner) {
    try {
      JsonObject body = JsonObject.parse(ex.body(), "the lock response");
      String token = body.string("unlockToken");
      String owner = body.optObject("owner")
          .flatMap(o -> o.optString("displayName").or(() -> o.optString("name")))
          .orElse(fallbackOwner);
      return new Lock(token, owner);
    } catch (IllegalArgumentException e) {
      throw failures.lockedWithoutToken(e, ex.code());
    }
  }

  /** Reads the answer to the start of an external backup. */
  public ExternalBackup externalBackup(Exchange ex) {
    JsonObject body = parseBody(ex, "the backup response");
    try {
      return new ExternalBackup(body.optString("id").orElse(null), body.string("cancelToken"));
    } catch (IllegalArgumentException e) {
      throw failures.protocol("start the external backup", e.getMessage(), ex.code());
    }
  }

  /** Reads Bitbucket's version. */
  public ApplicationProperties applicationProperties(Exchange ex) {
    JsonObject body = parseBody(ex, "the application properties");
    try {
      return new ApplicationProperties(body.string("version"), body.optString("buildNumber").orElse(""),
          body.optString("displayName").orElse("Bitbucket"));
    } catch (IllegalArgumentException e) {
      throw failures.protocol("read the application properties", e.getMessage(), ex.code());
    }
  }

  /** Reads Bitbucket's state from the answer of {@code /status}, whatever its HTTP status. */
  public String state(Exchange ex) {
    try {
      return JsonObject.parse(ex.body(), "/status").string("state");
    } catch (IllegalArgumentException e) {
      throw failures.protocol("read /status", "HTTP " + ex.code() + ", " + e.getMessage(), ex.code());
    }
  }

  /** Reads the global permission of {@code username} from a page of user permissions; {@code null} if none. */
  public @Nullable String permission(Exchange ex, @Nullable String username) {
    String permission = null;
    try {
      for (Object value : JsonObject.parse(ex.body(), "the permissions response").array("values")) {
        if (value instanceof Map) {
          @SuppressWarnings("unchecked")
          Map<String, Object> entry = (Map<String, Object>) value;
          Object user = entry.get("user");
          Object name = user instanceof Map ? ((Map<?, ?>) user).get("name") : null;
          if (username != null && username.equalsIgnoreCase(String.valueOf(name))) {
            permission = String.valueOf(entry.get("permission"));
          }
        }
      }
    } catch (IllegalArgumentException e) {
      throw failures.protocol("check the credentials", e.getMessage(), ex.code());
    }
    return permission;
  }

  /** Returns the body of {@code ex} as a JSON object, or throws the failure of an answer that is not one. */
  public JsonObject parseBody(Exchange ex, String what) {
    try {
      return JsonObject.parse(ex.body(), what);
    } catch (IllegalArgumentException e) {
      throw failures.protocol("read " + what, e.getMessage() + " (HTTP " + ex.code() + ")", ex.code());
    }
  }
}
