package dev.bbdiy.snapshot;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A btrfs file system on a loop-mounted image file, made for one test and always removed: {@code truncate},
 * {@code mkfs.btrfs}, {@code mount -o loop}. Needs root and btrfs-progs; fails (never skips) naming them.
 */
final class LoopBtrfs implements AutoCloseable {
  private final Path dir;
  private final Path image;
  private final Path mount;

  private LoopBtrfs(Path dir) {
    this.dir = dir;
    this.image = dir.resolve("btrfs.img");
    this.mount = dir.resolve("mnt");
  }

  /** Creates and mounts a file system of {@code megabytes}. */
  static LoopBtrfs create(int megabytes) throws IOException {
    if (!"root".equals(System.getProperty("user.name"))) {
      throw new AssertionError("The btrfs tests mount a loop device and need root (the CI runs tests as root)");
    }
    for (String tool : List.of("mkfs.btrfs", "btrfs")) {
      if (!Tool.installed(tool) && !Files.isExecutable(Path.of("/usr/sbin", tool))
          && !Files.isExecutable(Path.of("/sbin", tool))) {
        throw new AssertionError(tool + " is missing: install btrfs-progs (scripts/test.sh does)");
      }
    }
    LoopBtrfs fs = new LoopBtrfs(Files.createTempDirectory("bbdiy-btrfs-"));
    try {
      Files.createDirectories(fs.mount);
      run("truncate", "-s", megabytes + "M", fs.image.toString());
      run("mkfs.btrfs", "-q", fs.image.toString());
      run("mount", "-o", "loop", fs.image.toString(), fs.mount.toString());
    } catch (IOException | RuntimeException | Error e) {
      fs.close();
      throw e;
    }
    return fs;
  }

  Path mount() {
    return mount;
  }

  /** Creates a subvolume at {@code relative} below the mount point. */
  Path subvolume(String relative) throws IOException {
    Path p = mount.resolve(relative);
    Files.createDirectories(p.getParent());
    run("btrfs", "subvolume", "create", p.toString());
    return p;
  }

  /** Returns the subvolumes of the file system, paths relative to its top. */
  List<String> subvolumes() throws IOException {
    List<String> out = new ArrayList<>();
    for (String line : run("btrfs", "subvolume", "list", mount.toString()).split("\n")) {
      int i = line.indexOf(" path ");
      if (i >= 0) {
        out.add(line.substring(i + 6));
      }
    }
    return out;
  }

  static String run(String... cmd) throws IOException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    try {
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException(String.join(" ", cmd) + " timed out");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
    if (p.exitValue() != 0) {
      throw new IOException(String.join(" ", cmd) + " exited with " + p.exitValue() + ": " + out);
    }
    return out;
  }

  @Override
  public void close() throws IOException {
    try {
      if (Files.exists(mount)) {
        try {
          run("umount", mount.toString());
        } catch (IOException busy) {
          run("umount", "-l", mount.toString());
        }
      }
    } catch (IOException notMounted) {
      // nothing mounted
    } finally {
      Files.deleteIfExists(image);
      Files.deleteIfExists(mount);
      Files.deleteIfExists(dir);
    }
  }
}
