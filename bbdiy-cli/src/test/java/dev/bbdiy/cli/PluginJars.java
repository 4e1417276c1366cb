package dev.bbdiy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bbdiy.api.spi.Provider;
import java.io.IOException;
import java.io.OutputStream;
import java.io.ByteArrayOutputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.jspecify.annotations.NullMarked;

/**
 * Provider jars as an outside team builds them: sources compiled against bbdiy-api alone with javax.tools,
 * registered in {@code META-INF/services} and packed with java.util.jar. Some are broken on purpose.
 */
final class PluginJars {
  static final String HOME = "dev.bbdiy.api.spi.HomeSnapshotterProvider";
  static final String DATABASE = "dev.bbdiy.api.spi.DatabaseDumperProvider";

  /**
   * A database provider that backs up one file ({@code acme-sqlite.database}, vars file {@code ACME_SQLITE_DB}) and
   * restores it to the file {@code --target-database} names.
   */
  static final String ACME_SQLITE = """
      package com.acme.bbdiy;

      import dev.bbdiy.api.Artifact;
      import dev.bbdiy.api.BackupLayout;
      import dev.bbdiy.api.BbdiyException;
      import dev.bbdiy.api.spi.*;
      import java.io.IOException;
      import java.io.UncheckedIOException;
      import java.nio.file.*;
      import java.util.*;

      public final class AcmeSqliteProvider implements DatabaseDumperProvider {
        static final Setting DATABASE = Setting.of("database", SettingType.PATH,
            "The database file (ACME_SQLITE_DB).").asRequired().fromVarsFile("ACME_SQLITE_DB");

        public String name() { return "acme-sqlite"; }
        public String description() { return "Acme's database files"; }
        public List<Setting> settings() { return List.of(DATABASE); }
        public Set<Capability> capabilities() { return Set.of(Capability.FILE_OUTPUT); }

        public DatabaseDumper create(ProviderContext context) {
          Path db = context.settings().path(DATABASE);
          return new DatabaseDumper() {
            public void preflight(RunContext c) {
              if (!Files.isRegularFile(db)) {
                throw BbdiyException.configuration("acme-sqlite.database: no file " + db);
              }
            }
            public CaptureHandle capture(RunContext c) {
              try {
                Files.createDirectories(c.databaseCopy());
                Files.copy(db, c.databaseCopy().resolve("acme.db"), StandardCopyOption.REPLACE_EXISTING);
              } catch (IOException e) {
                throw new UncheckedIOException(e);
              }
              return CaptureHandle.NONE;
            }
            public Artifact complete(RunContext c, CaptureHandle h) {
              return new Artifact("acme-sqlite", Artifact.Kind.DATABASE, List.of(BackupLayout.DATABASE),
                  Map.of("database", db.toString()));
            }
            public RestoreOutcome restore(RestoreContext c) {
              String target = Objects.requireNonNull(c.targetDatabase(), "--target-database");
              try {
                Files.copy(c.source().resolve("acme.db"), Path.of(target));
              } catch (IOException e) {
                throw new UncheckedIOException(e);
              }
              return RestoreOutcome.database(target, target, List.of());
            }
          };
        }
      }
      """;

  /** A snapshot home provider ({@code acme-san}, vars file {@code ACME_SAN_POOL}) that is never run. */
  static final String ACME_SAN = """
      package com.acme.bbdiy;

      import dev.bbdiy.api.spi.*;
      import java.util.*;

      public final class AcmeSanProvider implements HomeSnapshotterProvider {
        static final Setting POOL = Setting.of("pool", SettingType.STRING, "The SAN pool (ACME_SAN_POOL).")
            .asRequired().fromVarsFile("ACME_SAN_POOL");

        public String name() { return "acme-san"; }
        public String description() { return "Acme SAN snapshots"; }
        public List<Setting> settings() { return List.of(POOL); }
        public Set<Capability> capabilities() {
          return Set.of(Capability.ATOMIC_CAPTURE, Capability.EXTERNAL_ARTIFACTS);
        }
        public HomeSnapshotter create(ProviderContext context) {
          throw new UnsupportedOperationException("not in these tests");
        }
      }
      """;

  private PluginJars() {}

  /** Returns the source of a home provider named {@code name} in class {@code com.acme.bbdiy.<simpleName>}. */
  static String home(String simpleName, String name, String constructorBody, String staticInit) {
    return """
        package com.acme.bbdiy;

        import dev.bbdiy.api.spi.*;
        import java.util.*;

        public final class %1$s implements HomeSnapshotterProvider {
          static { %4$s }
          public %1$s() { %3$s }
          public String name() { return "%2$s"; }
          public String description() { return "%2$s"; }
          public List<Setting> settings() { return List.of(); }
          public HomeSnapshotter create(ProviderContext context) { throw new UnsupportedOperationException(); }
        }
        """.formatted(simpleName, name, constructorBody, staticInit);
  }

