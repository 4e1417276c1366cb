package dev.bbdiy.core;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.spi.ArchiverProvider;
import dev.bbdiy.api.spi.DatabaseDumperProvider;
import dev.bbdiy.api.spi.HomeSnapshotterProvider;
import dev.bbdiy.api.spi.Provider;
import dev.bbdiy.api.spi.Setting;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The providers available to a run, by kind and name. {@link #load()} finds every provider registered through
 * {@link ServiceLoader}; {@link Builder#loadServices} does the same for any class loader (a plugin jar's, say) and
 * {@link Builder#add} adds instances a library user passes directly.
 *
 * <p>Discovery is deterministic and loud: two providers of the same name (of one kind, or of two kinds, since
 * their settings share the {@code <name>.} prefix) are reported in {@link #loadErrors()}, and asking for that
 * name fails naming both classes and where each came from; an unknown name fails listing the installed ones;
 * there is no priority-based selection. A provider that cannot be loaded &mdash; its class is missing or fails to
 * link, its constructor throws, its name is invalid or reserved, its {@code name()}, {@code description()} or
 * {@code settings()} throw &mdash; does not stop the others: {@link #loadErrors()} reports it.
 *
 * <p>Immutable and thread-safe.
 */
public final class ProviderRegistry {
  private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9-]*");
  /** Where providers found through {@link #load()} or {@link Builder#loadServices(ClassLoader)} come from. */
  public static final String CLASS_PATH = "class path";
  /** Where providers given to {@link Builder#add} come from. */
  public static final String ADDED = "added by the application";

  /** The three kinds of provider, each chosen by one configuration key. */
  public enum Kind {
    /** {@link HomeSnapshotterProvider}, chosen by {@code home.type}. */
    HOME("home provider", "home.type", HomeSnapshotterProvider.class),
    /** {@link DatabaseDumperProvider}, chosen by {@code database.type}. */
    DATABASE("database provider", "database.type", DatabaseDumperProvider.class),
    /** {@link ArchiverProvider}, chosen by {@code archive.type}. */
    ARCHIVER("archiver", "archive.type", ArchiverProvider.class);

    private final String label;
    private final String key;
    private final Class<? extends Provider> type;

    Kind(String label, String key, Class<? extends Provider> type) {
      this.label = label;
      this.key = key;
      this.type = type;
    }

    /** Returns how messages name this kind, e.g. {@code database provider}. */
    public String label() {
      return label;
    }

    /** Returns the configuration key that chooses a provider of this kind, e.g. {@code database.type}. */
    public String key() {
      return key;
    }

    /** Returns the provider interface. */
    public Class<? extends Provider> type() {
      return type;
    }
  }

  /**
   * One provider the registry knows, duplicates included.
   *
   * @param kind what it provides
   * @param provider the provider
   * @param origin where it came from: {@link #CLASS_PATH}, {@link #ADDED}, or the origin given to {@link
   *     Builder#loadServices(ClassLoader, String)} (a plugin jar's path)
   */
  public record Entry(Kind kind, Provider provider, String origin) {
    public Entry {
      Objects.requireNonNull(kind, "kind");
      Objects.requireNonNull(provider, "provider");
      Objects.requireNonNull(origin, "origin");
    }

    /** Returns the class and where it came from, as messages show it. */
    public String describe() {
      return provider.getClass().getName() + " (" + origin + ")";
    }
  }

  private final Map<Kind, Map<String, Provider>> byKind;
  private final List<Entry> entries;
  private final Map<String, List<Entry>> duplicates;
  private final List<String> loadErrors;
  private final List<String> searched;

  private ProviderRegistry(Builder b) {
    Map<String, List<Entry>> byName = new TreeMap<>();
    for (Entry e : b.entries) {
      byName.computeIfAbsent(e.provider().name(), n -> new ArrayList<>()).add(e);
    }
    Map<String, List<Entry>> dups = new TreeMap<>();
    byName.forEach((name, list) -> {
      if (list.stream().map(e -> e.provider().getClass()).distinct().count() > 1) {
        dups.put(name, List.copyOf(list));
      }
    });
    Map<Kind, Map<String, Provider>> kinds = new EnumMap<>(Kind.class);
    for (Kind k : Kind.values()) {
      Map<String, Provider> m = new TreeMap<>();
      for (Entry e : b.entries) {
        if (e.kind() == k && !dups.containsKey(e.provider().name())) {
          m.putIfAbsent(e.provider().name(), e.provider());
        }
      }
      kinds.put(k, Collections.unmodifiableMap(m));
    }
    this.byKind = kinds;
    List<Entry> all = new ArrayList<>(b.entries);
    all.sort(Comparator.comparing((Entry e) -> e.kind()).thenComparing(e -> e.provider().name()));
    this.entries = List.copyOf(all);
    this.duplicates = Collections.unmodifiableMap(dups);
    List<String> errors = new ArrayList<>(b.loadErrors);
    dups.forEach((name, list) -> errors.add("Two providers are named '" + name + "': " + describe(list)
        + ". Neither is used until one is removed" + (list.stream().anyMatch(e -> !e.origin().equals(CLASS_PATH))
            ? " (remove the jar you do not want)" : " from the class path")));
    this.loadErrors = List.copyOf(new LinkedHashSet<>(errors));
    this.searched = List.copyOf(b.searched);
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

  /**
   * Returns a home snapshotter provider by name.
   *
   * @throws BbdiyException {@link dev.bbdiy.api.ErrorCode#CONFIGURATION} if no provider, or more than one, has
   *     that name
   */
  public HomeSnapshotterProvider home(String name) {
    return (HomeSnapshotterProvider) find(Kind.HOME, name);
  }

  /**
   * Returns a database dumper provider by name.
   *
   * @throws BbdiyException {@link dev.bbdiy.api.ErrorCode#CONFIGURATION} if no provider, or more than one, has
   *     that name
   */
  public DatabaseDumperProvider database(String name) {
    return (DatabaseDumperProvider) find(Kind.DATABASE, name);
  }

  /**
   * Returns an archiver provider by name.
   *
   * @throws BbdiyException {@link dev.bbdiy.api.ErrorCode#CONFIGURATION} if no provider, or more than one, has
   *     that name
   */
  public ArchiverProvider archiver(String name) {
    return (ArchiverProvider) find(Kind.ARCHIVER, name);
  }

  /**
   * Returns the provider of {@code kind} named {@code name}.
   *
   * @throws BbdiyException {@link dev.bbdiy.api.ErrorCode#CONFIGURATION} naming the installed providers if there
   *     is none, or naming both classes and their origins if two have that name
   */
  public Provider find(Kind kind, String name) {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(name, "name");
    List<Entry> dup = duplicates.get(name);
    if (dup != null) {
      throw BbdiyException.configuration("Two providers are named '" + name + "' (" + kind.key() + "=" + name
          + "): " + describe(dup) + ". Remove one of them, then run again.");
    }
    Provider p = providers(kind).get(name);
    if (p == null) {
      Set<String> installed = providers(kind).keySet();
      throw BbdiyException.configuration("No " + kind.label() + " named '" + name + "' (" + kind.key() + ") is on"
          + " the class path" + (searched.isEmpty() ? "" : " or in " + String.join(" or ", searched))
          + ". Installed: " + (installed.isEmpty() ? "none" : String.join(", ", installed)) + ".");
    }
    return p;
  }

  /** Returns the home snapshotter providers by name (a name two providers share is left out). */
  @SuppressWarnings("unchecked")
  public Map<String, HomeSnapshotterProvider> homes() {
    return (Map<String, HomeSnapshotterProvider>) (Map<String, ?>) providers(Kind.HOME);
  }

  /** Returns the database dumper providers by name (a name two providers share is left out). */
  @SuppressWarnings("unchecked")
  public Map<String, DatabaseDumperProvider> databases() {
    return (Map<String, DatabaseDumperProvider>) (Map<String, ?>) providers(Kind.DATABASE);
  }

  /** Returns the archiver providers by name (a name two providers share is left out). */
  @SuppressWarnings("unchecked")
  public Map<String, ArchiverProvider> archivers() {
    return (Map<String, ArchiverProvider>) (Map<String, ?>) providers(Kind.ARCHIVER);
  }

  /** Returns the providers of {@code kind} by name (a name two providers share is left out). */
  public Map<String, Provider> providers(Kind kind) {
    return byKind.getOrDefault(kind, Map.of());
  }

  /** Returns every provider with where it came from, duplicates included, by kind and name. */
  public List<Entry> entries() {
    return entries;
  }

  /** Returns the names two or more providers share, each with those providers; asking for one of them fails. */
  public Map<String, List<Entry>> duplicates() {
    return duplicates;
  }

  /** Returns the places besides the class path where providers were looked for ({@link Builder#searched}). */
  public List<String> searched() {
    return searched;
  }

  /** Returns why providers could not be loaded, and the names two providers share; one line each. */
  public List<String> loadErrors() {
    return loadErrors;
  }

  private static String describe(List<Entry> entries) {
    List<String> out = new ArrayList<>();
    for (Entry e : entries) {
      String d = e.describe();
      if (!out.contains(d)) {
        out.add(d);
      }
    }
    return String.join(" and ", out);
  }

  /** Builds a {@link ProviderRegistry}. */
  public static final class Builder {
    private final List<Entry> entries = new ArrayList<>();
    private final List<String> loadErrors = new ArrayList<>();
    private final List<String> searched = new ArrayList<>();
    private final Set<String> reserved = new HashSet<>();

    private Builder() {}

    /**
     * Adds every provider registered with the {@link ServiceLoader} of {@code classLoader} (and so of its
     * parents); their origin is {@link #CLASS_PATH}.
     */
    public Builder loadServices(ClassLoader classLoader) {
      Objects.requireNonNull(classLoader, "classLoader");
      for (Kind k : Kind.values()) {
        load(k, classLoader, CLASS_PATH, false);
      }
      return this;
    }

    /**
     * Adds the providers that {@code classLoader} itself defines and registers with the {@link ServiceLoader}, not
     * those it sees through its parent: a plugin jar's class loader, whose parent has the built-in providers.
     *
     * @param origin where they come from, shown by {@code bbdiy providers} and in messages (the jar's path)
     */
    public Builder loadServices(ClassLoader classLoader, String origin) {
      Objects.requireNonNull(classLoader, "classLoader");
      Objects.requireNonNull(origin, "origin");
      for (Kind k : Kind.values()) {
        load(k, classLoader, origin, true);
      }
      return this;
    }

    /**
     * Adds a provider instance; it may implement several provider interfaces.
     *
     * @throws IllegalArgumentException if its name is invalid or reserved, or it implements no provider interface
     * @throws BbdiyException if a provider of another class already has its name
     */
    public Builder add(Provider provider) {
      Objects.requireNonNull(provider, "provider");
      String problem = problem(provider);
      if (problem != null) {
        throw new IllegalArgumentException(provider.getClass().getName() + " " + problem);
      }
      boolean any = false;
      for (Kind k : Kind.values()) {
        if (k.type().isInstance(provider)) {
          for (Entry e : entries) {
            if (e.provider().name().equals(provider.name()) && e.provider().getClass() != provider.getClass()) {
              throw BbdiyException.configuration("Two providers are named '" + provider.name() + "': "
                  + e.describe() + " and " + provider.getClass().getName() + " (" + ADDED + ")");
            }
          }
          entries.add(new Entry(k, provider, ADDED));
          any = true;
        }
      }
      if (!any) {
        throw new IllegalArgumentException(provider.getClass().getName() + " implements no provider interface");
      }
      return this;
    }

    /**
     * Names no provider may take, because configuration keys of their own start with them ({@code bitbucket},
     * {@code work}...). A provider with such a name is reported in {@link #loadErrors()} and left out.
     */
    public Builder reserve(Collection<String> names) {
      reserved.addAll(names);
      return this;
    }

    /**
     * Names a place besides the class path where providers were looked for ("the plugins directories /a, /b"),
     * for the message about an unknown name.
     */
    public Builder searched(String place) {
      searched.add(Objects.requireNonNull(place, "place"));
      return this;
    }

    /** Returns the registry. */
    public ProviderRegistry build() {
      return new ProviderRegistry(this);
    }

    private void load(Kind kind, ClassLoader cl, String origin, boolean ownOnly) {
      ServiceLoader<? extends Provider> loader = ServiceLoader.load(kind.type(), cl);
      var it = loader.stream().iterator();
      // An iterator that keeps failing on the same entry would loop forever: stop after this many errors.
      int failures = 0;
      while (failures < 1000) {
        ServiceLoader.Provider<? extends Provider> candidate;
        try {
          if (!it.hasNext()) {
            break;
          }
          candidate = it.next();
        } catch (ServiceConfigurationError | LinkageError e) {
          failures++;
          loadErrors.add(kind.type().getSimpleName() + " from " + origin + " could not be loaded: " + why(e));
          continue;
        }
        Class<?> type;
        try {
          type = candidate.type();
        } catch (ServiceConfigurationError | LinkageError e) {
          failures++;
          loadErrors.add(kind.type().getSimpleName() + " from " + origin + " could not be loaded: " + why(e));
          continue;
        }
        if (ownOnly && type.getClassLoader() != cl) {
          continue; // a built-in provider the plugin's class loader sees through its parent
        }
        Provider provider;
        String problem;
        try {
          provider = candidate.get();
          problem = problem(provider);
        } catch (ServiceConfigurationError | RuntimeException | LinkageError e) {
          failures++;
          loadErrors.add(type.getName() + " (" + origin + ") could not be created: " + why(e));
          continue;
        }
        if (problem != null) {
          loadErrors.add(type.getName() + " (" + origin + ") " + problem + "; it is not used");
          continue;
        }
        boolean known = false;
        for (Entry e : entries) {
          known |= e.kind() == kind && e.provider().getClass() == provider.getClass() && e.origin().equals(origin);
        }
        if (!known) {
          entries.add(new Entry(kind, provider, origin));
        }
      }
    }

    /** Returns what makes {@code p} unusable, or null: an invalid name, settings that cannot be read... */
    private @Nullable String problem(Provider p) {
      String name;
      try {
        name = p.name();
      } catch (RuntimeException | LinkageError e) {
        return "cannot say its name: " + why(e);
      }
      if (name == null || !NAME.matcher(name).matches()) {
        return "has an invalid name '" + name + "': a provider's name is lower case letters, digits and dashes,"
            + " starting with a letter";
      }
      if (reserved.contains(name)) {
        return "is named '" + name + "', a name reserved for settings of bbdiy's own (" + name + ".*)";
      }
      try {
        Objects.requireNonNull(p.description(), "description()");
        List<Setting> settings = Objects.requireNonNull(p.settings(), "settings()");
        Set<String> keys = new TreeSet<>();
        for (Setting s : settings) {
          if (!keys.add(Objects.requireNonNull(s, "a setting").key())) {
            return "(" + name + ") declares the setting " + name + "." + s.key() + " twice";
          }
        }
        Objects.requireNonNull(p.capabilities(), "capabilities()");
      } catch (RuntimeException | LinkageError e) {
        return "(" + name + ") cannot describe itself: " + why(e);
      }
      return null;
    }

    private static String why(Throwable e) {
      StringBuilder b = new StringBuilder(String.valueOf(e));
      Set<Throwable> seen = Collections.newSetFromMap(new java.util.IdentityHashMap<>());
      seen.add(e);
      for (Throwable c = e.getCause(); c != null && seen.add(c); c = c.getCause()) {
        b.append("; caused by ").append(c);
      }
      return b.toString();
    }
  }
}
