package dev.bbdiy.api;

import java.nio.file.Path;

/**
 * The layout of a backup, the one Atlassian's scripts use, so that their archives and ours are interchangeable:
 * {@code bitbucket-home/}, {@code bitbucket-data-stores/<absolute path>/}, {@code bitbucket-db/} and our {@code
 * manifest.json} at the root, plus {@code mesh/<node>/} for the Mesh nodes of a {@code mesh} backup.
 */
public final class BackupLayout {
  /** The copy of the home directory. */
  public static final String HOME = "bitbucket-home";
  /** Copies of the data stores, each under its absolute path without the leading slash. */
  public static final String DATA_STORES = "bitbucket-data-stores";
  /** The database dump. */
  public static final String DATABASE = "bitbucket-db";
  /**
   * The homes of Bitbucket Mesh nodes captured in the same lock window, each under {@code mesh/<node name>/} in
   * its own layout ({@code mesh/<node>/bitbucket-home}).
   */
  public static final String MESH = "mesh";
  /** The manifest: what the backup contains and how it was made. */
  public static final String MANIFEST = "manifest.json";

  private BackupLayout() {}

  /** Returns the path of a data store's copy relative to the backup root, e.g. {@code bitbucket-data-stores/mnt/s1}. */
  public static String dataStore(Path store) {
    if (!store.isAbsolute()) {
      throw new IllegalArgumentException("Data store path must be absolute: " + store);
    }
    String rel = store.normalize().toString().replace('\\', '/');
    while (rel.startsWith("/")) {
      rel = rel.substring(1);
    }
    return rel.isEmpty() ? DATA_STORES : DATA_STORES + "/" + rel;
  }
}
