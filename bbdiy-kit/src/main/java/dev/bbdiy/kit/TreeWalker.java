package dev.bbdiy.kit;

import dev.bbdiy.api.spi.CancellationSignal;
import dev.bbdiy.api.spi.ContentSource;
import dev.bbdiy.kit.FileNames;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Walks a backup tree in the one canonical order every part of bbdiy uses (tar writing, directory stores,
 * verification, manifests): depth first, a directory before its children, children sorted by name bytes. Only
 * the given roots, their contents and their ancestors are visited.
 *
 * <p>Relative paths are {@linkplain FileNames raw names}, and the paths handed to visitors carry the exact bytes
 * the directory listing gave: a name that is not valid in any encoding is walked like any other.
 */
public final class TreeWalker {
  /** Compares raw relative paths ({@code a/b/c}) in canonical walk order: component by component, bytes unsigned. */
  public static final Comparator<String> ORDER = TreeWalker::compare;

  /**
   * The order of manifests of format 1, whose writer compared names as Java strings (UTF-16 code units). Differs
   * from {@link #ORDER} only between characters above U+FFFF and those from U+E000 to U+FFFF.
   */
  public static final Comparator<String> LEGACY_ORDER =
      Comparator.comparing((String raw) -> {
        String text = FileNames.utf8(raw);
        return text == null ? raw : text;
      }, TreeWalker::compare);

  /** Returns the order of entries in a manifest of {@code formatVersion}. */
  public static Comparator<String> order(int formatVersion) {
    return formatVersion <= 1 ? LEGACY_ORDER : ORDER;
  }

  /** Receives the entries of a walk. */
  public interface Visitor {
    /** Visits one entry. {@code relative} is a raw name, uses '/' and has no leading or trailing slash. */
    void visit(Path path, String relative, FileMeta meta) throws IOException;
  }

  private final CancellationSignal cancellation;

  public TreeWalker(CancellationSignal cancellation) {
    this.cancellation = cancellation;
  }

  /**
   * Walks {@code base}, visiting the entries under each of {@code roots} (relative paths) and the directories
   * leading to them. Roots that do not exist are skipped.
   */
  public void walk(Path base, Collection<String> roots, Visitor visitor) throws IOException {
    walk(base, roots, List.of(), visitor);
  }

  /**
   * Walks like {@link #walk(Path, Collection, Visitor)}, but reads each root that has a {@linkplain ContentSource
   * content source} from the source's directory, leaving out what its excludes name; the visitor sees the same
   * relative names as if the directory had been copied to {@code base/<root>}. That placeholder must exist.
   *
   * @throws IOException if a source's directory is not a directory (a symbolic link is not followed)
   */
  public void walk(Path base, Collection<String> roots, Collection<ContentSource> sources, Visitor visitor)
      throws IOException {
    List<String> sorted = new ArrayList<>(roots);
    sorted.sort(ORDER);
    Map<String, Part> parts = new HashMap<>();
    for (ContentSource s : sources) {
      parts.put(s.path(), new Part(s.directory(), new ExcludeMatcher(s.excludes()), s.path().length() + 1));
    }
    walkDir(base, "", sorted, parts, visitor);
  }

  /** A root read from elsewhere: where from, what it leaves out, and how long its prefix is. */
  private record Part(Path directory, ExcludeMatcher excludes, int prefix) {}

  /** Walks every entry below {@code base}, except those {@code skip} names at its top level. */
  public void walkAll(Path base, Collection<String> skipTopLevel, Visitor visitor) throws IOException {
    for (Entry child : children(base)) {
      if (!skipTopLevel.contains(child.name)) {
        visitSubtree(child.path, child.name, null, visitor);
      }
    }
  }

  private void walkDir(Path dir, String relative, List<String> roots, Map<String, Part> parts, Visitor visitor)
      throws IOException {
    for (Entry child : children(dir)) {
      String rel = relative.isEmpty() ? child.name : relative + "/" + child.name;
      if (roots.contains(rel)) {
        Part part = parts.get(rel);
        if (part == null) {
          visitSubtree(child.path, rel, null, visitor);
        } else {
          FileMeta meta = FileMeta.read(part.directory());
          if (meta.type() != FileMeta.Type.DIRECTORY) {
            throw new IOException(part.directory() + ", the source of " + FileNames.display(rel)
                + ", is not a directory");
          }
          visitSubtree(part.directory(), rel, part, visitor);
        }
      } else if (isAncestorOfAny(rel, roots)) {
        FileMeta meta = FileMeta.read(child.path);
        if (meta.type() == FileMeta.Type.DIRECTORY) {
          visitor.visit(child.path, rel, meta);
          walkDir(child.path, rel, roots, parts, visitor);
        }
      }
    }
  }

  private void visitSubtree(Path path, String relative, @Nullable Part part, Visitor visitor) throws IOException {
    cancellation.throwIfCancelled();
    FileMeta meta;
    try {
      meta = FileMeta.read(path);
    } catch (NoSuchFileException e) {
      return;
    }
    if (part != null && relative.length() > part.prefix()
        && part.excludes().excluded(relative.substring(part.prefix()), meta.type() == FileMeta.Type.DIRECTORY)) {
      return;
    }
    visitor.visit(path, relative, meta);
    if (meta.type() == FileMeta.Type.DIRECTORY) {
      for (Entry child : children(path)) {
        visitSubtree(child.path, relative + "/" + child.name, part, visitor);
      }
    }
  }

  private static boolean isAncestorOfAny(String rel, List<String> roots) {
    String prefix = rel + "/";
    for (String r : roots) {
      if (r.startsWith(prefix)) {
        return true;
      }
    }
    return false;
  }

  private record Entry(String name, Path path) {}

  private static List<Entry> children(Path dir) throws IOException {
    List<Entry> out = new ArrayList<>();
    try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
      for (Path p : stream) {
        out.add(new Entry(FileNames.rawFileName(p), p));
      }
    } catch (NoSuchFileException e) {
      return out;
    }
    out.sort(Comparator.comparing(Entry::name));
    return out;
  }

  private static int compare(String a, String b) {
    int i = 0;
    int j = 0;
    while (i < a.length() && j < b.length()) {
      int ea = a.indexOf('/', i);
      int eb = b.indexOf('/', j);
      if (ea < 0) {
        ea = a.length();
      }
      if (eb < 0) {
        eb = b.length();
      }
      int c = a.substring(i, ea).compareTo(b.substring(j, eb));
      if (c != 0) {
        return c;
      }
      i = ea + 1;
      j = eb + 1;
    }
    return Integer.compare(a.length() - i, b.length() - j);
  }
}
