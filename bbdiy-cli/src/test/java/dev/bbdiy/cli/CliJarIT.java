package dev.bbdiy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bbdiy.core.internal.JsonObject;
import dev.bbdiy.simulator.BitbucketHomes;
import dev.bbdiy.testkit.FakeBitbucketExtension;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The shaded jar, run as users run it: a separate process. */
class CliJarIT {
  private static final Path JAR = Path.of(System.getProperty("bbdiy.jar", "target/bbdiy-cli.jar"));

  record Run(int code, String out) {}

  static Run java(String... args) throws Exception {
    return java(JAR, args);
  }

  static Run java(Path jar, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-jar", jar.toString()));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(5, TimeUnit.MINUTES)).isTrue();
    return new Run(p.exitValue(), out);
  }

  @RegisterExtension
  final FakeBitbucketExtension bitbucket = FakeBitbucketExtension.create(b -> b.drainTime(Duration.ofMillis(20)));

  @TempDir Path temp;

  /** Installs the jar as a package would: a directory of its own, with plugins/ beside it. */
  Path install() throws Exception {
    Path dir = Files.createDirectories(temp.resolve("usr/share/bbdiy"));
    Files.copy(JAR, dir.resolve("bbdiy-cli.jar"));
    Files.createDirectories(dir.resolve("plugins"));
    return dir.resolve("bbdiy-cli.jar");
  }

  @Test
  void java_jar_finds_the_plugins_next_to_the_jar_and_reports_the_broken_ones() throws Exception {
    Path jar = install();
    Path plugins = jar.resolveSibling("plugins");
    Path acme = PluginJars.acmeAndBroken(plugins);

    Run r = java(jar, "providers", "--json");

    assertThat(r.code()).as(r.out()).isZero();
    String json = r.out().substring(r.out().indexOf("\n{") + 1);
    JsonObject parsed = JsonObject.parse(json, "providers");
    assertThat(parsed.array("database").toString()).contains("acme-sqlite", acme.toString(), "postgresql",
        "built in");
    assertThat(parsed.array("pluginDirectories").toString()).contains(plugins.toString(), "/etc/bbdiy/plugins");
    assertThat(parsed.array("loadErrors").toString()).contains("not-a-jar.jar", "com.acme.bbdiy.Throws",
        "com.acme.bbdiy.BadName", "com.acme.bbdiy.Absent", "unlinked.jar", "com.acme.bbdiy.StaticInit");
  }

  @Test
  void a_plugin_database_provider_backs_up_and_restores_through_java_jar() throws Exception {
    Path jar = install();
    PluginJars.acme(jar.resolveSibling("plugins"));
    BitbucketHomes.generate(temp.resolve("home"), BitbucketHomes.spec().repositories(1).useGit(false));
    Path db = Files.writeString(temp.resolve("acme.db"), "rows of Acme's database\n");
    Path password = Files.writeString(temp.resolve("password"), "admin\n");
    Files.setPosixFilePermissions(password, PosixFilePermissions.fromString("rw-------"));
    Path config = Files.writeString(temp.resolve("bbdiy.properties"), String.join("\n",
        "bitbucket.url=" + bitbucket.url(),
        "bitbucket.user=admin",
        "bitbucket.password.file=" + password,
        "instance.home=" + temp.resolve("home"),
        "work.dir=" + temp.resolve("work"),
        "tar.dir=" + temp.resolve("archives"),
        "database.type=acme-sqlite",
        "acme-sqlite.database=" + db,
        ""));

    Run backup = java(jar, "backup", "--config", config.toString());
    assertThat(backup.code()).as(backup.out()).isZero();

    Path restored = temp.resolve("restored.db");
    Run restore = java(jar, "restore", "latest", "--database-only", "--target-database", restored.toString(),
        "--config", config.toString());
    assertThat(restore.code()).as(restore.out()).isZero();
    assertThat(restored).hasContent("rows of Acme's database");
  }

