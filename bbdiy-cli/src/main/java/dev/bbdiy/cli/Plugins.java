package dev.bbdiy.cli;

import dev.bbdiy.core.ProviderRegistry;
import java.io.IOException;
import java.net.MalformedURLException;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.CodeSource;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.jar.JarFile;
import org.jspecify.annotations.Nullable;

/**
 * Provider jars outside the CLI jar ({@code java -jar} ignores {@code -cp}). The directories searched, in order:
 * {@code plugins.dir} if configured, {@code plugins/} next to the CLI jar (the installation), and {@link #SYSTEM}.
 * Every {@code *.jar} in them gets a class loader of its own whose parent is the CLI's, and its providers are found
 * with {@link java.util.ServiceLoader}. A jar that cannot be used (not a jar, a class that fails to load, a
 * constructor that throws, an invalid name...) is reported and the others are loaded.
 *
 * <p>Plugins are code that runs with bbdiy's rights, often root's. A jar, or a directory holding it, that a user
 * other than its owner can write, or that belongs to someone other than root and the user running bbdiy, is not
 * loaded: fix it with {@code chmod go-w} or {@code chown}.
 */
final class Plugins {
  /** The system-wide plugins directory. */
  static final Path SYSTEM = Path.of("/etc/bbdiy/plugins");

  /**
   * The providers found and what is wrong with the plugins.
   *
   * @param registry the built-in providers and those of every usable plugin jar
   * @param directories the directories searched, in order
   * @param warnings jars not loaded and why; problems of single providers are in the registry's load errors
   */
  record Loaded(ProviderRegistry registry, List<Path> directories, List<String> warnings) {}

  private Plugins() {}

  /** Returns the directories searched: the configured one (if any), the installation's, the system's. */
  static List<Path> directories(@Nullable String configured) {
    Set<Path> dirs = new LinkedHashSet<>();
    if (configured != null && !configured.isBlank()) {
      dirs.add(Path.of(configured.trim()).toAbsolutePath().normalize());
    }
    Path installation = installation();
    if (installation != null) {
      dirs.add(installation);
    }
    dirs.add(SYSTEM);
    return List.copyOf(dirs);
  }

  /** Returns {@code plugins/} next to the jar bbdiy runs from, or null when it runs from classes (tests). */
  static @Nullable Path installation() {
    try {
      CodeSource source = Plugins.class.getProtectionDomain().getCodeSource();
      if (source == null || source.getLocation() == null) {
        return null;
      }
      Path jar = Path.of(source.getLocation().toURI());
      if (!Files.isRegularFile(jar) || !jar.getFileName().toString().endsWith(".jar")) {
        return null;
      }
      Path dir = jar.toRealPath().getParent();
      return dir == null ? null : dir.resolve("plugins");
    } catch (URISyntaxException | IOException | IllegalArgumentException | SecurityException e) {
      return null;
    }
  }

  /**
   * Loads the built-in providers and those of every jar in {@code directories}.
   *
   * @param configured the configured directory (plugins.dir), which must exist; the others may be missing
   */
  static Loaded load(List<Path> directories, @Nullable Path configured) {
    ClassLoader parent = Plugins.class.getClassLoader();
    ProviderRegistry.Builder b = ProviderRegistry.builder().reserve(CoreKeys.GROUPS.keySet()).loadServices(parent);
    List<String> warnings = new ArrayList<>();
    List<String> loaded = new ArrayList<>();
    for (Path dir : directories) {
      if (!Files.isDirectory(dir)) {
        if (configured != null && dir.equals(configured.toAbsolutePath().normalize())) {
          warnings.add("plugins.dir " + dir + " is not a directory: no plugin is loaded from it");
        }
        continue;
      }
      String unsafe = unsafe(dir);
      if (unsafe != null) {
        warnings.add("No plugin is loaded from " + dir + ": " + unsafe);
        continue;
      }
      for (Path jar : jars(dir, warnings)) {
        String problem = problem(jar);
        if (problem != null) {
          warnings.add("Plugin " + jar + " is not loaded: " + problem);
          continue;
        }
        try {
          // Never closed: the providers' classes are used until the process ends.
          URLClassLoader cl = new URLClassLoader("bbdiy-plugin " + jar.getFileName(),
              new URL[] {jar.toUri().toURL()}, parent);
          b.loadServices(cl, jar.toString());
          loaded.add(jar.toString());
        } catch (MalformedURLException e) {
          warnings.add("Plugin " + jar + " is not loaded: " + e.getMessage());
        }
      }
    }
    List<String> shown = new ArrayList<>();
    for (Path d : directories) {
      shown.add(d + (Files.isDirectory(d) ? "" : " (missing)"));
    }
    b.searched("the plugins directories " + String.join(", ", shown));
    ProviderRegistry registry = b.build();
    for (String jar : loaded) {
      boolean provides = registry.entries().stream().anyMatch(e -> e.origin().equals(jar));
      boolean failed = registry.loadErrors().stream().anyMatch(e -> e.contains(jar));
      if (!provides && !failed) {
        warnings.add("Plugin " + jar + " registers no provider: list its classes in META-INF/services/"
            + "dev.bbdiy.api.spi.HomeSnapshotterProvider (or DatabaseDumperProvider, ArchiverProvider)");
      }
    }
    return new Loaded(registry, directories, warnings);
  }

  private static Set<Path> jars(Path dir, List<String> warnings) {
    Set<Path> jars = new TreeSet<>();
    try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, "*.jar")) {
      for (Path p : s) {
        if (!Files.isDirectory(p)) {
          jars.add(p.toAbsolutePath().normalize());
        }
      }
    } catch (IOException e) {
      warnings.add("Cannot list the plugins directory " + dir + ": " + e);
    }
    return jars;
  }

  /** Returns why {@code jar} must not be loaded, or null. */
  private static @Nullable String problem(Path jar) {
    Path real;
    try {
      real = jar.toRealPath();
    } catch (IOException e) {
      return "cannot read it (" + e + ")";
    }
    String unsafe = unsafe(real);
    if (unsafe == null && real.getParent() != null && !real.getParent().equals(jar.getParent())) {
      unsafe = unsafe(real.getParent());
    }
    if (unsafe != null) {
      return unsafe;
    }
    try (JarFile f = new JarFile(real.toFile())) {
      f.getManifest(); // reads the central directory: a file that is not a zip fails here or in the constructor
    } catch (IOException | SecurityException e) {
      return "it is not a readable jar file (" + e.getMessage() + "); remove it from the plugins directory";
    }
    return null;
  }

  /** Returns why a plugin file or directory is not safe to load code from, or null. */
  private static @Nullable String unsafe(Path p) {
    try {
      Set<PosixFilePermission> perms = Files.getPosixFilePermissions(p);
      if (perms.contains(PosixFilePermission.GROUP_WRITE) || perms.contains(PosixFilePermission.OTHERS_WRITE)) {
        return p + " can be written by users other than its owner, who could make bbdiy run their code: run"
            + " 'chmod go-w " + p + "'";
      }
      Object owner = Files.getAttribute(p, "unix:uid");
      Object self = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
      if (owner instanceof Integer o && self instanceof Integer me && o != 0 && !o.equals(me)) {
        return p + " belongs to another user (uid " + o + "), who could make bbdiy run their code: it must"
            + " belong to root or to the user running bbdiy";
      }
      return null;
    } catch (UnsupportedOperationException | IllegalArgumentException | IOException e) {
      return null; // not a POSIX file system (Windows): nothing to check
    }
  }
}