  /**
   * Compiles {@code sources} (simple class name to source, package com.acme.bbdiy) against bbdiy-api and writes a
   * jar with them and the given service files.
   *
   * @param services service interface to the class names listed in its file
   * @param leaveOut classes compiled but left out of the jar (so that a class that needs them fails to link)
   */
  static Path jar(Path jar, Map<String, String> sources, Map<String, List<String>> services, String... leaveOut)
      throws IOException {
    Path work = Files.createTempDirectory("bbdiy-plugin-build-");
    Path src = Files.createDirectories(work.resolve("src/com/acme/bbdiy"));
    Path classes = Files.createDirectories(work.resolve("classes"));
    List<String> args = new ArrayList<>(List.of("-d", classes.toString(), "-classpath", classPath(), "-proc:none",
        "--release", "17"));
    for (Map.Entry<String, String> s : sources.entrySet()) {
      Path f = src.resolve(s.getKey() + ".java");
      Files.writeString(f, s.getValue());
      args.add(f.toString());
    }
    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    ByteArrayOutputStream diagnostics = new ByteArrayOutputStream();
    int rc = javac.run(null, OutputStream.nullOutputStream(), diagnostics, args.toArray(new String[0]));
    assertThat(rc).as("javac: %s", diagnostics.toString(StandardCharsets.UTF_8)).isZero();
    try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar));
        Stream<Path> files = Files.walk(classes)) {
      for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
        String name = classes.relativize(f).toString().replace('\\', '/');
        if (List.of(leaveOut).stream().anyMatch(l -> name.equals("com/acme/bbdiy/" + l + ".class"))) {
          continue;
        }
        out.putNextEntry(new JarEntry(name));
        out.write(Files.readAllBytes(f));
        out.closeEntry();
      }
      for (Map.Entry<String, List<String>> s : services.entrySet()) {
        out.putNextEntry(new JarEntry("META-INF/services/" + s.getKey()));
        out.write((String.join("\n", s.getValue()) + "\n").getBytes(StandardCharsets.UTF_8));
        out.closeEntry();
      }
    } finally {
      try (Stream<Path> all = Files.walk(work)) {
        for (Path f : all.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.delete(f);
        }
      }
    }
    return jar;
  }

  /** Returns a jar holding only {@code sources}, every class registered as a service of {@code service}. */
  static Path jar(Path jar, String service, Map<String, String> sources) throws IOException {
    List<String> classes = sources.keySet().stream().map(n -> "com.acme.bbdiy." + n).toList();
    return jar(jar, sources, Map.of(service, classes));
  }

  /** Returns the Acme jar: acme-sqlite and acme-san. */
  static Path acme(Path dir) throws IOException {
    Map<String, String> sources = new LinkedHashMap<>();
    sources.put("AcmeSqliteProvider", ACME_SQLITE);
    sources.put("AcmeSanProvider", ACME_SAN);
    return jar(dir.resolve("acme.jar"), sources, Map.of(DATABASE, List.of("com.acme.bbdiy.AcmeSqliteProvider"),
        HOME, List.of("com.acme.bbdiy.AcmeSanProvider")));
  }

  /** Writes one good plugin jar and one of each kind of broken one into {@code dir}; returns the good one. */
  static Path acmeAndBroken(Path dir) throws IOException {
    Path good = acme(dir);
    Files.writeString(dir.resolve("not-a-jar.jar"), "this is a text file\n");
    Files.writeString(dir.resolve("README.txt"), "not a jar, and not named like one: ignored\n");
    jar(dir.resolve("missing-class.jar"), Map.of("Present", home("Present", "present", "", "")),
        Map.of(HOME, List.of("com.acme.bbdiy.Absent", "com.acme.bbdiy.Present")));
    jar(dir.resolve("throws.jar"), HOME,
        Map.of("Throws", home("Throws", "throws", "throw new IllegalStateException(\"no licence key\");", "")));
    jar(dir.resolve("bad-name.jar"), HOME, Map.of("BadName", home("BadName", "Acme SAN", "", "")));
    jar(dir.resolve("reserved.jar"), HOME, Map.of("Reserved", home("Reserved", "work", "", "")));
    jar(dir.resolve("static-init.jar"), HOME, Map.of("StaticInit",
        home("StaticInit", "static-init", "", "if (true) { throw new IllegalStateException(\"no config\"); }")));
    // Needs a class its jar does not hold: NoClassDefFoundError when the provider is loaded.
    jar(dir.resolve("unlinked.jar"), Map.of("Base", """
        package com.acme.bbdiy;
        public abstract class Base implements dev.bbdiy.api.spi.HomeSnapshotterProvider {}
        """, "Unlinked", home("Unlinked", "unlinked", "", "").replace("implements HomeSnapshotterProvider",
        "extends Base")), Map.of(HOME, List.of("com.acme.bbdiy.Unlinked")), "Base");
    return good;
  }

  private static String classPath() {
    return location(Provider.class) + java.io.File.pathSeparator + location(NullMarked.class);
  }

  private static String location(Class<?> c) {
    try {
      return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }
}