  /**
   * The path README's "Writing a provider" walks: the example SQLite provider of examples/sqlite-provider, a Maven
   * project that imports bbdiy-bom and depends on bbdiy-api and bbdiy-kit alone, built as its own jar, dropped into
   * the plugins directory of an installed CLI, and used by it for a backup and a restore.
   */
  @Test
  void the_example_sqlite_provider_jar_in_the_plugins_directory_backs_up_and_restores() throws Exception {
    Path plugin = Path.of(System.getProperty("bbdiy.sqlite.jar",
        "../examples/sqlite-provider/target/bbdiy-example-sqlite-0.1.0-SNAPSHOT.jar"));
    assertThat(plugin).as("build examples/sqlite-provider first (mvn package)").isRegularFile();
    Path jar = install();
    Path installed = Files.copy(plugin, jar.resolveSibling("plugins").resolve("bbdiy-example-sqlite.jar"));
    BitbucketHomes.generate(temp.resolve("home"), BitbucketHomes.spec().repositories(1).useGit(false));
    Path db = temp.resolve("db/bitbucket.sqlite");
    Files.createDirectories(db.getParent());
    sqlite(db, "CREATE TABLE repo (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO repo (name) VALUES ('one'),"
        + " ('two'), ('three');");
    Path password = Files.writeString(temp.resolve("password"), "admin\n");
    Files.setPosixFilePermissions(password, PosixFilePermissions.fromString("rw-------"));
    Path config = Files.writeString(temp.resolve("bbdiy.properties"), String.join("\n",
        "bitbucket.url=" + bitbucket.url(),
        "bitbucket.user=admin",
        "bitbucket.password.file=" + password,
        "instance.home=" + temp.resolve("home"),
        "work.dir=" + temp.resolve("work"),
        "tar.dir=" + temp.resolve("archives"),
        "database.type=sqlite",
        "sqlite.file=" + db,
        ""));

    Run providers = java(jar, "providers");
    assertThat(providers.code()).as(providers.out()).isZero();
    assertThat(providers.out()).contains("sqlite", installed.toString());

    Run backup = java(jar, "backup", "--config", config.toString());
    assertThat(backup.code()).as(backup.out()).isZero();
    assertThat(bitbucket.server().isLocked()).isFalse();
    sqlite(db, "INSERT INTO repo (name) VALUES ('after the backup');");

    Run existing = java(jar, "restore", "latest", "--database-only", "--config", config.toString());
    assertThat(existing.code()).as("the configured database exists: refused\n%s", existing.out()).isNotZero();
    assertThat(existing.out()).contains("already exists");

    Path restored = temp.resolve("db/restored.sqlite");
    Run restore = java(jar, "restore", "latest", "--database-only", "--target-database", restored.toString(),
        "--config", config.toString());
    assertThat(restore.code()).as(restore.out()).isZero();
    assertThat(restore.out()).contains(restored.toString());
    assertThat(sqlite(restored, "SELECT name FROM repo ORDER BY id;")).isEqualTo("one\ntwo\nthree");
    assertThat(sqlite(db, "SELECT count(*) FROM repo;")).isEqualTo("4");
  }

  private static String sqlite(Path db, String sql) throws Exception {
    Process p;
    try {
      p = new ProcessBuilder("sqlite3", "-bail", "-batch", db.toString(), sql).redirectErrorStream(true).start();
    } catch (java.io.IOException e) {
      throw new AssertionError("sqlite3 is required (apt-get install sqlite3; scripts/test.sh installs it)", e);
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(1, TimeUnit.MINUTES)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    return out.strip();
  }

  @Test
  void every_command_prints_its_help() throws Exception {
    for (String command : List.of("simulate", "backup", "restore")) {
      Run r = java(command, "--help");
      assertThat(r.code()).as(r.out()).isZero();
      assertThat(r.out()).contains("Usage: bbdiy " + command);
    }
  }

  @Test
  void prints_its_version() throws Exception {
    Run r = java("--version");
    assertThat(r.code()).isZero();
    assertThat(r.out()).matches("(?s)bbdiy \\d+\\.\\d+\\.\\d+.*");
  }

  @Test
  void finds_the_providers_of_every_module() throws Exception {
    Run r = java("providers", "--json");
    assertThat(r.code()).as(r.out()).isZero();
    String json = r.out().substring(r.out().indexOf('{'));
    JsonObject parsed = JsonObject.parse(json, "providers");
    assertThat(json).contains("\"copy\"", "\"rsync\"", "\"postgresql\"", "\"tar\"");
    assertThat(parsed.array("loadErrors")).isEmpty();
  }

  @Test
  void the_demo_runs_with_nothing_but_java() throws Exception {
    Run r = java("demo", "--no-database", "--repositories", "2", "--json");
    assertThat(r.code()).as(r.out()).isZero();
    assertThat(r.out()).contains("restored home identical", "\"differences\": []");
    // Records are written field by field: proof the jar's Multi-Release manifest lets Moshi read them.
    assertThat(r.out()).contains("\"lockWindow\"", "\"summary\"");
  }
}
