package dev.bbdiy.api.spi;

import dev.bbdiy.api.BackupSummary;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * What an archiver stores: the paths below {@code root} that make up the backup, and the manifest summary to
 * store with them. The archiver adds every entry with its digest to the manifest it writes.
 *
 * @param root the working directory
 * @param paths relative paths below {@code root} to store, in the {@linkplain dev.bbdiy.api.BackupLayout backup
 *     layout} ({@code bitbucket-home}, {@code bitbucket-data-stores/mnt/store}, {@code bitbucket-db})
 * @param summary the manifest summary; the archiver fills its totals
 */
public record BackupContent(Path root, List<String> paths, BackupSummary summary) {
  public BackupContent {
    Objects.requireNonNull(root, "root");
    paths = List.copyOf(paths);
    Objects.requireNonNull(summary, "summary");
  }
}
