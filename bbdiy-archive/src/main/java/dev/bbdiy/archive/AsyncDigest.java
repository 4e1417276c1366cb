package dev.bbdiy.archive;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * SHA-256 on a thread of its own, so hashing overlaps reading, archiving and compressing. The caller hands over
 * copies of its data in order and marks where each digest ends; the digests are delivered, in order, to the
 * callbacks it gives. Memory stays bounded: at most {@code buffers} chunks of {@code chunkSize} are in flight.
 */
final class AsyncDigest implements AutoCloseable {
  private static final Object STOP = new Object();

  /** Ends a digest (and passes it on), or runs an ordered action without ending one. */
  private record Mark(Consumer<byte[]> onDigest, boolean ends) {}

  private record Chunk(byte[] data, int length) {}

  private final BlockingQueue<Object> work;
  private final BlockingQueue<byte[]> pool;
  private final int chunkSize;
  private final Thread thread;
  private final AtomicReference<Throwable> failure = new AtomicReference<>();

  AsyncDigest(String name, int buffers, int chunkSize) {
    this.work = new ArrayBlockingQueue<>(buffers * 2 + 16);
    this.pool = new ArrayBlockingQueue<>(buffers);
    this.chunkSize = chunkSize;
    for (int i = 0; i < buffers; i++) {
      pool.add(new byte[chunkSize]);
    }
    this.thread = new Thread(this::run, name);
    thread.setDaemon(true);
    thread.start();
  }

  /** Adds data to the current digest (copied; the caller may reuse {@code b} at once). */
  void update(byte[] b, int off, int len) throws IOException {
    while (len > 0) {
      int n = Math.min(len, chunkSize);
      byte[] buf = take(pool);
      System.arraycopy(b, off, buf, 0, n);
      put(new Chunk(buf, n));
      off += n;
      len -= n;
    }
  }

  /** Ends the current digest; {@code onDigest} receives it on the digest thread, after earlier callbacks. */
  void end(Consumer<byte[]> onDigest) throws IOException {
    put(new Mark(onDigest, true));
  }

  /** Runs {@code action} on the digest thread after everything submitted so far (for ordered side effects). */
  void then(Runnable action) throws IOException {
    put(new Mark(digest -> action.run(), false));
  }

  /** Waits until everything submitted has been processed; rethrows a failure of a callback. */
  void finish() throws IOException {
    put(STOP);
    try {
      thread.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while hashing");
    }
    check();
  }

  @Override
  public void close() {
    if (thread.isAlive()) {
      thread.interrupt();
      try {
        thread.join(10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void run() {
    MessageDigest md;
    try {
      md = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      failure.set(e);
      return;
    }
    try {
      while (true) {
        Object item = work.take();
        if (item == STOP) {
          return;
        }
        if (failure.get() != null) {
          if (item instanceof Chunk) {
            pool.put(((Chunk) item).data());
          }
          continue;
        }
        try {
          if (item instanceof Chunk) {
            Chunk c = (Chunk) item;
            md.update(c.data(), 0, c.length());
            pool.put(c.data());
          } else {
            Mark m = (Mark) item;
            m.onDigest().accept(m.ends() ? md.digest() : new byte[0]);
          }
        } catch (RuntimeException e) {
          failure.compareAndSet(null, e);
        }
      }
    } catch (InterruptedException e) {
      // closed
    }
  }

  private void put(Object item) throws IOException {
    check();
    try {
      work.put(item);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while hashing");
    }
  }

  private byte[] take(BlockingQueue<byte[]> queue) throws IOException {
    check();
    try {
      return queue.take();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while hashing");
    }
  }

  private void check() throws IOException {
    Throwable t = failure.get();
    if (t instanceof java.io.UncheckedIOException) {
      throw ((java.io.UncheckedIOException) t).getCause();
    }
    if (t instanceof RuntimeException) {
      throw (RuntimeException) t;
    }
    if (t != null) {
      throw new IOException(t);
    }
  }
}
