package dev.bbdiy.archive;

import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BackupSummary;
import dev.bbdiy.kit.FileMeta;
import dev.bbdiy.kit.FileNames;
import dev.bbdiy.kit.TreeWalker;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The checks a {@link BackupReading} makes once the whole archive is read, on the list of recomputed entries it
 * wrote to a temporary file: against the manifest in its order (changed, missing and extra entries, canonical
 * order, the backup layout, directories stored before their entries, hard links to regular files stored before
 * them), or, for an archive without a manifest, the checks extraction makes too. Constant memory except where
 * noted.
 */
final class ArchiveCheck {
  static final int MAX_PROBLEMS = 100;
  static final Set<String> TOP_LEVEL =
      Set.of(BackupLayout.HOME, BackupLayout.DATA_STORES, BackupLayout.DATABASE, BackupLayout.MESH);

  private ArchiveCheck() {}

  /** How many symbolic links and hard-link targets an archive without a manifest may hold to be checked. */
  static final int UNMANIFESTED_LINK_LIMIT = 100_000;

  /**
   * The checks an archive without a manifest (Atlassian's) still gets, the same that extraction makes: no entry
   * below a symbolic link stored before it, and a hard link only to a regular file stored before it. So {@code
   * verify} and restore agree on such an archive too. Two reads of the entry list, in memory only the symbolic
   * links and the hard links' targets, each up to {@link #UNMANIFESTED_LINK_LIMIT}.
   */
  static void withoutManifest(Path actualFile, List<String> problems) throws IOException {
    Problems found = new Problems(problems);
    java.util.Set<String> targets = new java.util.HashSet<>();
    try (DataInputStream in = entryList(actualFile)) {
      for (EntryRecord r; (r = EntryRecord.readFrom(in)) != null; ) {
        if (r.type() == FileMeta.Type.HARDLINK && r.target() != null && targets.size() <= UNMANIFESTED_LINK_LIMIT) {
          targets.add(r.target());
        }
      }
    }
    if (targets.size() > UNMANIFESTED_LINK_LIMIT) {
      found.add("The archive has no manifest and more than " + UNMANIFESTED_LINK_LIMIT + " hard links: bbdiy"
          + " cannot check where they point");
      return;
    }
    java.util.Set<String> symlinks = new java.util.HashSet<>();
    java.util.Set<String> filesLinkedTo = new java.util.HashSet<>();
    try (DataInputStream in = entryList(actualFile)) {
      for (EntryRecord r; (r = EntryRecord.readFrom(in)) != null; ) {
        String below = symlinkAbove(r.path(), symlinks);
        if (below != null) {
          found.add(r.displayPath() + ": below the symbolic link " + FileNames.display(below) + ", through which"
              + " it would be written");
        }
        switch (r.type()) {
          case SYMLINK:
            if (symlinks.size() >= UNMANIFESTED_LINK_LIMIT) {
              found.add("The archive has no manifest and more than " + UNMANIFESTED_LINK_LIMIT + " symbolic links:"
                  + " bbdiy cannot check that no entry is below one");
              return;
            }
            symlinks.add(r.path());
            break;
          case FILE:
            if (targets.contains(r.path())) {
              filesLinkedTo.add(r.path());
            }
            break;
          case HARDLINK:
            String target = r.target();
            if (target == null || !filesLinkedTo.contains(target) || symlinkAbove(target, symlinks) != null) {
              found.add(r.displayPath() + ": a hard link to " + (target == null ? "nothing" : FileNames.display(
                  target)) + ", which is not a regular file stored before it");
            }
            break;
          default:
            break;
        }
      }
    }
  }

  private static DataInputStream entryList(Path actualFile) throws IOException {
    return new DataInputStream(new BufferedInputStream(Files.newInputStream(actualFile), 1 << 16));
  }

  /** The symbolic link among {@code path}'s parent directories, if there is one. */
  private static @Nullable String symlinkAbove(String path, java.util.Set<String> symlinks) {
    if (symlinks.isEmpty()) {
      return null;
    }
    for (int slash = path.lastIndexOf('/'); slash > 0; slash = path.lastIndexOf('/', slash - 1)) {
      String parent = path.substring(0, slash);
      if (symlinks.contains(parent)) {
        return parent;
      }
    }
    return null;
  }

