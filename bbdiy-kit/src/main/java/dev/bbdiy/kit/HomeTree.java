package dev.bbdiy.kit;

import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.spi.ProgressReporter;
import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One directory tree a home provider copies: the home or a data store, where its copy goes in the {@link
 * BackupLayout}, and what it leaves out ({@link HomeExcludes}, rsync patterns anchored at {@code source}).
 *
 * @param label how messages name it: {@code home} or {@code data store /mnt/store1}
 */
public record HomeTree(String label, Path source, String layoutPath, List<String> excludes) {
  public HomeTree {
    excludes = List.copyOf(excludes);
  }

  /**
   * Returns the trees of {@code instance}: its home, then its data stores.
   *
   * @throws BbdiyException with {@link dev.bbdiy.api.ErrorCode#CONFIGURATION} if the home is not configured
   */
  public static List<HomeTree> of(BitbucketInstance instance) {
    Path home = instance.home();
    if (home == null) {
      throw BbdiyException.configuration(
          "instance.home is not configured: set the Bitbucket home directory (BITBUCKET_HOME)");
    }
    List<HomeTree> trees = new ArrayList<>();
    trees.add(new HomeTree("home", home, BackupLayout.HOME,
        HomeExcludes.home(instance.type(), instance.excludedRepositories())));
    for (Path store : instance.dataStores()) {
      trees.add(new HomeTree("data store " + store, store, BackupLayout.dataStore(store),
          HomeExcludes.dataStore(instance.excludedRepositories())));
    }
    return List.copyOf(trees);
  }

  /**
   * The preflight of a provider that copies the trees of {@code instance} into {@code workDir}: every tree is a
   * readable directory, the working directory is writable, and its free space is compared with what the trees'
   * file systems hold (all of it for a first copy, a tenth for a delta): under 64 MiB fails, too little warns.
   *
   * @throws BbdiyException with {@link dev.bbdiy.api.ErrorCode#CONFIGURATION} naming the problem and the fix
   */
  public static void checkCopyInto(BitbucketInstance instance, Path workDir, ProgressReporter progress) {
    List<HomeTree> trees = of(instance);
    for (HomeTree tree : trees) {
      Path s = tree.source();
      if (!Files.isDirectory(s)) {
        throw BbdiyException.configuration("The " + tree.label() + " " + s + " does not exist or is not a directory");
      }
      if (!Files.isReadable(s) || !Files.isExecutable(s)) {
        throw BbdiyException.configuration("The " + tree.label() + " " + s + " is not readable by this user; run"
            + " bbdiy as the user Bitbucket runs as, or as root");
      }
    }
    try {
      Files.createDirectories(workDir);
      if (!Files.isWritable(workDir)) {
        throw BbdiyException.configuration("The working directory " + workDir + " is not writable");
      }
      long usable = Files.getFileStore(workDir).getUsableSpace();
      boolean firstRun = !Files.exists(workDir.resolve(BackupLayout.HOME), LinkOption.NOFOLLOW_LINKS);
      long used = 0;
      for (HomeTree tree : trees) {
        FileStore fs = Files.getFileStore(tree.source());
        used += fs.getTotalSpace() - fs.getUnallocatedSpace();
      }
      if (usable < 64L << 20) {
        throw BbdiyException.configuration("Only " + (usable >> 20) + " MiB are free in " + workDir
            + ": free space or choose another work.dir");
      }
      if (usable < (firstRun ? used : used / 10)) {
        progress.warning((usable >> 20) + " MiB are free in " + workDir + " but the file systems of the home"
            + " and data stores hold " + (used >> 20) + " MiB; the " + (firstRun ? "first copy" : "copy")
            + " may not fit");
      }
    } catch (IOException e) {
      throw BbdiyException.configuration("Cannot use the working directory " + workDir + ": " + e.getMessage());
    }
  }
}
