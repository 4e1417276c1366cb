package dev.bbdiy.simulator;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Generates home directories that look like Bitbucket's: {@code shared/data/repositories/<id>} as real bare git
 * repositories (packs and loose objects with {@code git}, loose objects without), attachments, plugins,
 * configuration, and every path Atlassian's scripts exclude, so that tests prove exclusion instead of assuming
 * it. Content is random (like git packs, it does not compress), reproducible from a seed.
 */
public final class BitbucketHomes {
  /** The paths a Bitbucket (Server / Data Center) home backup must leave out, relative to the home. */
  public static final List<String> EXCLUDED_PATHS = List.of(
      "caches/cache.bin", "data/db.h2.db", "shared/data/db.mv.db", "search/data/index.bin",
      "shared/search/data/index.bin", "export/export.zip", "shared/export/export.zip", "log/atlassian-bitbucket.log",
      "plugins/.osgi-plugins/felix.bin", "tmp/upload.tmp", ".lock", "shared/.lock");

  private BitbucketHomes() {}

  /** What to generate. Mutable; start from {@link #spec()}. */
  public static final class Spec {
    int repositories = 3;
    int commitsPerRepository = 3;
    int filesPerCommit = 4;
    int blobSize = 4096;
    int attachments = 5;
    int attachmentSize = 16 * 1024;
    int plugins = 2;
    int pluginSize = 32 * 1024;
    long seed = 42;
    boolean useGit = Git.available();
    boolean excludedPaths = true;
    boolean oddNames = true;

    private Spec() {}

    public Spec repositories(int n) {
      this.repositories = n;
      return this;
    }

    public Spec commitsPerRepository(int n) {
      this.commitsPerRepository = n;
      return this;
    }

    public Spec filesPerCommit(int n) {
      this.filesPerCommit = n;
      return this;
    }

    public Spec blobSize(int bytes) {
      this.blobSize = bytes;
      return this;
    }

    public Spec attachments(int n, int bytes) {
      this.attachments = n;
      this.attachmentSize = bytes;
      return this;
    }

    public Spec plugins(int n, int bytes) {
      this.plugins = n;
      this.pluginSize = bytes;
      return this;
    }

    public Spec seed(long seed) {
      this.seed = seed;
      return this;
    }

    /** Whether to build repositories with the git binary (packs) or in Java (loose objects only). */
    public Spec useGit(boolean useGit) {
      this.useGit = useGit;
      return this;
    }

    /** Whether to create the paths backups must exclude. */
    public Spec excludedPaths(boolean create) {
      this.excludedPaths = create;
      return this;
    }

    /** Whether to include names with spaces, non-ASCII characters, a symlink and a path over 100 characters. */
    public Spec oddNames(boolean create) {
      this.oddNames = create;
      return this;
    }
  }

  /** Returns the default spec: three small repositories, a few attachments and plugins. */
  public static Spec spec() {
    return new Spec();
  }

  /**
   * What was generated.
   *
   * @param home the home directory
   * @param repositoryIds the ids of the repositories, in creation order
   */
  public record Home(Path home, List<String> repositoryIds) {
    /** Returns the bare repository of a repository id. */
    public Path repository(String id) {
      return home.resolve("shared/data/repositories").resolve(id);
    }
  }

  /** Generates a home at {@code home} (created if absent). */
  public static Home generate(Path home, Spec spec) throws IOException {
    Random random = new Random(spec.seed);
    Path shared = home.resolve("shared");
    Files.createDirectories(shared.resolve("data/repositories"));
    Files.writeString(shared.resolve("bitbucket.properties"),
        "jdbc.driver=org.postgresql.Driver\njdbc.url=jdbc:postgresql://localhost:5432/bitbucket\n"
            + "jdbc.user=bitbucket\njdbc.password=not-a-real-password\n");
    Files.createDirectories(shared.resolve("config/ssh-server-keys"));
    Files.writeString(shared.resolve("config/ssh-server-keys/ssh-server-key.pem"), "-----BEGIN FAKE KEY-----\n");
    List<String> ids = new ArrayList<>();
    for (int i = 1; i <= spec.repositories; i++) {
      String id = Integer.toString(i);
      ids.add(id);
      Path repo = shared.resolve("data/repositories").resolve(id);
      if (spec.useGit) {
        gitRepository(repo, spec, random);
      } else {
        javaRepository(repo, spec, random);
      }
    }
    for (int i = 0; i < spec.attachments; i++) {
      String repo = ids.isEmpty() ? "0" : ids.get(i % ids.size());
      writeRandom(shared.resolve("data/attachments/" + repo + "/" + Long.toHexString(random.nextLong())),
          spec.attachmentSize, random);
    }
    for (int i = 0; i < spec.plugins; i++) {
      writeRandom(shared.resolve("plugins/installed-plugins/plugin-" + i + ".jar"), spec.pluginSize, random);
    }
    if (spec.excludedPaths) {
      for (String p : EXCLUDED_PATHS) {
        writeRandom(home.resolve(p), 1024, random);
      }
    }
    if (spec.oddNames) {
      Path odd = shared.resolve("data/attachments/odd names");
      Files.createDirectories(odd);
      Files.writeString(odd.resolve("spaces and ümlauts ✓.txt"), "non-ASCII name\n", StandardCharsets.UTF_8);
      Files.writeString(odd.resolve("new\nline.txt"), "a newline in a name\n");
      String longName = "a-long-directory-name-".repeat(6);
      Path deep = odd.resolve(longName).resolve(longName);
      Files.createDirectories(deep);
      Files.writeString(deep.resolve("deep-file-" + "x".repeat(80) + ".txt"), "past the 100-character tar limit\n");
      Files.createSymbolicLink(odd.resolve("link-to-properties"), Path.of("../../../bitbucket.properties"));
      Path exec = shared.resolve("hooks/pre-receive.sh");
      Files.createDirectories(exec.getParent());
      Files.writeString(exec, "#!/bin/sh\nexit 0\n");
      exec.toFile().setExecutable(true, false);
    }
    return new Home(home, List.copyOf(ids));
  }

