package dev.bbdiy.core;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.spi.ArchiverProvider;
import dev.bbdiy.api.spi.DatabaseDumperProvider;
import dev.bbdiy.api.spi.HomeSnapshotterProvider;
import dev.bbdiy.api.spi.Provider;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.TreeMap;

/**
 * The providers available to a run, by kind and name. {@link #load()} finds every provider registered through
 * {@link ServiceLoader}; {@link Builder#add} adds instances a library user passes directly.
 *
 * <p>Discovery is deterministic and loud: two providers of the same kind and name fail naming both classes; an
 * unknown name fails listing the available ones; there is no priority-based selection. A provider that cannot
 * be loaded does not stop the others: {@link #loadErrors()} reports it.
 *
 * <p>Immutable and thread-safe.
 */
public final class ProviderRegistry {
  private final Map<String, HomeSnapshotterProvider> homes;
  private final Map<String, DatabaseDumperProvider> databases;
  private final Map<String, ArchiverProvider> archivers;
  private final List<String> loadErrors;

  private ProviderRegistry(Builder b) {
    this.homes = Collections.unmodifiableMap(new TreeMap<>(b.homes));
    this.databases = Collections.unmodifiableMap(new TreeMap<>(b.databases));
    this.archivers = Collections.unmodifiableMap(new TreeMap<>(b.archivers));
    this.loadErrors = List.copyOf(b.loadErrors);
  }

  /** Returns the providers registered with the {@link ServiceLoader} of the thread's context class loader. */
  public static ProviderRegistry load() {
    ClassLoader cl = Thread.currentThread().getContextClassLoader();
    return builder().loadServices(cl == null ? ProviderRegistry.class.getClassLoader() : cl).build();
  }

  /** Returns an empty builder. */
  public static Builder builder() {
    return new Builder();
  }

  /** Returns a home snapshotter provider by name. */
  public HomeSnapshotterProvider home(String name) {
    return find("home snapshotter", "home.type", homes, name);
  }

  /** Returns a database dumper provider by name. */
  public DatabaseDumperProvider database(String name) {
    return find("database dumper", "database.type", databases, name);
  }

  /** Returns an archiver provider by name. */
  public ArchiverProvider archiver(String name) {
    return find("archiver", "archive.type", archivers, name);
  }

  /** Returns the home snapshotter providers by name. */
  public Map<String, HomeSnapshotterProvider> homes() {
    return homes;
  }

  /** Returns the database dumper providers by name. */
  public Map<String, DatabaseDumperProvider> databases() {
    return databases;
  }

  /** Returns the archiver providers by name. */
  public Map<String, ArchiverProvider> archivers() {
    return archivers;
  }

  /** Returns why providers registered on the class path could not be loaded. */
  public List<String> loadErrors() {
    return loadErrors;
  }

  private static <P extends Provider> P find(String kind, String key, Map<String, P> map, String name) {
    P p = map.get(name);
    if (p == null) {
      throw BbdiyException.configuration("Unknown " + kind + " '" + name + "' in " + key + ": available are "
          + String.join(", ", map.keySet()) + (map.isEmpty() ? "none" : "")
          + ". A provider module (jar) may be missing from the class path.");
    }
    return p;
  }

  /** Builds a {@link ProviderRegistry}. */
  public static final class Builder {
    private final Map<String, HomeSnapshotterProvider> homes = new TreeMap<>();
    private final Map<String, DatabaseDumperProvider> databases = new TreeMap<>();
    private final Map<String, ArchiverProvider> archivers = new TreeMap<>();
    private final List<String> loadErrors = new ArrayList<>();

    private Builder() {}

    /** Adds every provider registered with the {@link ServiceLoader} of {@code classLoader}. */
    public Builder loadServices(ClassLoader classLoader) {
      load(HomeSnapshotterProvider.class, classLoader, homes);
      load(DatabaseDumperProvider.class, classLoader, databases);
      load(ArchiverProvider.class, classLoader, archivers);
      return this;
    }

    /**
     * Adds a provider instance; it may implement several provider interfaces.
     *
     * @throws BbdiyException if a provider of the same kind and name is already present
     */
    public Builder add(Provider provider) {
      Objects.requireNonNull(provider, "provider");
      boolean any = false;
      if (provider instanceof HomeSnapshotterProvider) {
        put(homes, (HomeSnapshotterProvider) provider, "home snapshotter");
        any = true;
      }
      if (provider instanceof DatabaseDumperProvider) {
        put(databases, (DatabaseDumperProvider) provider, "database dumper");
        any = true;
      }
      if (provider instanceof ArchiverProvider) {
        put(archivers, (ArchiverProvider) provider, "archiver");
        any = true;
      }
      if (!any) {
        throw new IllegalArgumentException(provider.getClass().getName() + " implements no provider interface");
      }
      return this;
    }

    /** Returns the registry. */
    public ProviderRegistry build() {
      return new ProviderRegistry(this);
    }

    private <P extends Provider> void load(Class<P> type, ClassLoader cl, Map<String, P> into) {
      ServiceLoader<P> loader = ServiceLoader.load(type, cl);
      var it = loader.stream().iterator();
      while (true) {
        ServiceLoader.Provider<P> candidate;
        try {
          if (!it.hasNext()) {
            break;
          }
          candidate = it.next();
        } catch (ServiceConfigurationError e) {
          loadErrors.add(type.getSimpleName() + ": " + e.getMessage());
          continue;
        }
        P provider;
        try {
          provider = candidate.get();
        } catch (ServiceConfigurationError | RuntimeException | LinkageError e) {
          loadErrors.add(candidate.type().getName() + " could not be created: " + e);
          continue;
        }
        put(into, provider, type.getSimpleName().replace("Provider", ""));
      }
    }

    private static <P extends Provider> void put(Map<String, P> into, P provider, String kind) {
      String name = provider.name();
      if (name == null || !name.matches("[a-z][a-z0-9-]*")) {
        throw new IllegalArgumentException(provider.getClass().getName() + " has an invalid name '" + name
            + "': use lower case letters, digits and dashes");
      }
      P existing = into.get(name);
      if (existing != null && existing.getClass() != provider.getClass()) {
        throw BbdiyException.configuration("Two " + kind + " providers are named '" + name + "': "
            + existing.getClass().getName() + " and " + provider.getClass().getName()
            + ". Remove one of the jars from the class path.");
      }
      into.put(name, provider);
    }
  }
}
