package dev.bbdiy.api.spi;

import dev.bbdiy.api.BackupLayout;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * A part of the backup layout whose files an archiver reads from a directory outside the working directory: a
 * read-only file-system snapshot of the home or of a data store, stored as it is, without a staging copy.
 *
 * <p>The archive holds the directory's content under {@link #path()}, exactly as if it had been copied to {@code
 * <workDir>/<path>}, minus the entries {@link #excludes()} names: restore, verification and the manifest cannot tell
 * the difference. Archivers never follow a symbolic link to reach {@link #directory()} or below it.
 *
 * @param path the part of the {@linkplain BackupLayout backup layout}: {@code bitbucket-home} or {@code
 *     bitbucket-data-stores/<absolute path>}
 * @param directory where the part's files are read from: an absolute path to a directory, not a symbolic link
 * @param excludes rsync exclude patterns anchored at {@code directory} ({@code /caches/}, {@code /tmp}), as the kit's
 *     {@code HomeExcludes} returns them; matching entries and everything below them are left out
 */
public record ContentSource(String path, Path directory, List<String> excludes) {
  public ContentSource {
    Objects.requireNonNull(path, "path");
    Objects.requireNonNull(directory, "directory");
    excludes = List.copyOf(excludes);
    if (!path.equals(BackupLayout.HOME) && !path.startsWith(BackupLayout.DATA_STORES + "/")) {
      throw new IllegalArgumentException("A content source is the home (" + BackupLayout.HOME + ") or a data store ("
          + BackupLayout.DATA_STORES + "/...), not " + path);
    }
    if (path.endsWith("/") || path.contains("//") || path.contains("/../") || path.endsWith("/..")) {
      throw new IllegalArgumentException("Not a normalised layout path: " + path);
    }
    if (!directory.isAbsolute()) {
      throw new IllegalArgumentException("The directory of " + path + " must be absolute: " + directory);
    }
    for (String e : excludes) {
      if (!e.startsWith("/")) {
        throw new IllegalArgumentException("Exclude patterns are anchored with a leading '/': " + e);
      }
    }
  }
}
