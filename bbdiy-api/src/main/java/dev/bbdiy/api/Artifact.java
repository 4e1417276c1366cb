package dev.bbdiy.api;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * What one provider produced for one backup, as recorded in the manifest: files in the backup layout, or
 * references to things stored elsewhere (snapshot ids), or both.
 *
 * @param provider the provider's name, e.g. {@code rsync}, {@code postgresql}, {@code amazon-ebs}
 * @param kind what was backed up
 * @param paths the paths of the backup layout this artifact's files are under (e.g. {@code bitbucket-home});
 *     empty for artifacts stored outside the archive
 * @param properties provider-specific facts needed to verify and restore it (snapshot ids, database encoding,
 *     per-table row counts); never secrets
 */
public record Artifact(String provider, Kind kind, List<String> paths, Map<String, String> properties) {

  /** What an artifact holds. */
  public enum Kind {
    /** The home directory and data stores. */
    HOME,
    /** The database. */
    DATABASE
  }

  public Artifact {
    Objects.requireNonNull(provider, "provider");
    Objects.requireNonNull(kind, "kind");
    paths = List.copyOf(paths);
    properties = java.util.Collections.unmodifiableMap(new TreeMap<>(properties));
  }

  /** Returns a property, or {@code null}. */
  public @Nullable String property(String key) {
    return properties.get(key);
  }
}
