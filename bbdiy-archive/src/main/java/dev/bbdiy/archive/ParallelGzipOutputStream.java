package dev.bbdiy.archive;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.zip.GZIPOutputStream;

/**
 * gzip on every core, the way pigz does it: the input is cut into 1 MiB blocks compressed in parallel, each
 * written as a complete gzip member, in order. Concatenated members are a valid gzip file ({@code gzip -d},
 * {@code tar -xzf} and {@link java.util.zip.GZIPInputStream} read them). Memory stays bounded: at most two blocks
 * per thread are in flight.
 */
final class ParallelGzipOutputStream extends BlockOutputStream {
  private static final int BLOCK = 1 << 20;

  private final OutputStream out;
  private final int level;
  private final ExecutorService pool;
  private final Deque<Future<byte[]>> pending = new ArrayDeque<>();
  private final int maxPending;
  private boolean closed;

  ParallelGzipOutputStream(OutputStream out, int level, int threads) {
    super(BLOCK);
    this.out = out;
    this.level = level;
    this.maxPending = Math.max(2, threads * 2);
    this.pool = Executors.newFixedThreadPool(Math.max(1, threads), r -> {
      Thread t = new Thread(r, "bbdiy-gzip");
      t.setDaemon(true);
      return t;
    });
  }

  @Override
  protected void block(byte[] data, int length) throws IOException {
    pending.add(pool.submit(() -> compress(data, length)));
    while (pending.size() >= maxPending) {
      writeHead();
    }
  }

  private byte[] compress(byte[] data, int length) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(length / 2 + 64);
    try (GZIPOutputStream gz = new GZIPOutputStream(bytes, 1 << 16) {
      {
        def.setLevel(level);
      }
    }) {
      gz.write(data, 0, length);
    }
    return bytes.toByteArray();
  }

  private void writeHead() throws IOException {
    Future<byte[]> head = pending.poll();
    if (head == null) {
      return;
    }
    try {
      out.write(head.get());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while compressing");
    } catch (ExecutionException e) {
      throw new IOException("gzip compression failed: " + e.getCause(), e.getCause());
    }
  }

  @Override
  public void flush() throws IOException {
    out.flush();
  }

  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    try {
      if (buffered() > 0 || pending.isEmpty()) {
        handOff();
      }
      while (!pending.isEmpty()) {
        writeHead();
      }
      out.close();
    } finally {
      pool.shutdownNow();
    }
  }
}
