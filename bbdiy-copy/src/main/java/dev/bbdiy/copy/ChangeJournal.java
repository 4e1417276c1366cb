package dev.bbdiy.copy;

import dev.bbdiy.kit.FileNames;
import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * Records what changes in a tree while the live pass copies it, so that the pass inside the lock touches only what
 * changed instead of every entry. On Linux the JDK's watch service is inotify: each directory is watched before the
 * live pass lists it, so a change after that listing is an event, and a change before it is seen by the listing.
 * Directories created later are not watched: they are compared whole inside the lock, which costs what they hold.
 *
 * <p>A journal that cannot be trusted says so, and the pass inside the lock then compares everything: a file system
 * that does not report changes made by other machines (NFS, CIFS and other network or FUSE file systems), the
 * watch limit ({@code fs.inotify.max_user_watches}) reached, a lost event ({@code OVERFLOW}), or a journal that
 * does not answer. Completeness is checked by a sentinel: a file created in a watched directory of bbdiy's own; its
 * event comes after every earlier event of the tree, because one inotify instance queues all its events in order.
 *
 * <p>Memory grows with the number of directories watched and of distinct paths changed, not with the number of
 * files. Thread-safe: the live pass watches, a thread of its own drains the events.
 */
final class ChangeJournal implements AutoCloseable {
  /** What happened to a path. */
  enum Change { CREATED, MODIFIED, DELETED }

  /** File systems whose changes made elsewhere (another NFS client, the server itself) inotify never reports. */
  private static final Set<String> UNTRUSTED = Set.of("nfs", "nfs4", "cifs", "smb", "smb2", "smb3", "smbfs",
      "ceph", "glusterfs", "lustre", "gpfs", "9p", "afs", "ocfs2", "gfs2", "beegfs", "panfs");

  /** Test hooks: a lower watch limit than the kernel's, and a drainer that waits (so that events pile up). */
  private static volatile int watchLimit = Integer.MAX_VALUE;
  private static volatile boolean hold;

  private final Path root;
  private final WatchService watcher;
  private final Map<WatchKey, String> keys = new ConcurrentHashMap<>();
  private final TreeMap<String, Change> changes = new TreeMap<>();
  private final Thread drainer;
  private final Path sentinelDir;
  private volatile @Nullable String untrusted;
  private volatile @Nullable String sentinelSeen;
  private long watched;

  private ChangeJournal(Path root, Path sentinelDir, WatchService watcher) {
    this.root = root;
    this.watcher = watcher;
    this.sentinelDir = sentinelDir;
    this.drainer = new Thread(this::drain, "bbdiy-journal-" + root.getFileName());
    drainer.setDaemon(true);
  }

  /**
   * Starts a journal of {@code root}, or returns one that is already untrusted (with the reason) where changes
   * cannot be journaled. {@code sentinelDir} is a private directory of bbdiy's on the same machine.
   */
  static ChangeJournal start(Path root, Path sentinelDir) throws IOException {
    WatchService watcher = root.getFileSystem().newWatchService();
    ChangeJournal j = new ChangeJournal(root, sentinelDir, watcher);
    String fs = fileSystemType(root);
    if (!trusted(fs)) {
      j.untrusted = "the " + fs + " file system does not report changes made on other machines";
    } else if (!watcher.getClass().getName().contains("Linux")) {
      j.untrusted = "this platform's watch service polls instead of being told of changes";
    }
    Files.createDirectories(sentinelDir);
    if (j.untrusted == null) {
      try {
        WatchKey k = sentinelDir.register(watcher, StandardWatchEventKinds.ENTRY_CREATE);
        j.keys.put(k, "\0sentinel");
      } catch (IOException e) {
        j.untrusted = "cannot watch " + sentinelDir + ": " + e.getMessage();
      }
    }
    j.drainer.start();
    return j;
  }

  /** Returns whether inotify reports every change of a file system of {@code type} (as {@code /proc/mounts} names it). */
  static boolean trusted(String type) {
    return !UNTRUSTED.contains(type) && !type.startsWith("fuse");
  }

  /** Tests only: makes watching fail after {@code limit} directories, as the kernel's watch limit does. */
  static void watchLimitForTests(int limit) {
    watchLimit = limit;
  }

  /** Tests only: holds the drainer, so that events pile up as behind a slow consumer. */
  static void holdDraining(boolean holdIt) {
    hold = holdIt;
  }

  private static String fileSystemType(Path p) {
    try {
      FileStore store = Files.getFileStore(p);
      return store.type().toLowerCase(Locale.ROOT);
    } catch (IOException e) {
      return "unknown";
    }
  }

  /** Returns why changes cannot be trusted, or {@code null} if they can. */
  @Nullable String untrusted() {
    return untrusted;
  }

