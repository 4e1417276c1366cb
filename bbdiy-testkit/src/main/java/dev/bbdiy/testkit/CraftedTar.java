package dev.bbdiy.testkit;

import org.jspecify.annotations.Nullable;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;

/**
 * Builds tar archives byte by byte, the way an attacker or a damaged disk would: any entry type, names that are
 * not UTF-8, links through links, entries twice, GNU long names and pax headers, and a matching (or lying)
 * {@code manifest.json}. For tests of archivers and of anything that restores.
 *
 * <p>Names are given as bytes ({@link #bytes}) or as text (UTF-8). Nothing here checks anything: that is the
 * point.
 */
public final class CraftedTar {
  private static final int BLOCK = 512;

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final List<String> manifestEntries = new ArrayList<>();
  private List<String> artifactPaths = List.of("bitbucket-home");
  private long files;
  private long bytes;

  /** Returns the bytes of a text name, for names given as bytes. */
  public static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  /** Returns a name made of text and raw bytes, e.g. {@code name("bitbucket-home/x-", 0xff, ".txt")}. */
  public static byte[] name(Object... parts) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    for (Object p : parts) {
      if (p instanceof Integer) {
        b.write((Integer) p);
      } else if (p instanceof byte[]) {
        b.writeBytes((byte[]) p);
      } else {
        b.writeBytes(p.toString().getBytes(StandardCharsets.UTF_8));
      }
    }
    return b.toByteArray();
  }

  /** Sets the paths the manifest's home artifact lists (default {@code bitbucket-home}). */
  public CraftedTar artifactPaths(String... paths) {
    this.artifactPaths = List.of(paths);
    return this;
  }

  /** Adds a directory. */
  public CraftedTar directory(String name) {
    return directory(bytes(name));
  }

  /** Adds a directory. */
  public CraftedTar directory(byte[] name) {
    entry(name, '5', new byte[0], new byte[0], 0755);
    manifest(name, "dir", null, null, 0755);
    return this;
  }

  /** Adds a regular file. */
  public CraftedTar file(String name, String content) {
    return file(bytes(name), content.getBytes(StandardCharsets.UTF_8));
  }

  /** Adds a regular file. */
  public CraftedTar file(byte[] name, byte[] content) {
    entry(name, '0', new byte[0], content, 0644);
    manifest(name, "file", content, null, 0644);
    files++;
    bytes += content.length;
    return this;
  }

  /** Adds a symbolic link. */
  public CraftedTar symlink(String name, String target) {
    return symlink(bytes(name), bytes(target));
  }

  /** Adds a symbolic link. */
  public CraftedTar symlink(byte[] name, byte[] target) {
    entry(name, '2', target, new byte[0], 0777);
    manifest(name, "symlink", null, target, 0777);
    return this;
  }

  /** Adds a hard link to {@code existing}. */
  public CraftedTar hardLink(String name, String existing) {
    entry(bytes(name), '1', bytes(existing), new byte[0], 0644);
    manifest(bytes(name), "hardlink", null, bytes(existing), 0644);
    return this;
  }

  /** Adds an entry of any type flag ({@code '3'} character device, {@code '6'} fifo, {@code 'S'} sparse...). */
  public CraftedTar raw(String name, char type, byte[] content) {
    entry(bytes(name), type, new byte[0], content, 0644);
    return this;
  }

  /** Adds a file whose name is carried by a pax {@code path} header (raw bytes, as GNU tar writes them). */
  public CraftedTar paxFile(byte[] name, byte[] content) {
    byte[] record = paxRecord("path", name);
    header(bytes("././@PaxHeader"), 'x', new byte[0], record.length, 0644);
    pad(record);
    entry(bytes("placeholder"), '0', new byte[0], content, 0644);
    manifest(name, "file", content, null, 0644);
    files++;
    bytes += content.length;
    return this;
  }

  /** Adds a file whose name is carried by a GNU long name entry. */
  public CraftedTar gnuLongFile(byte[] name, byte[] content) {
    byte[] n = name(name, 0);
    header(bytes("././@LongLink"), 'L', new byte[0], n.length, 0644);
    pad(n);
    entry(bytes("placeholder"), '0', new byte[0], content, 0644);
    manifest(name, "file", content, null, 0644);
    files++;
    bytes += content.length;
    return this;
  }

  /** Adds {@code manifest.json} listing every entry added so far, as bbdiy would (format 2). */
  public CraftedTar manifest(String backupId) {
    return manifestText(manifestJson(backupId));
  }

  /** Adds a {@code manifest.json} with the given text. */
  public CraftedTar manifestText(String json) {
    byte[] m = json.getBytes(StandardCharsets.UTF_8);
    entry(bytes("manifest.json"), '0', new byte[0], m, 0644);
    return this;
  }

  /** Returns the manifest bbdiy would write for the entries added so far. */
  public String manifestJson(String backupId) {
    return "{\"format\":2,\"id\":\"" + backupId + "\",\"toolVersion\":\"crafted\",\"instance\":\"bitbucket\","
        + "\"instanceType\":\"BITBUCKET\",\"startedAt\":\"2026-01-01T00:00:00Z\","
        + "\"consistentAt\":\"2026-01-01T00:00:00Z\",\"zeroDowntime\":false,\"files\":" + files + ",\"bytes\":"
        + bytes + ",\"artifacts\":[{\"provider\":\"copy\",\"kind\":\"HOME\",\"paths\":[\""
        + String.join("\",\"", artifactPaths) + "\"],\"properties\":{}}],\"settings\":{},\"entries\":["
        + String.join(",", manifestEntries) + "]}";
  }

  /** Ends the archive (two zero blocks) and returns its bytes. */
  public byte[] build() {
    ByteArrayOutputStream copy = new ByteArrayOutputStream();
    copy.writeBytes(out.toByteArray());
    copy.writeBytes(new byte[BLOCK * 2]);
    return copy.toByteArray();
  }

  /** Writes the archive to {@code file}. */
  public Path writeTo(Path file) throws IOException {
    Files.write(file, build());
    return file;
  }

  private void manifest(byte[] name, String type, byte @Nullable [] content, byte @Nullable [] target, int mode) {
    StringBuilder e = new StringBuilder("{");
    e.append(nameField("path", name)).append(",\"type\":\"").append(type).append('"');
    if (content != null) {
      e.append(",\"size\":").append(content.length).append(",\"sha256\":\"").append(sha256(content)).append('"');
    }
    if (target != null) {
      e.append(',').append(nameField("target", target));
    }
    e.append(",\"mode\":\"").append(String.format("%04o", mode)).append("\",\"mtime\":1600000000}");
    manifestEntries.add(e.toString());
  }

  private static String nameField(String field, byte[] name) {
    String text = new String(name, StandardCharsets.UTF_8);
    if (java.util.Arrays.equals(text.getBytes(StandardCharsets.UTF_8), name)) {
      return "\"" + field + "\":\"" + text.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
    return "\"" + field + "Bytes\":\"" + Base64.getEncoder().encodeToString(name) + "\"";
  }

  private void entry(byte[] name, char type, byte[] link, byte[] content, int mode) {
    header(name, type, link, content.length, mode);
    pad(content);
  }

  private void header(byte[] name, char type, byte[] link, long size, int mode) {
    byte[] h = new byte[BLOCK];
    System.arraycopy(name, 0, h, 0, Math.min(name.length, 100));
    octal(h, 100, 8, mode);
    octal(h, 108, 8, 0);
    octal(h, 116, 8, 0);
    octal(h, 124, 12, size);
    octal(h, 136, 12, 1_600_000_000L);
    h[156] = (byte) type;
    System.arraycopy(link, 0, h, 157, Math.min(link.length, 100));
    byte[] magic = "ustar\u000000".getBytes(StandardCharsets.ISO_8859_1);
    System.arraycopy(magic, 0, h, 257, magic.length);
    for (int i = 148; i < 156; i++) {
      h[i] = ' ';
    }
    long sum = 0;
    for (byte b : h) {
      sum += b & 0xff;
    }
    octal(h, 148, 7, sum);
    out.writeBytes(h);
  }

  private void pad(byte[] content) {
    out.writeBytes(content);
    int r = content.length % BLOCK;
    if (r != 0) {
      out.writeBytes(new byte[BLOCK - r]);
    }
  }

  private static void octal(byte[] h, int offset, int length, long value) {
    String s = Long.toOctalString(value);
    while (s.length() < length - 1) {
      s = "0" + s;
    }
    byte[] b = s.getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(b, 0, h, offset, length - 1);
    h[offset + length - 1] = 0;
  }

  private static byte[] paxRecord(String key, byte[] value) {
    byte[] body = name(" ", key, "=", value, "\n");
    int len = body.length;
    int digits = Integer.toString(len).length();
    while (Integer.toString(len + digits).length() != digits) {
      digits++;
    }
    return name(Integer.toString(len + digits), body);
  }

  private static String sha256(byte[] content) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
