package dev.bbdiy.api.spi;

import dev.bbdiy.api.BackupSummary;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * What an archiver stores: the paths below {@code root} that make up the backup, and the manifest summary to
 * store with them. The archiver adds every entry with its digest to the manifest it writes.
 *
 * @param root the working directory
 * @param paths relative paths below {@code root} to store, in the {@linkplain dev.bbdiy.api.BackupLayout backup
 *     layout} ({@code bitbucket-home}, {@code bitbucket-data-stores/mnt/store}, {@code bitbucket-db})
 * @param summary the manifest summary; the archiver fills its totals
 * @param sources the paths among {@code paths} whose files come from another directory (a read-only snapshot)
 *     rather than from below {@code root}, at most one each; {@code root/<path>} still exists (as an empty
 *     directory) and stands for the part in the walk: its own metadata and content are those of the source's
 *     directory. Every archiver must honour them.
 */
public record BackupContent(Path root, List<String> paths, BackupSummary summary, List<ContentSource> sources) {
  public BackupContent {
    Objects.requireNonNull(root, "root");
    paths = List.copyOf(paths);
    Objects.requireNonNull(summary, "summary");
    sources = List.copyOf(sources);
    Set<String> seen = new HashSet<>();
    for (ContentSource s : sources) {
      if (!paths.contains(s.path())) {
        throw new IllegalArgumentException("The content source " + s.path() + " is not one of the paths " + paths);
      }
      if (!seen.add(s.path())) {
        throw new IllegalArgumentException("Two content sources for " + s.path());
      }
    }
  }

  /** Creates content read entirely from below {@code root}. */
  public BackupContent(Path root, List<String> paths, BackupSummary summary) {
    this(root, paths, summary, List.of());
  }
}
