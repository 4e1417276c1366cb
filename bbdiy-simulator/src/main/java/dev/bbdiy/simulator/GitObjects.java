package dev.bbdiy.simulator;

import org.jspecify.annotations.Nullable;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;

/**
 * Writes real bare git repositories without a git binary: loose zlib objects, trees, commits and refs, in the
 * format {@code git fsck} accepts. Enough for the demo to back up genuine repositories where only Java is
 * installed; tests with packs use {@code git} itself.
 */
public final class GitObjects {
  private final Path repo;

  private GitObjects(Path repo) {
    this.repo = repo;
  }

  /** Creates an empty bare repository at {@code repo} (which must not exist or be empty). */
  public static GitObjects initBare(Path repo) throws IOException {
    Files.createDirectories(repo);
    for (String d : new String[] {"objects/info", "objects/pack", "refs/heads", "refs/tags", "hooks", "info"}) {
      Files.createDirectories(repo.resolve(d));
    }
    Files.writeString(repo.resolve("HEAD"), "ref: refs/heads/master\n");
    Files.writeString(repo.resolve("config"),
        "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n");
    Files.writeString(repo.resolve("description"), "Unnamed repository; edit this file to name it.\n");
    Files.writeString(repo.resolve("info/exclude"), "# git ls-files --others --exclude-from=.git/info/exclude\n");
    return new GitObjects(repo);
  }

  /** Writes a blob and returns its id. */
  public String blob(byte[] content) throws IOException {
    return write("blob", content);
  }

  /** Writes a tree of regular files (name to blob id) and returns its id. */
  public String tree(Map<String, String> files) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (Map.Entry<String, String> e : new TreeMap<>(files).entrySet()) {
      out.write(("100644 " + e.getKey()).getBytes(StandardCharsets.UTF_8));
      out.write(0);
      out.write(HexFormat.of().parseHex(e.getValue()));
    }
    return write("tree", out.toByteArray());
  }

  /** Writes a commit and returns its id. */
  public String commit(String tree, @Nullable String parent, String message, long epochSeconds) throws IOException {
    StringBuilder sb = new StringBuilder("tree ").append(tree).append('\n');
    if (parent != null) {
      sb.append("parent ").append(parent).append('\n');
    }
    String who = "Backup Test <backup@example.com> " + epochSeconds + " +0000";
    sb.append("author ").append(who).append('\n').append("committer ").append(who).append("\n\n")
        .append(message).append('\n');
    return write("commit", sb.toString().getBytes(StandardCharsets.UTF_8));
  }

  /** Points {@code refs/heads/<branch>} at {@code commit}. */
  public void branch(String branch, String commit) throws IOException {
    Path ref = repo.resolve("refs/heads").resolve(branch);
    Files.createDirectories(ref.getParent());
    Files.writeString(ref, commit + "\n");
  }

  private String write(String type, byte[] content) throws IOException {
    byte[] header = (type + " " + content.length + "\0").getBytes(StandardCharsets.US_ASCII);
    MessageDigest sha1;
    try {
      sha1 = MessageDigest.getInstance("SHA-1");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    sha1.update(header);
    sha1.update(content);
    String id = HexFormat.of().formatHex(sha1.digest());
    Path file = repo.resolve("objects").resolve(id.substring(0, 2)).resolve(id.substring(2));
    if (Files.exists(file)) {
      return id;
    }
    Files.createDirectories(file.getParent());
    try (OutputStream out = new DeflaterOutputStream(Files.newOutputStream(file), new Deflater(1))) {
      out.write(header);
      out.write(content);
    } catch (FileAlreadyExistsException e) {
      return id;
    }
    file.toFile().setReadOnly();
    return id;
  }
}