  private static void javaRepository(Path repo, Spec spec, Random random) throws IOException {
    GitObjects git = GitObjects.initBare(repo);
    String parent = null;
    Map<String, String> files = new LinkedHashMap<>();
    long time = 1_700_000_000L;
    for (int c = 0; c < spec.commitsPerRepository; c++) {
      for (int f = 0; f < spec.filesPerCommit; f++) {
        byte[] content = new byte[spec.blobSize];
        random.nextBytes(content);
        files.put("file-" + c + "-" + f + ".bin", git.blob(content));
      }
      parent = git.commit(git.tree(files), parent, "commit " + c, time + c);
    }
    if (parent != null) {
      git.branch("master", parent);
    }
  }

  private static void gitRepository(Path repo, Spec spec, Random random) throws IOException {
    Files.createDirectories(repo);
    Git.run(repo, "init", "--bare", "-q", "-b", "master", ".");
    // All but the last commit go into a pack through fast-import; the last one stays as loose objects.
    int packed = Math.max(0, spec.commitsPerRepository - 1);
    if (packed > 0) {
      Process p = new ProcessBuilder("git", "fast-import", "--quiet").directory(repo.toFile())
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      try (OutputStream in = p.getOutputStream()) {
        for (int c = 0; c < packed; c++) {
          in.write(("commit refs/heads/master\nmark :" + (c + 1) + "\ncommitter Backup Test <backup@example.com> "
              + (1_700_000_000L + c) + " +0000\ndata <<EOM\ncommit " + c + "\nEOM\n").getBytes(StandardCharsets.UTF_8));
          if (c > 0) {
            in.write(("from :" + c + "\n").getBytes(StandardCharsets.UTF_8));
          }
          for (int f = 0; f < spec.filesPerCommit; f++) {
            byte[] content = new byte[spec.blobSize];
            random.nextBytes(content);
            in.write(("M 100644 inline file-" + c + "-" + f + ".bin\ndata " + content.length + "\n")
                .getBytes(StandardCharsets.UTF_8));
            in.write(content);
            in.write('\n');
          }
        }
        in.write("done\n".getBytes(StandardCharsets.UTF_8));
      }
      waitFor(p, "git fast-import");
    }
    Path work = Files.createTempDirectory("bbdiy-gen-");
    try {
      Git.run(work, "init", "-q", "-b", "master", ".");
      if (packed > 0) {
        Git.run(work, "pull", "-q", repo.toString(), "master");
      }
      for (int f = 0; f < spec.filesPerCommit; f++) {
        writeRandom(work.resolve("loose-" + f + ".bin"), spec.blobSize, random);
      }
      Git.run(work, "add", "-A");
      Git.run(work, "-c", "user.name=Backup Test", "-c", "user.email=backup@example.com", "commit", "-q", "-m",
          "loose commit");
      Git.run(work, "push", "-q", repo.toString(), "master");
    } finally {
      Trees.deleteRecursively(work);
    }
  }

  static void waitFor(Process p, String what) throws IOException {
    try {
      if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IOException(what + " failed");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(what + " interrupted", e);
    }
  }

  private static void writeRandom(Path file, int size, Random random) throws IOException {
    Files.createDirectories(file.getParent());
    byte[] b = new byte[size];
    random.nextBytes(b);
    Files.write(file, b);
  }
}
