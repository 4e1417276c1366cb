package dev.bbdiy.copy;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/** Streams a {@link Mirror}'s index with one entry of look-ahead. */
final class IndexReader implements AutoCloseable {
  final DataInputStream in;
  final long passStart;
  @Nullable IndexEntry next;

  IndexReader(Path file) throws IOException {
    this.in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 16));
    this.passStart = in.readLong();
    this.next = IndexEntry.read(in);
  }

  @Nullable IndexEntry peek() {
    return next;
  }

  IndexEntry next() throws IOException {
    IndexEntry e = Objects.requireNonNull(next);
    next = IndexEntry.read(in);
    return e;
  }

  @Override
  public void close() throws IOException {
    in.close();
  }
}
