package dev.bbdiy.core;

import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.BitbucketInstance;
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
}
