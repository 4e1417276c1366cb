package dev.bbdiy.restic;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.ContentSource;
import dev.bbdiy.kit.FileMeta;
import dev.bbdiy.kit.FileNames;
import dev.bbdiy.kit.PrivateFiles;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A directory from which {@code restic backup}, run there with relative paths, stores the backup layout although
 * some of its parts are read in place from {@linkplain ContentSource content sources} (read-only snapshots) rather
 * than from the working directory. restic names each entry of a snapshot after the path it was given, and
 * restic 0.14 cannot rename a path; but it follows a symbolic link that is an inner component of a path it is
 * given, taking that directory's own metadata for the node, while a link that is the last component is stored as a
 * link. So each part {@code p} becomes a link {@code p -> <its directory>} in the view, and restic is given {@code
 * p/<child>} for each child: the snapshot holds the part's files under {@code /p}, with the part's own mode and
 * times, exactly as if they had been copied to the working directory. No bind mount, no copy.
 *
 * <p>An empty directory part becomes a real empty directory with the part's mode, owner and time; a file (the
 * manifest) a hard link to it (a copy on another file system). Directories leading to a part ({@code
 * bitbucket-data-stores/...}) take the metadata of the working directory's. Excluded entries reach restic as an
 * exclude file of exact, escaped, absolute paths below the view; the paths to back up as a NUL-separated list
 * ({@code --files-from-raw}), so that no file name is read as an option or mangled by an encoding.
 *
 * <p>The view's location must be the same for every backup: restic finds the parent snapshot, whose unchanged
 * files it does not read again, by the paths it backed up.
 */
final class SourceView implements AutoCloseable {
  private final Path directory;
  private final Path targets;
  private final Path excludes;
  private final boolean hasExcludes;

  private SourceView(Path directory, Path targets, Path excludes, boolean hasExcludes) {
    this.directory = directory;
    this.targets = targets;
    this.excludes = excludes;
    this.hasExcludes = hasExcludes;
  }

  /**
   * Builds the view at {@code view} (replacing what a previous run left there).
   *
   * @param root the working directory
   * @param paths the layout paths to store (existing ones), including the manifest
   * @param sources the parts read from elsewhere
   * @param excluded the layout paths (below the sources) left out, as the manifest's walk found them
   * @param scratch a directory for the list of targets and the exclude file
   */
  static SourceView create(Path view, Path root, List<String> paths, Collection<ContentSource> sources,
      Collection<String> excluded, Path scratch) throws IOException {
    PrivateFiles.deleteTree(view);
    PrivateFiles.createPrivateDirectories(view);
    Map<String, Path> sourceOf = new HashMap<>();
    for (ContentSource s : sources) {
      sourceOf.put(s.path(), s.directory());
    }
    Set<String> left = Set.copyOf(excluded);
    ByteArrayOutputStream targetList = new ByteArrayOutputStream();
    Map<Path, Path> metadataFrom = new LinkedHashMap<>();
    for (String p : paths) {
      Path real = sourceOf.getOrDefault(p, FileNames.resolve(root, p));
      Path inView = FileNames.resolve(view, p);
      ancestors(view, root, p, metadataFrom);
      FileMeta meta = FileMeta.read(real);
      if (meta.type() == FileMeta.Type.DIRECTORY) {
        List<String> children = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(real)) {
          for (Path c : entries) {
            String name = FileNames.rawFileName(c);
            if (!left.contains(p + "/" + name)) {
              children.add(name);
            }
          }
        }
        if (children.isEmpty()) {
          Files.createDirectory(inView);
          metadataFrom.put(inView, real);
        } else {
          Files.createSymbolicLink(inView, real);
          children.sort(String::compareTo);
          for (String name : children) {
            targetList.writeBytes(FileNames.toBytes(p + "/" + name));
            targetList.write(0);
          }
        }
      } else {
        try {
          Files.createLink(inView, real);
        } catch (IOException | UnsupportedOperationException e) {
          Files.copy(real, inView, StandardCopyOption.COPY_ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
        }
        targetList.writeBytes(FileNames.toBytes(p));
        targetList.write(0);
      }
    }
    // Deepest first, so that setting a directory's time is not undone by changing one below it.
    List<Map.Entry<Path, Path>> dirs = new ArrayList<>(metadataFrom.entrySet());
    dirs.sort((a, b) -> Integer.compare(b.getKey().getNameCount(), a.getKey().getNameCount()));
    for (Map.Entry<Path, Path> d : dirs) {
      copyMetadata(d.getValue(), d.getKey());
    }
    ByteArrayOutputStream excludeList = new ByteArrayOutputStream();
    byte[] base = FileNames.toBytes(FileNames.raw(view.toAbsolutePath()));
    List<String> sortedExcluded = new ArrayList<>(left);
    sortedExcluded.sort(String::compareTo);
    for (String e : sortedExcluded) {
      excludeList.writeBytes(escape(base));
      excludeList.write('/');
      excludeList.writeBytes(escape(FileNames.toBytes(e)));
      excludeList.write('\n');
    }
    Files.createDirectories(scratch);
    Path targets = Files.createTempFile(scratch, "restic-targets-", ".bin");
    Path excludes = Files.createTempFile(scratch, "restic-excludes-", ".txt");
    Files.write(targets, targetList.toByteArray());
    Files.write(excludes, excludeList.toByteArray());
    return new SourceView(view, targets, excludes, !left.isEmpty());
  }

