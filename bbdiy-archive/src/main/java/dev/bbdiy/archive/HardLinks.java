package dev.bbdiy.archive;

import dev.bbdiy.kit.FileMeta;

import java.util.HashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Finds the hard links of a walk in canonical order: the first name of a file with several links is stored as
 * the file, every later name as a hard link to it. Memory grows with the number of files that have more than
 * one link (rare in Bitbucket homes), not with the number of files.
 */
final class HardLinks {
  private record Key(long device, long inode) {}

  private final Map<Key, String> first = new HashMap<>();

  /**
   * Returns the raw name under which the file {@code meta} describes was seen first, or {@code null} if this
   * is its first name (or it has only one).
   */
  @Nullable String firstName(FileMeta meta, String rawName) {
    if (meta.type() != FileMeta.Type.FILE || meta.links() <= 1 || meta.inode() < 0) {
      return null;
    }
    return first.putIfAbsent(new Key(meta.device(), meta.inode()), rawName);
  }
}
