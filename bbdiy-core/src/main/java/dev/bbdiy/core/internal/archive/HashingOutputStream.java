package dev.bbdiy.core.internal.archive;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Counts and hashes (SHA-256) what passes through, for the digest of a whole archive file. */
public final class HashingOutputStream extends FilterOutputStream {
  private final MessageDigest digest;
  private long count;

  public HashingOutputStream(OutputStream out) {
    super(out);
    try {
      this.digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void write(int b) throws IOException {
    out.write(b);
    digest.update((byte) b);
    count++;
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    out.write(b, off, len);
    digest.update(b, off, len);
    count += len;
  }

  /** Returns the bytes written. */
  public long count() {
    return count;
  }

  /** Returns the SHA-256 of what was written, as hex; call once, after the last write. */
  public String hex() {
    return HexFormat.of().formatHex(digest.digest());
  }
}
