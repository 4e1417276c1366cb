package dev.bbdiy.restic;

import dev.bbdiy.api.spi.ContentSource;
import dev.bbdiy.kit.ExcludeMatcher;
import dev.bbdiy.kit.FileNames;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Collects, during the manifest's walk, the entries of content sources that their excludes leave out, as layout
 * paths: restic is then told to leave out exactly those entries, so that the snapshot holds what the manifest lists
 * and nothing else, whatever restic's own pattern language would make of the rsync patterns.
 */
final class ExcludedEntries {
  private record Part(String path, ExcludeMatcher matcher) {}

  private final List<Part> parts = new ArrayList<>();
  private final Collection<String> out;

  ExcludedEntries(Collection<ContentSource> sources, Collection<String> out) {
    for (ContentSource s : sources) {
      if (!s.excludes().isEmpty()) {
        parts.add(new Part(s.path(), new ExcludeMatcher(s.excludes())));
      }
    }
    this.out = out;
  }

  /** Records the children of the walked directory {@code path} (layout path {@code rel}) its part excludes. */
  void visitDirectory(Path path, String rel) throws IOException {
    for (Part p : parts) {
      String within;
      if (rel.equals(p.path())) {
        within = "";
      } else if (rel.startsWith(p.path() + "/")) {
        within = rel.substring(p.path().length() + 1) + "/";
      } else {
        continue;
      }
      try (DirectoryStream<Path> children = Files.newDirectoryStream(path)) {
        for (Path c : children) {
          String name = FileNames.rawFileName(c);
          if (p.matcher().excluded(within + name, Files.isDirectory(c, LinkOption.NOFOLLOW_LINKS))) {
            out.add(rel + "/" + name);
          }
        }
      }
      return;
    }
  }
}
