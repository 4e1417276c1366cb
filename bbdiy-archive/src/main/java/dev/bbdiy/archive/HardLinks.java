package dev.bbdiy.archive;

import dev.bbdiy.kit.FileMeta;
import java.util.HashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Finds the hard links of a walk in canonical order: the first name of a file with several links is stored as
 * the file, every later name as a hard link to it. A file is forgotten once all its links were seen, so memory
 * grows only with the files whose other links are still to come or outside the tree; past {@link #LIMIT} of those,
 * further ones are stored as separate files (their content is complete, they are merely no longer linked).
 */
final class HardLinks {
  /** At most this many files are remembered at once (about 200 bytes each). */
  static final int LIMIT = 100_000;

  private record Key(long device, long inode) {}

  private static final class Seen {
    final String name;
    long remaining;

    Seen(String name, long remaining) {
      this.name = name;
      this.remaining = remaining;
    }
  }

  private final Map<Key, Seen> first = new HashMap<>();
  private final int limit;
  private long unlinked;

  HardLinks() {
    this(LIMIT);
  }

  HardLinks(int limit) {
    this.limit = limit;
  }

  /**
   * Returns the raw name under which the file {@code meta} describes was seen first, or {@code null} if this
   * is its first name (or it has only one, or too many files with links are pending to remember it).
   */
  @Nullable String firstName(FileMeta meta, String rawName) {
    if (meta.type() != FileMeta.Type.FILE || meta.links() <= 1 || meta.inode() < 0) {
      return null;
    }
    Key key = new Key(meta.device(), meta.inode());
    Seen seen = first.get(key);
    if (seen == null) {
      if (first.size() < limit) {
        first.put(key, new Seen(rawName, meta.links() - 1));
      } else {
        unlinked++;
      }
      return null;
    }
    if (--seen.remaining <= 0) {
      first.remove(key);
    }
    return seen.name;
  }

  /** Returns how many names were stored as files of their own because too many files were pending. */
  long unlinked() {
    return unlinked;
  }
}