  /** Returns how many directories are watched. */
  long watched() {
    return watched;
  }

  /**
   * Watches directory {@code dir} (the raw name {@code rel} below the root) before it is listed. Failing to watch
   * (the watch limit) makes the journal untrusted; it never fails the pass.
   */
  void watch(Path dir, String rel) {
    if (untrusted != null) {
      return;
    }
    try {
      if (watched >= watchLimit) {
        throw new IOException("User limit of inotify watches reached");
      }
      WatchKey k = dir.register(watcher, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_DELETE,
          StandardWatchEventKinds.ENTRY_MODIFY);
      keys.put(k, rel);
      watched++;
    } catch (java.nio.file.NoSuchFileException | java.nio.file.NotDirectoryException gone) {
      // Gone or replaced since its parent was listed: the parent's event tells, and the listing finds nothing.
    } catch (IOException e) {
      String why = String.valueOf(e.getMessage());
      untrusted = why.contains("limit") || why.contains("No space")
          ? "the inotify watch limit (fs.inotify.max_user_watches) was reached after " + watched + " directories;"
              + " raise it (sysctl fs.inotify.max_user_watches=...) for a short lock window"
          : "cannot watch " + FileNames.display(rel.isEmpty() ? "." : rel) + ": " + why;
    } catch (ClosedWatchServiceException e) {
      untrusted = "the journal was closed";
    }
  }

  private void drain() {
    while (true) {
      WatchKey key;
      try {
        while (hold) {
          Thread.sleep(10);
        }
        key = watcher.take();
      } catch (InterruptedException | ClosedWatchServiceException e) {
        return;
      }
      String dir = keys.get(key);
      for (WatchEvent<?> event : key.pollEvents()) {
        if (event.kind() == StandardWatchEventKinds.OVERFLOW) {
          untrusted = "the kernel dropped change events (queue overflow: fs.inotify.max_queued_events); too many"
              + " changes while the live pass ran";
          continue;
        }
        if (dir == null) {
          continue;
        }
        String name = FileNames.rawFileName((Path) event.context());
        if (dir.equals("\0sentinel")) {
          sentinelSeen = name;
          continue;
        }
        String rel = dir.isEmpty() ? name : dir + "/" + name;
        Change change = event.kind() == StandardWatchEventKinds.ENTRY_CREATE ? Change.CREATED
            : event.kind() == StandardWatchEventKinds.ENTRY_DELETE ? Change.DELETED : Change.MODIFIED;
        synchronized (changes) {
          Change before = changes.get(rel);
          // A path created in the window stays "created" (compared whole) whatever follows.
          changes.put(rel, before == Change.CREATED && change == Change.MODIFIED ? Change.CREATED : change);
        }
      }
      if (!key.reset()) {
        keys.remove(key); // the directory is gone: its parent's event says so
      }
    }
  }

  /**
   * Returns every path changed since watching began, sorted, after checking that every event up to now has been
   * read (the sentinel round trip), or {@code null} if the journal cannot be trusted (see {@link #untrusted()}).
   */
  @Nullable TreeMap<String, Change> changes(Duration timeout) {
    if (untrusted != null) {
      return null;
    }
    String sentinel = "sentinel-" + System.nanoTime();
    Path file = sentinelDir.resolve(sentinel);
    try {
      Files.createFile(file);
      long deadline = System.nanoTime() + timeout.toNanos();
      while (!sentinel.equals(sentinelSeen)) {
        if (System.nanoTime() > deadline) {
          untrusted = "the journal did not report its own sentinel within " + timeout.toMillis() + " ms";
          return null;
        }
        TimeUnit.MICROSECONDS.sleep(200);
      }
    } catch (IOException e) {
      untrusted = "cannot write the journal's sentinel in " + sentinelDir + ": " + e.getMessage();
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      untrusted = "interrupted";
      return null;
    } finally {
      try {
        Files.deleteIfExists(file);
      } catch (IOException ignored) {
        // a leftover sentinel is harmless: its name is unique
      }
    }
    if (untrusted != null) {
      return null;
    }
    synchronized (changes) {
      TreeMap<String, Change> out = new TreeMap<>(dev.bbdiy.kit.TreeWalker.ORDER);
      out.putAll(changes);
      return out;
    }
  }

  @Override
  public void close() {
    try {
      watcher.close();
    } catch (IOException ignored) {
      // closing the inotify descriptor cannot fail in a way that matters here
    }
    drainer.interrupt();
  }

  @Override
  public String toString() {
    return "ChangeJournal[" + root + ", " + watched + " directories" + (untrusted == null ? "" : ", " + untrusted)
        + "]";
  }
}
