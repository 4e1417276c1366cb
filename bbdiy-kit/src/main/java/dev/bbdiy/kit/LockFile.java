package dev.bbdiy.kit;

import dev.bbdiy.api.BbdiyException;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;

/**
 * The local lock that allows one bbdiy run per working directory at a time, and the lock of a file-based backup
 * store. It is an OS file lock, so it is released when the process dies, however it dies; the file names the
 * holder for the error message.
 */
public final class LockFile implements AutoCloseable, dev.bbdiy.api.spi.Archiver.Lock {
  /**
   * The lock files this JVM holds. POSIX file locks belong to the process, and closing any channel of a file
   * drops all of them, so a second attempt from this JVM must not even open the file: it sees the lock as busy.
   */
  private static final java.util.Map<Path, String> HELD = new java.util.concurrent.ConcurrentHashMap<>();

  private final FileChannel channel;
  private final FileLock lock;
  private final Path key;

  private LockFile(FileChannel channel, FileLock lock, Path key) {
    this.channel = channel;
    this.lock = lock;
    this.key = key;
  }

  /**
   * Takes the lock of {@code stateDir}, or fails with {@link dev.bbdiy.api.ErrorCode#REFUSED} naming the process
   * that holds it.
   */
  public static LockFile acquire(Path stateDir, String operation) {
    Path file = stateDir.resolve("run.lock");
    Path key = file.toAbsolutePath().normalize();
    String me = "pid " + ProcessHandle.current().pid() + " on " + hostName() + ", " + operation + " started "
        + Instant.now();
    String other = HELD.putIfAbsent(key, me);
    if (other != null) {
      throw BbdiyException.refused("Another bbdiy run is using " + stateDir.getParent() + ": " + other
          + ". Wait for it to end; if it hangs, stop that process (it unlocks Bitbucket on SIGTERM).");
    }
    FileChannel ch = null;
    try {
      PrivateFiles.createPrivateDirectories(stateDir);
      ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
      FileLock lock = tryLock(ch);
      if (lock == null) {
        String holder = readHolder(ch);
        ch.close();
        HELD.remove(key);
        throw BbdiyException.refused("Another bbdiy run is using " + stateDir.getParent() + ": " + holder
            + ". Wait for it to end; if it hangs, stop that process (it unlocks Bitbucket on SIGTERM).");
      }
      ch.truncate(0);
      ch.write(ByteBuffer.wrap(me.getBytes(StandardCharsets.UTF_8)), 0);
      ch.force(false);
      return new LockFile(ch, lock, key);
    } catch (IOException | RuntimeException e) {
      try {
        if (ch != null) {
          ch.close();
        }
      } catch (IOException ignored) {
        // already failing
      }
      HELD.remove(key);
      if (e instanceof RuntimeException) {
        throw (RuntimeException) e;
      }
      throw BbdiyException.configuration("Cannot use the working directory " + stateDir.getParent() + ": "
          + e.getMessage() + ". Check work.dir exists and is writable by this user.");
    }
  }

  /**
   * Takes the lock of a backup store kept in {@code file}, waiting for it up to {@code wait} (polling, so that a
   * cancellation ends the wait).
   *
   * @param store how messages name the store, e.g. {@code the archive directory /backup}
   * @throws BbdiyException {@link dev.bbdiy.api.ErrorCode#REFUSED} naming the holder after {@code wait}
   */
  public static LockFile acquireStore(Path file, String store, String operation, java.time.Duration wait,
      dev.bbdiy.api.spi.CancellationSignal cancellation, dev.bbdiy.api.spi.ProgressReporter progress) {
    long deadline = System.nanoTime() + wait.toNanos();
    boolean reported = false;
    Path key = file.toAbsolutePath().normalize();
    FileChannel ch = null;
    try {
      long pause = 20;
      while (true) {
        String me = "pid " + ProcessHandle.current().pid() + " on " + hostName() + ", " + operation
            + " started " + Instant.now();
        String holder = HELD.putIfAbsent(key, me);
        if (holder == null) {
          ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
          FileLock lock = tryLock(ch);
          if (lock != null) {
            ch.truncate(0);
            ch.write(ByteBuffer.wrap(me.getBytes(StandardCharsets.UTF_8)), 0);
            return new LockFile(ch, lock, key);
          }
          holder = readHolder(ch);
          ch.close();
          ch = null;
          HELD.remove(key);
        }
        if (System.nanoTime() > deadline) {
          throw BbdiyException.refused("The lock of " + store + " is held by another bbdiy process (" + holder
              + ") for longer than " + wait.toSeconds() + " s. It publishes backups or applies retention; wait"
              + " for it, or stop it if it hangs.");
        }
        if (!reported) {
          progress.message("waiting for the lock of " + store + ", held by " + holder);
          reported = true;
        }
        cancellation.throwIfCancelled();
        try {
          Thread.sleep(pause);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new BbdiyException(dev.bbdiy.api.ErrorCode.INTERRUPTED, "Interrupted while waiting for the lock of "
              + store, e);
        }
        pause = Math.min(1000, pause * 2);
      }
    } catch (IOException e) {
      try {
        if (ch != null) {
          ch.close();
          HELD.remove(key);
        }
      } catch (IOException ignored) {
        // already failing
      }
      throw new BbdiyException(dev.bbdiy.api.ErrorCode.PROVIDER_FAILED, "Cannot lock " + store + " (" + file + "): "
          + e.getMessage() + ". Check the directory is writable by this user.", e);
    }
  }

  private static @org.jspecify.annotations.Nullable FileLock tryLock(FileChannel ch) throws IOException {
    try {
      return ch.tryLock();
    } catch (OverlappingFileLockException e) {
      return null; // held by this JVM (another engine): as busy as any other holder
    }
  }

  private static String readHolder(FileChannel ch) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(512);
    ch.read(buf, 0);
    String s = new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8).trim();
    return s.isEmpty() ? "a process that has not written its name yet" : s;
  }

  /**
   * Returns this machine's name, looked up once: the lock state file is rewritten while Bitbucket is locked, and a
   * host name lookup can wait for DNS.
   */
  public static String hostName() {
    return Host.NAME;
  }

  private static final class Host {
    static final String NAME = lookUp();

    private static String lookUp() {
      try {
        return InetAddress.getLocalHost().getHostName();
      } catch (IOException e) {
        return "this host";
      }
    }
  }

  @Override
  public void close() {
    try {
      lock.release();
      channel.close();
    } catch (IOException ignored) {
      // the OS releases it with the process anyway
    } finally {
      HELD.remove(key);
    }
  }
}
