package dev.bbdiy.snapshot;

import dev.bbdiy.kit.Cancellations;
import dev.bbdiy.kit.FileNames;
import dev.bbdiy.kit.TreeWalker;
import dev.bbdiy.testkit.TestContexts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/** What an archiver reads from a provider's output, and what a tree holds, as sets of names. */
final class Walks {
  private Walks() {}

  /** The relative names an archiver walks over the working copy with the declared content sources. */
  static Set<String> archived(TestContexts.TestRunContext ctx, List<String> paths) throws IOException {
    Set<String> out = new TreeSet<>();
    new TreeWalker(Cancellations.none()).walk(ctx.workDir(), paths, ctx.sources(), (p, rel, meta) -> {
      String text = FileNames.utf8(rel); // raw names: one char per byte
      out.add(text == null ? rel : text);
    });
    return out;
  }

  /** Every name below {@code root}, prefixed, including {@code prefix} itself. */
  static Set<String> tree(Path root, String prefix) throws IOException {
    Set<String> out = new TreeSet<>();
    out.add(prefix);
    try (Stream<Path> s = Files.walk(root)) {
      s.filter(p -> !p.equals(root)).forEach(p -> out.add(prefix + "/" + root.relativize(p)));
    }
    return out;
  }
}
