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
 * <p>{@link #locate} is also the first safety check every archiver must apply: it rejects absolute names and
 * {@code ..} components, so no entry name points outside its target. Archivers must additionally never write,
 * link or change anything through a symbolic link (an archive may contain a link and then an entry below it),
 * and must treat the targets as the only places they may write: they come from the command line and the
 * configuration, never from the archive.
 */
public final class ExtractionPlan {
  private static final boolean WINDOWS = java.io.File.separatorChar == '\\';

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
   * Where an entry goes: a target directory and the entry's name relative to it.
   *
   * @param root the target directory of the entry's prefix
   * @param relative the rest of the entry's name below {@code root}, '/'-separated, empty for the root itself; a
   *     raw name (one character per byte of the name) when the entry name was one
   */
  public record Destination(Path root, String relative) {}

  /**
   * Returns where an archive entry goes, or {@code null} if it is not restored. Archivers resolve {@code
   * relative} below {@code root} byte for byte (file names are bytes, see the provider kit's file name helper).
   *
   * @param entryName the name in the archive, e.g. {@code ./bitbucket-home/shared/bitbucket.properties}
   * @throws BbdiyException with {@link ErrorCode#VERIFICATION_FAILED} for an absolute name or a {@code ..}
   *     component: the archive is malicious or damaged
   */
  public @Nullable Destination locate(String entryName) {
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
    String rest = name.length() == bestPrefix.length() ? "" : name.substring(bestPrefix.length() + 1);
    return new Destination(targets.get(bestPrefix), rest);
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
    if (name.startsWith("/") || name.indexOf('\0') >= 0 || WINDOWS && (name.indexOf('\\') >= 0
        || name.matches("^[A-Za-z]:.*"))) {
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
    StringBuilder shown = new StringBuilder();
    for (char c : entryName.toCharArray()) {
      shown.append(c < 0x20 || c >= 0x7f ? String.format("\\x%02x", (int) c) : String.valueOf(c));
    }
    return new BbdiyException(
        ErrorCode.VERIFICATION_FAILED,
        "The archive contains an unsafe entry name '" + shown
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
