package dev.bbdiy.kit;

import dev.bbdiy.api.InstanceType;
import java.util.ArrayList;
import java.util.List;

/**
 * What a home backup leaves out, as rsync exclude patterns anchored at the copied directory: the lists of
 * Atlassian's scripts, the right one for each kind of home (their scripts have them swapped since 2022, so Data
 * Center homes lose the long list and the excluded repositories; this does not copy that defect).
 */
public final class HomeExcludes {
  private static final List<String> BITBUCKET = List.of("/caches/", "/data/db.*", "/shared/data/db.*",
      "/search/data/", "/shared/search/data/", "/export/", "/shared/export/", "/log/", "/plugins/.*/", "/tmp",
      "/.lock", "/shared/.lock");
  private static final List<String> MESH = List.of("/caches/", "/log/", "/tmp", "/.lock");

  private HomeExcludes() {}

  /** Returns the patterns for a home of {@code type}, including the excluded repositories of a Bitbucket home. */
  public static List<String> home(InstanceType type, List<String> excludedRepositories) {
    if (type == InstanceType.MESH) {
      return MESH;
    }
    List<String> out = new ArrayList<>(BITBUCKET);
    for (String id : excludedRepositories) {
      out.add("/shared/data/repositories/" + id);
    }
    return List.copyOf(out);
  }

  /** Returns the patterns for a data store: the excluded repositories, stored at {@code repositories/*}{@code /*}{@code /<id>}. */
  public static List<String> dataStore(List<String> excludedRepositories) {
    List<String> out = new ArrayList<>();
    for (String id : excludedRepositories) {
      out.add("/repositories/*/*/" + id);
    }
    return List.copyOf(out);
  }
}
