package dev.bbdiy.mesh.internal;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The framing of the mesh protocol: one JSON object per line (UTF-8, {@code \n}), and binary data as a line
 * {@code {"chunk":N}} followed by exactly N bytes. Both sides use it on the same byte stream.
 */
public final class Frames {
  /** The largest chunk accepted. */
  public static final int MAX_CHUNK = 1 << 20;

  private Frames() {}

  /** Reads frames from a stream. Not thread-safe: one reader per stream. */
  public static final class In {
    private final InputStream in;
    private final byte[] buf = new byte[64 * 1024];
    private int start;
    private int end;

    /** Wraps {@code in}, which it reads in blocks. */
    public In(InputStream in) {
      this.in = in;
    }

    /** Returns the next line without its {@code \n}, or {@code null} at the end of the stream. */
    public @Nullable String readLine() throws IOException {
      java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();
      while (true) {
        if (start == end && !fill()) {
          if (line.size() == 0) {
            return null;
          }
          throw new EOFException("the stream ended inside a line");
        }
        for (int i = start; i < end; i++) {
          if (buf[i] == '\n') {
            line.write(buf, start, i - start);
            start = i + 1;
            return line.toString(StandardCharsets.UTF_8);
          }
        }
        line.write(buf, start, end - start);
        start = end;
        if (line.size() > Json.MAX_LINE) {
          throw new IOException("a protocol line is longer than " + Json.MAX_LINE + " bytes");
        }
      }
    }

    /** Reads the next JSON object line, or {@code null} at the end of the stream. */
    public @Nullable Map<String, Object> readObject() throws IOException {
      String line = readLine();
      if (line == null) {
        return null;
      }
      try {
        return Json.parseObject(line);
      } catch (IllegalArgumentException e) {
        throw new IOException("not a protocol line (" + e.getMessage() + "): " + shorten(line), e);
      }
    }

    /** Copies exactly {@code n} bytes of a chunk to {@code out}. */
    public void readChunk(long n, OutputStream out) throws IOException {
      if (n < 0 || n > MAX_CHUNK) {
        throw new IOException("bad chunk length " + n);
      }
      long left = n;
      while (left > 0) {
        if (start == end && !fill()) {
          throw new EOFException("the stream ended inside a chunk");
        }
        int k = (int) Math.min(left, end - start);
        out.write(buf, start, k);
        start += k;
        left -= k;
      }
    }

    private boolean fill() throws IOException {
      int n = in.read(buf, 0, buf.length);
      if (n < 0) {
        return false;
      }
      start = 0;
      end = n;
      return true;
    }
  }

  /** Writes frames to a stream; thread-safe, each frame written whole. */
  public static final class Out {
    private final OutputStream out;

    /** Wraps {@code out}. */
    public Out(OutputStream out) {
      this.out = out;
    }

    /** Writes one JSON object line and flushes. */
    public synchronized void writeObject(Map<String, ?> object) throws IOException {
      out.write((Json.write(object) + "\n").getBytes(StandardCharsets.UTF_8));
      out.flush();
    }

    /** Writes one chunk (not flushed: the next line flushes). */
    public synchronized void writeChunk(byte[] data, int off, int len) throws IOException {
      if (len <= 0) {
        return;
      }
      out.write(("{\"chunk\":" + len + "}\n").getBytes(StandardCharsets.UTF_8));
      out.write(data, off, len);
    }

    /** Copies a whole stream as chunks. */
    public void copyFrom(InputStream in) throws IOException {
      byte[] b = new byte[256 * 1024];
      int n;
      while ((n = in.read(b)) >= 0) {
        writeChunk(b, 0, n);
      }
      synchronized (this) {
        out.flush();
      }
    }

    /** Closes the stream. */
    public synchronized void close() throws IOException {
      out.close();
    }
  }

  static String shorten(String s) {
    String t = s.length() > 200 ? s.substring(0, 200) + "..." : s;
    StringBuilder sb = new StringBuilder();
    for (char c : t.toCharArray()) {
      sb.append(c < 0x20 || c == 0x7f ? '?' : c);
    }
    return sb.toString();
  }
}
