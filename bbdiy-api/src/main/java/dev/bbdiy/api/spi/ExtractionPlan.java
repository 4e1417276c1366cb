package dev.bbdiy.api.spi;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Where each part of a backup goes on restore: {@code bitbucket-home} to the target home, each data store to its
 * target, {@code bitbucket-db} to a temporary directory. Entries outside every mapped prefix are skipped.
 *
 * <p>{@link #resolve} is also the safety check every archiver must apply: it rejects absolute names and
 * {@code ..} components, so no entry can be written outside its target. Archivers must additionally never
 * follow a symbolic link when writing (an archive may contain a link and then an entry below it).
 */
public final class ExtractionPlan {
  private final Map<String, Path> targets;

  private ExtractionPlan(Map<String, Path> targets) {
    this.targets = Map.copyOf(targets);
  }

  /** Returns a new builder. */
  public static Builder builder() {
    return new Builder();
  }

  /** Returns the mapped prefixes and their target directories. */
  public Map<String, Path> targets() {
    return targets;
  }

  /**
   * Returns where an archive entry goes, or {@code null} if it is not restored.
   *
   * @param entryName the name in the archive, e.g. {@code ./bitbucket-home/shared/bitbucket.properties}
   * @throws BbdiyException with {@link ErrorCode#VERIFICATION_FAILED} for an absolute name or a {@code ..}
   *     component: the archive is malicious or damaged
   */
  public @Nullable Path resolve(String entryName) {
    String name = normalize(entryName);
    String bestPrefix = null;
    for (String prefix : targets.keySet()) {
      if ((name.equals(prefix) || name.startsWith(prefix + "/"))
          && (bestPrefix == null || prefix.length() > bestPrefix.length())) {
        bestPrefix = prefix;
      }
    }
    if (bestPrefix == null) {
      return null;
    }
    Path target = targets.get(bestPrefix);
    String rest = name.length() == bestPrefix.length() ? "" : name.substring(bestPrefix.length() + 1);
    return rest.isEmpty() ? target : target.resolve(rest);
  }

  /**
   * Returns an entry name without leading {@code ./} or trailing {@code /}, after checking it is relative and
   * free of {@code ..}.
   */
  public static String normalize(String entryName) {
    String name = entryName;
    while (name.startsWith("./")) {
      name = name.substring(2);
    }
    while (name.endsWith("/")) {
      name = name.substring(0, name.length() - 1);
    }
    if (name.equals(".")) {
      return "";
    }
    if (name.startsWith("/") || name.indexOf('\0') >= 0 || name.indexOf('\\') >= 0 || name.matches("^[A-Za-z]:.*")) {
      throw unsafe(entryName);
    }
    for (String part : name.split("/", -1)) {
      if (part.equals("..") || (part.isEmpty() && !name.isEmpty())) {
        throw unsafe(entryName);
      }
    }
    return name;
  }

  private static BbdiyException unsafe(String entryName) {
    return new BbdiyException(
        ErrorCode.VERIFICATION_FAILED,
        "The archive contains an unsafe entry name '" + entryName
            + "' (absolute, '..' or empty component); refusing to extract it. The archive is damaged or was"
            + " not made by a backup tool");
  }

  /** Builds an {@link ExtractionPlan}. */
  public static final class Builder {
    private final Map<String, Path> targets = new LinkedHashMap<>();

    private Builder() {}

    /** Sends entries under {@code prefix} (a relative path such as {@code bitbucket-home}) to {@code target}. */
    public Builder map(String prefix, Path target) {
      Objects.requireNonNull(target, "target");
      String p = normalize(prefix);
      if (p.isEmpty()) {
        throw new IllegalArgumentException("prefix must not be empty");
      }
      targets.put(p, target.toAbsolutePath().normalize());
      return this;
    }

    /** Returns the plan. */
    public ExtractionPlan build() {
      return new ExtractionPlan(targets);
    }
  }
}