  /** Creates the directories leading to {@code p} in the view, to take the working directory's metadata. */
  private static void ancestors(Path view, Path root, String p, Map<Path, Path> metadataFrom) throws IOException {
    int slash = -1;
    while ((slash = p.indexOf('/', slash + 1)) > 0) {
      String dir = p.substring(0, slash);
      Path inView = FileNames.resolve(view, dir);
      if (!Files.isDirectory(inView, LinkOption.NOFOLLOW_LINKS)) {
        Files.createDirectory(inView);
        metadataFrom.put(inView, FileNames.resolve(root, dir));
      }
    }
  }

  private static void copyMetadata(Path from, Path to) throws IOException {
    FileMeta m = FileMeta.read(from);
    Set<PosixFilePermission> perms = EnumSet.noneOf(PosixFilePermission.class);
    PosixFilePermission[] order = {PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE,
        PosixFilePermission.OTHERS_READ, PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE,
        PosixFilePermission.GROUP_READ, PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE,
        PosixFilePermission.OWNER_READ};
    for (int i = 0; i < order.length; i++) {
      if ((m.mode() & (1 << i)) != 0) {
        perms.add(order[i]);
      }
    }
    try {
      Files.setAttribute(to, "unix:uid", m.uid(), LinkOption.NOFOLLOW_LINKS);
      Files.setAttribute(to, "unix:gid", m.gid(), LinkOption.NOFOLLOW_LINKS);
    } catch (IOException | UnsupportedOperationException | IllegalArgumentException | SecurityException e) {
      // Only root may give a file away: the owner is not part of the manifest, and restic then stores bbdiy's.
    }
    Files.setPosixFilePermissions(to, perms);
    Files.setLastModifiedTime(to, m.mtime());
  }

  /**
   * Escapes a path for restic's exclude patterns (Go's {@code filepath.Match}, component by component). restic
   * expands {@code $VARIABLES} in an exclude file and trims each line, which no escape prevents: such paths are
   * refused rather than matched approximately.
   */
  static byte[] escape(byte[] raw) {
    if (raw.length > 0 && (Character.isWhitespace(raw[raw.length - 1]) || Character.isWhitespace(raw[0]))) {
      throw unrepresentable(raw);
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(raw.length + 8);
    for (byte b : raw) {
      switch (b) {
        case '\\', '*', '?', '[', ']' -> {
          out.write('\\');
          out.write(b);
        }
        case '$', '\n', '\r' -> throw unrepresentable(raw);
        default -> out.write(b);
      }
    }
    return out.toByteArray();
  }

  private static BbdiyException unrepresentable(byte[] raw) {
    return new BbdiyException(ErrorCode.CONFIGURATION, "restic cannot be told to leave out "
        + FileNames.display(FileNames.latin1(raw)) + ": its exclude files expand '$', trim blanks and are read by"
        + " lines. Rename that entry, or use archive.type=tar with this home provider");
  }

  /** The directory to run restic in. */
  Path directory() {
    return directory;
  }

  /** restic's arguments naming what to back up and what to leave out. */
  List<String> arguments() {
    List<String> args = new ArrayList<>(List.of("--files-from-raw", targets.toString()));
    if (hasExcludes) {
      args.add("--exclude-file");
      args.add(excludes.toString());
    }
    return args;
  }

  /** Removes the view (links, not what they point to) and its lists. */
  @Override
  public void close() throws IOException {
    Files.deleteIfExists(targets);
    Files.deleteIfExists(excludes);
    PrivateFiles.deleteTree(directory);
  }
}
