package dev.bbdiy.copy;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.CancellationSignal;
import dev.bbdiy.kit.FileMeta;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;

/**
 * Copies files for a {@link Mirror} pass on parallel workers, each to a temporary name renamed into place, so a
 * failed pass never leaves a torn file. The first failure stops the workers and is thrown by the next
 * {@link #submit} or by {@link #finish}; closing without finishing discards what is still queued.
 */
final class ParallelCopier implements AutoCloseable {
  private static final long CHUNK = 64L << 20;

  private final CancellationSignal cancellation;
  private final UnaryOperator<Path> temp;
  private final AtomicLong copied;
  private final AtomicLong bytes;
  private final BlockingQueue<Object[]> queue = new ArrayBlockingQueue<>(1024);
  private final List<Thread> threads = new ArrayList<>();
  private final AtomicReference<Throwable> failure = new AtomicReference<>();
  private boolean finished;

  ParallelCopier(int workers, CancellationSignal cancellation, UnaryOperator<Path> temp, AtomicLong copied,
      AtomicLong bytes) {
    this.cancellation = cancellation;
    this.temp = temp;
    this.copied = copied;
    this.bytes = bytes;
    for (int i = 0; i < workers; i++) {
      Thread t = new Thread(this::work, "bbdiy-copy-" + i);
      t.setDaemon(true);
      t.start();
      threads.add(t);
    }
  }

  void submit(Path src, Path dst, FileMeta meta) throws IOException {
    check();
    try {
      while (!queue.offer(new Object[] {src, dst, meta}, 100, TimeUnit.MILLISECONDS)) {
        check();
        cancellation.throwIfCancelled();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BbdiyException(ErrorCode.INTERRUPTED, "interrupted while copying");
    }
  }

  private void check() throws IOException {
    Throwable t = failure.get();
    if (t instanceof IOException) {
      throw (IOException) t;
    }
    if (t instanceof RuntimeException) {
      throw (RuntimeException) t;
    }
    if (t != null) {
      throw new IOException(t);
    }
  }

  private void work() {
    while (true) {
      Object[] job;
      try {
        job = queue.take();
      } catch (InterruptedException e) {
        return;
      }
      if (job.length == 0) {
        return;
      }
      if (failure.get() != null) {
        continue;
      }
      try {
        copy((Path) job[0], (Path) job[1], (FileMeta) job[2]);
      } catch (Throwable t) {
        failure.compareAndSet(null, t);
      }
    }
  }

  private void copy(Path src, Path dst, FileMeta meta) throws IOException {
    cancellation.throwIfCancelled();
    Path tmp = temp.apply(dst);
    boolean done = false;
    try (FileChannel in = FileChannel.open(src, StandardOpenOption.READ);
        FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      long size = in.size();
      long pos = 0;
      while (pos < size) {
        cancellation.throwIfCancelled();
        long n = in.transferTo(pos, Math.min(CHUNK, size - pos), out);
        if (n <= 0) {
          break;
        }
        pos += n;
      }
      bytes.addAndGet(pos);
      Mirror.setMeta(tmp, meta);
      Files.setLastModifiedTime(tmp, meta.mtime());
      Mirror.rename(tmp, dst);
      copied.incrementAndGet();
      done = true;
    } catch (NoSuchFileException e) {
      if (Files.exists(src, LinkOption.NOFOLLOW_LINKS)) {
        throw e;
      }
      // The source vanished while Bitbucket was live: the next pass records its absence.
    } finally {
      if (!done) {
        Files.deleteIfExists(tmp);
      }
    }
  }

  /** Waits for every queued copy; throws the first failure. */
  void finish() throws IOException {
    finished = true;
    stop();
    check();
  }

  private void stop() {
    for (int i = 0; i < threads.size(); i++) {
      try {
        queue.put(new Object[0]);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    for (Thread t : threads) {
      boolean interrupted = false;
      while (t.isAlive()) {
        try {
          t.join();
        } catch (InterruptedException e) {
          interrupted = true;
          failure.compareAndSet(null, new BbdiyException(ErrorCode.INTERRUPTED, "interrupted while copying"));
        }
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  @Override
  public void close() {
    if (!finished) {
      failure.compareAndSet(null, new BbdiyException(ErrorCode.INTERRUPTED, "pass aborted"));
      queue.clear();
      stop();
    }
  }
}
