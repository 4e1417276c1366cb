package dev.bbdiy.core.internal;

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
 * The local lock that allows one bbdiy run per working directory at a time. It is an OS file lock, so it is
 * released when the process dies, however it dies; the file names the holder for the error message.
 */
public final class RunLock implements AutoCloseable {
  private final FileChannel channel;
  private final FileLock lock;

  private RunLock(FileChannel channel, FileLock lock) {
    this.channel = channel;
    this.lock = lock;
  }

  /**
   * Takes the lock of {@code stateDir}, or fails with {@link dev.bbdiy.api.ErrorCode#REFUSED} naming the process
   * that holds it.
   */
  public static RunLock acquire(Path stateDir, String operation) {
    Path file = stateDir.resolve("run.lock");
    FileChannel ch = null;
    try {
      SecureFiles.createPrivateDirectories(stateDir);
      ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
      FileLock lock;
      try {
        lock = ch.tryLock();
      } catch (OverlappingFileLockException e) {
        lock = null;
      }
      if (lock == null) {
        String holder = readHolder(ch);
        ch.close();
        throw BbdiyException.refused("Another bbdiy run is using " + stateDir.getParent() + ": " + holder
            + ". Wait for it to end; if it hangs, stop that process (it unlocks Bitbucket on SIGTERM).");
      }
      String holder = "pid " + ProcessHandle.current().pid() + " on " + hostName() + ", " + operation
          + " started " + Instant.now();
      ch.truncate(0);
      ch.write(ByteBuffer.wrap(holder.getBytes(StandardCharsets.UTF_8)), 0);
      ch.force(false);
      return new RunLock(ch, lock);
    } catch (IOException e) {
      try {
        if (ch != null) {
          ch.close();
        }
      } catch (IOException ignored) {
        // already failing
      }
      throw BbdiyException.configuration("Cannot use the working directory " + stateDir.getParent() + ": "
          + e.getMessage() + ". Check work.dir exists and is writable by this user.");
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
  static String hostName() {
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
    }
  }
}
