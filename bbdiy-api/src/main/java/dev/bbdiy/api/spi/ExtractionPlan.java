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
  private final Map<String, Runnable> whenComplete;

  private ExtractionPlan(Map<String, Path> targets, Map<String, Runnable> whenComplete) {
    this.targets = Map.copyOf(targets);
    this.whenComplete = Map.copyOf(whenComplete);
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
   * Returns the prefixes someone wants to hear about as soon as they are extracted (see {@link
   * Builder#whenComplete}), so that an archiver extracting in canonical order can tell them early.
   */
  public java.util.Set<String> awaited() {
    return whenComplete.keySet();
  }

  /**
   * Tells whoever waits for {@code prefix} that every entry below it has been written (an archiver calls it at
   * most once per prefix, on its extracting thread, when the next entry sorts after the prefix). Those entries
   * are verified against the manifest only when extraction ends: a listener starts work that the end of a
   * failed extraction must be able to stop and undo. An archiver that cannot tell before the end of the
   * extraction does not call it at all, and the waiting work then starts after the verification.
   */
  public void completed(String prefix) {
    Runnable r = whenComplete.get(prefix);
    if (r != null) {
      r.run();
    }
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
    Path bestRoot = null;
    for (Map.Entry<String, Path> target : targets.entrySet()) {
      String prefix = target.getKey();
      if ((name.equals(prefix) || name.startsWith(prefix + "/"))
          && (bestPrefix == null || prefix.length() > bestPrefix.length())) {
        bestPrefix = prefix;
        bestRoot = target.getValue();
      }
    }
    if (bestPrefix == null || bestRoot == null) {
      return null;
    }
    String rest = name.length() == bestPrefix.length() ? "" : name.substring(bestPrefix.length() + 1);
    return new Destination(bestRoot, rest);
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
    private final Map<String, Runnable> whenComplete = new LinkedHashMap<>();

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

    /**
     * Runs {@code action} when every entry below the mapped {@code prefix} has been written, if the archiver can
     * tell before the whole extraction ends (see {@link ExtractionPlan#completed}); the restore starts loading a
     * database while the home is still being extracted. The action must return quickly.
     */
    public Builder whenComplete(String prefix, Runnable action) {
      String p = normalize(prefix);
      if (!targets.containsKey(p)) {
        throw new IllegalArgumentException("map " + prefix + " before waiting for it");
      }
      whenComplete.put(p, Objects.requireNonNull(action, "action"));
      return this;
    }

    /** Returns the plan. */
    public ExtractionPlan build() {
      return new ExtractionPlan(targets, whenComplete);
    }
  }
}