  /**
   * Compares recomputed entries (in archive order) with a manifest and checks the archive's structure; adds
   * what it finds to {@code problems}.
   *
   * @return the manifest's summary, or {@code null} if the manifest is unreadable
   */
  static @Nullable BackupSummary againstManifest(
      Path manifestFile, Path actualFile, long files, long bytes, List<String> problems) throws IOException {
    Problems found = new Problems(problems);
    BackupSummary summary;
    List<EntryRecord> hardLinks = new ArrayList<>();
    try (InputStream min = new BufferedInputStream(Files.newInputStream(manifestFile), 1 << 16);
        ManifestCodec.Reader manifest = ManifestCodec.reader(min);
        DataInputStream actual = new DataInputStream(new BufferedInputStream(Files.newInputStream(actualFile),
            1 << 16))) {
      summary = manifest.summary();
      Comparator<String> order = TreeWalker.order(summary.formatVersion());
      Structure structure = new Structure(order, found);
      String lastExpected = null;
      EntryRecord expected = manifest.next();
      EntryRecord actualEntry = EntryRecord.readFrom(actual);
      if (actualEntry != null) {
        structure.check(actualEntry, hardLinks);
      }
      while (expected != null || actualEntry != null) {
        if (expected != null && lastExpected != null && order.compare(lastExpected, expected.path()) >= 0) {
          found.add("The manifest is not in canonical order at " + expected.displayPath() + ": it is damaged");
        }
        int c = expected == null ? 1 : actualEntry == null ? -1 : order.compare(expected.path(), actualEntry.path());
        if (c == 0 && expected != null && actualEntry != null) {
          found.add(expected.difference(actualEntry));
          lastExpected = expected.path();
          expected = manifest.next();
          actualEntry = next(actual, structure, hardLinks);
        } else if (c < 0 && expected != null) {
          found.add(expected.displayPath() + ": missing from the archive");
          lastExpected = expected.path();
          expected = manifest.next();
        } else if (actualEntry != null) {
          found.add(actualEntry.displayPath() + ": in the archive but not in the manifest");
          actualEntry = next(actual, structure, hardLinks);
        } else {
          break; // not reached: the loop runs while one of them is left, and c says which
        }
      }
    } catch (IOException | RuntimeException e) {
      problems.add("The manifest is unreadable: " + e.getMessage());
      return null;
    }
    if (!hardLinks.isEmpty()) {
      checkHardLinks(actualFile, hardLinks, TreeWalker.order(summary.formatVersion()), found);
    }
    if (summary.files() != files || summary.bytes() != bytes) {
      found.add("The manifest counts " + summary.files() + " files of " + summary.bytes() + " bytes, the"
          + " archive holds " + files + " files of " + bytes + " bytes");
    }
    return summary;
  }

  private static @Nullable EntryRecord next(DataInputStream actual, Structure structure, List<EntryRecord> links)
      throws IOException {
    EntryRecord r = EntryRecord.readFrom(actual);
    if (r != null) {
      structure.check(r, links);
    }
    return r;
  }

  /** Checks that every hard link names a regular file stored before it (one more read of the entry list). */
  private static void checkHardLinks(Path actualFile, List<EntryRecord> links, Comparator<String> order,
      Problems found) throws IOException {
    links.sort(Comparator.comparing(ArchiveCheck::linkTarget, order));
    int i = 0;
    try (DataInputStream actual = new DataInputStream(new BufferedInputStream(Files.newInputStream(actualFile),
        1 << 16))) {
      EntryRecord r;
      while ((r = EntryRecord.readFrom(actual)) != null && i < links.size()) {
        while (i < links.size() && order.compare(linkTarget(links.get(i)), r.path()) < 0) {
          found.add(badLink(links.get(i++)));
        }
        while (i < links.size() && linkTarget(links.get(i)).equals(r.path())) {
          EntryRecord link = links.get(i++);
          if (r.type() != FileMeta.Type.FILE || order.compare(r.path(), link.path()) >= 0) {
            found.add(badLink(link));
          }
        }
      }
    }
    while (i < links.size()) {
      found.add(badLink(links.get(i++)));
    }
  }

  /** The target of a hard link entry: {@code Structure.check} only collects links that name one. */
  private static String linkTarget(EntryRecord link) {
    return Objects.requireNonNull(link.target(), "a hard link entry without a target");
  }

  private static String badLink(EntryRecord link) {
    return link.displayPath() + ": a hard link to " + FileNames.display(linkTarget(link)) + ", which is not a regular"
        + " file stored before it";
  }

  /** The archive's structure, checked entry by entry in archive order with a stack of open directories. */
  private static final class Structure {
    private final Comparator<String> order;
    private final Problems found;
    private final Deque<String> dirs = new ArrayDeque<>();
    private @Nullable String last;
    private boolean orderReported;

    Structure(Comparator<String> order, Problems found) {
      this.order = order;
      this.found = found;
    }

    void check(EntryRecord r, List<EntryRecord> links) {
      String p = r.path();
      if (last != null && order.compare(last, p) >= 0 && !orderReported) {
        found.add(r.displayPath() + ": out of canonical order, or stored twice: the archive was not written by"
            + " bbdiy or was altered");
        orderReported = true;
      }
      last = p;
      int slash = p.lastIndexOf('/');
      String parent = slash < 0 ? "" : p.substring(0, slash);
      while (!dirs.isEmpty() && !(parent.equals(dirs.peek()) || parent.startsWith(dirs.peek() + "/"))) {
        dirs.pop();
      }
      if (parent.isEmpty()) {
        if (!TOP_LEVEL.contains(p)) {
          found.add(r.displayPath() + ": not part of the backup layout");
        }
      } else if (dirs.isEmpty() || !dirs.peek().equals(parent)) {
        found.add(r.displayPath() + ": its directory is not a directory stored before it (it may be below a"
            + " symbolic link)");
      }
      if (r.type() == FileMeta.Type.DIRECTORY) {
        dirs.push(p);
      } else if (r.type() == FileMeta.Type.HARDLINK) {
        links.add(r);
      } else if (r.type() == FileMeta.Type.OTHER) {
        found.add(r.displayPath() + ": a device, pipe or socket, which a backup never holds");
      }
    }
  }

  /** A bounded list of problems. */
  private static final class Problems {
    private final List<String> list;
    private long extra;

    Problems(List<String> list) {
      this.list = list;
    }

    void add(@Nullable String p) {
      if (p == null) {
        return;
      }
      if (list.size() < MAX_PROBLEMS) {
        list.add(p);
      } else {
        extra++;
        if (extra == 1) {
          list.add("... and more differences");
        }
      }
    }
  }
}
