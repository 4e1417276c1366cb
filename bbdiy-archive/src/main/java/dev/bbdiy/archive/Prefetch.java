package dev.bbdiy.archive;

import java.util.Objects;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.CancellationSignal;
import dev.bbdiy.api.spi.ContentSource;
import dev.bbdiy.kit.FileMeta;
import dev.bbdiy.kit.FileNames;
import dev.bbdiy.kit.TreeWalker;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collection;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * Walks a tree in canonical order on a thread of its own and reads the small files ahead on a few more, each with
 * its SHA-256, so that the archive writer is handed entries in order with their content ready. A home of millions
 * of small files (loose git objects) is bound by the system calls of each file ({@code lstat}, {@code open},
 * {@code read}, {@code close}), not by the disk: this makes them in parallel, as {@code tar} piped into a separate
 * compressor does across processes.
 *
 * <p>Memory is bounded: at most {@link #WINDOW} entries are ahead of the writer, and at most {@link #BUDGET} bytes
 * of content; files over {@link #SMALL} bytes are not read ahead (the writer streams them).
 */
final class Prefetch implements AutoCloseable {
  /** Files up to this size are read ahead whole. */
  static final int SMALL = 256 * 1024;
  private static final int WINDOW = 4096;
  private static final int BUDGET = 32 << 20;
  private static final Item END = new Item(Path.of("."), "", null, null);

  /** One entry of the walk: its metadata and, for a small file, its content and digest on the way. */
  record Item(Path path, String relative, @Nullable FileMeta meta, @Nullable CompletableFuture<Content> content) {}

  /** A small file's content, as read, with its SHA-256. */
  record Content(byte[] data, int length, byte[] sha256) {}

  private final BlockingQueue<Object> queue = new ArrayBlockingQueue<>(WINDOW);
  private final Semaphore budget = new Semaphore(BUDGET);
  private final ExecutorService readers;
  private final Thread walker;
  private final CancellationSignal cancellation;
  private volatile boolean closed;

  Prefetch(Path base, Collection<String> roots, Collection<ContentSource> sources, CancellationSignal cancellation,
      int readerThreads) {
    this.cancellation = cancellation;
    this.readers = Executors.newFixedThreadPool(Math.max(1, readerThreads), r -> {
      Thread t = new Thread(r, "bbdiy-read-ahead");
      t.setDaemon(true);
      return t;
    });
    this.walker = new Thread(() -> walk(base, roots, sources), "bbdiy-walk");
    walker.setDaemon(true);
    walker.start();
  }

  private void walk(Path base, Collection<String> roots, Collection<ContentSource> sources) {
    try {
      new TreeWalker(cancellation).walk(base, roots, sources, (path, rel, meta) -> {
        try {
          CompletableFuture<Content> content = null;
          if (meta.type() == FileMeta.Type.FILE && meta.size() <= SMALL) {
            int size = (int) meta.size();
            acquire(size);
            content = CompletableFuture.supplyAsync(() -> read(path, rel, size), readers);
          }
          put(new Item(path, rel, meta, content));
        } catch (InterruptedException e) {
          throw new java.io.InterruptedIOException("read-ahead closed");
        }
      });
      put(END);
    } catch (Throwable t) {
      try {
        put(t);
      } catch (InterruptedException ignored) {
        // closed: nobody waits for the failure
      }
    }
  }

  private void acquire(int bytes) throws InterruptedException {
    while (!budget.tryAcquire(bytes, 100, TimeUnit.MILLISECONDS)) {
      if (closed) {
        throw new InterruptedException("closed");
      }
    }
  }

  private void put(Object item) throws InterruptedException {
    while (!queue.offer(item, 100, TimeUnit.MILLISECONDS)) {
      if (closed) {
        throw new InterruptedException("closed");
      }
    }
  }

  private static Content read(Path path, String rel, int size) {
    byte[] data = new byte[size];
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
      ByteBuffer b = ByteBuffer.wrap(data);
      while (b.hasRemaining()) {
        if (ch.read(b) < 0) {
          throw changed(rel, "shrank");
        }
      }
      if (ch.read(ByteBuffer.allocate(1)) > 0) {
        throw changed(rel, "grew");
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return new Content(data, size, sha256().digest(data));
  }

  static BbdiyException changed(String rel, String how) {
    return new BbdiyException(ErrorCode.PROVIDER_FAILED, "The working copy changed while it was archived: "
        + FileNames.display(rel) + " " + how + ". Nothing may write to the working directory during a backup.");
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Returns the next entry in canonical order, or {@code null} at the end. */
  @Nullable Item next() throws IOException {
    Object o;
    try {
      o = queue.take();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while walking the tree");
    }
    if (o == END) {
      return null;
    }
    if (o instanceof Throwable) {
      throw rethrow((Throwable) o);
    }
    return (Item) o;
  }

  /** Waits for a small file's content, and gives its bytes back to the budget once the caller is done. */
  Content content(Item item) throws IOException {
    try {
      return Objects.requireNonNull(item.content(), "a file that was not read ahead").get();
    } catch (ExecutionException e) {
      throw rethrow(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while reading ahead");
    }
  }

  /** Returns {@code bytes} to the read-ahead budget. */
  void release(int bytes) {
    budget.release(bytes);
  }

  private static IOException rethrow(@Nullable Throwable t) {
    if (t instanceof java.io.UncheckedIOException) {
      IOException cause = ((java.io.UncheckedIOException) t).getCause();
      return cause != null ? cause : new IOException(t);
    }
    if (t == null) {
      return new IOException("reading ahead failed without a cause");
    }
    if (t instanceof IOException) {
      return (IOException) t;
    }
    if (t instanceof RuntimeException) {
      throw (RuntimeException) t;
    }
    if (t instanceof Error) {
      throw (Error) t;
    }
    return new IOException(t);
  }

  @Override
  public void close() {
    closed = true;
    walker.interrupt();
    readers.shutdownNow();
    queue.clear();
  }
}
