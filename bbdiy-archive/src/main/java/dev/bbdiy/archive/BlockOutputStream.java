package dev.bbdiy.archive;

import java.io.IOException;
import java.io.OutputStream;

/**
 * Cuts what is written into blocks of a fixed size and hands each full block to {@link #block}, for streams that
 * process blocks in parallel (compression, multipart uploads). A block handed on is never written to again.
 */
public abstract class BlockOutputStream extends OutputStream {
  private final int blockSize;
  private byte[] buffer;
  private int filled;

  protected BlockOutputStream(int blockSize) {
    this.blockSize = blockSize;
    this.buffer = new byte[blockSize];
  }

  /** Takes a block: the first {@code length} bytes of {@code data}, which now belongs to the callee. */
  protected abstract void block(byte[] data, int length) throws IOException;

  /** Returns how many bytes wait in the current, partial block. */
  protected final int buffered() {
    return filled;
  }

  /** Hands the current block on, however full (also empty). */
  protected final void handOff() throws IOException {
    byte[] data = buffer;
    int length = filled;
    buffer = new byte[blockSize];
    filled = 0;
    block(data, length);
  }

  @Override
  public final void write(int b) throws IOException {
    write(new byte[] {(byte) b}, 0, 1);
  }

  @Override
  public final void write(byte[] b, int off, int len) throws IOException {
    while (len > 0) {
      int n = Math.min(len, blockSize - filled);
      System.arraycopy(b, off, buffer, filled, n);
      filled += n;
      off += n;
      len -= n;
      if (filled == blockSize) {
        handOff();
      }
    }
  }
}
