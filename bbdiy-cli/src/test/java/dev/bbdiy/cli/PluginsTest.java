package dev.bbdiy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bbdiy.core.internal.JsonObject;
import dev.bbdiy.simulator.BitbucketHomes;
import dev.bbdiy.simulator.FakeBitbucketServer.Endpoint;
import dev.bbdiy.testkit.FakeBitbucketExtension;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Provider jars in a plugins directory, built here as an outside team builds them, through {@link Main#run}. */
class PluginsTest {
  @RegisterExtension
  final FakeBitbucketExtension bitbucket = FakeBitbucketExtension.create(b -> b.drainTime(Duration.ofMillis(20)));

  @TempDir Path temp;

  final Map<String, String> env = new HashMap<>();
  Path plugins;
  Path config;

  record Run(int code, String out, String err) {
    String all() {
      return out + err;
    }
  }

  Run run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = Main.run(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8), env, false, args);
    return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  Run bbdiy(String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(List.of("--config", config.toString()));
    return run(all.toArray(new String[0]));
  }

  @BeforeEach
  void setUp() throws Exception {
    plugins = Files.createDirectories(temp.resolve("plugins"));
    Path secret = Files.writeString(temp.resolve("password"), "admin\n");
    Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
    config = temp.resolve("bbdiy.properties");
    Files.writeString(config, String.join("\n",
        "bitbucket.url=" + bitbucket.url(),
        "bitbucket.user=admin",
        "bitbucket.password.file=" + secret,
        "work.dir=" + temp.resolve("work"),
        "tar.dir=" + temp.resolve("archives"),
        "plugins.dir=" + plugins,
        ""));
  }

  @Test
  void providers_lists_each_plugin_provider_with_its_jar_and_every_broken_jar_is_a_warning() throws Exception {
    Path acme = PluginJars.acmeAndBroken(plugins);

    Run r = bbdiy("providers");

    assertThat(r.code()).as(r.all()).isZero();
    assertThat(r.out()).contains("acme-sqlite - Acme's database files [FILE_OUTPUT] (" + acme + ")",
        "acme-san - Acme SAN snapshots", "acme-sqlite.database (path, required)",
        "postgresql - ", "(built in)", plugins.toString(), "/etc/bbdiy/plugins");
    assertThat(r.all()).contains(
        plugins.resolve("not-a-jar.jar") + " is not loaded: it is not a readable jar file",
        "com.acme.bbdiy.Absent", // the class the services file lists and the jar lacks
        "com.acme.bbdiy.Throws (" + plugins.resolve("throws.jar") + ") could not be created", "no licence key",
        "com.acme.bbdiy.BadName (" + plugins.resolve("bad-name.jar") + ") has an invalid name 'Acme SAN'",
        "com.acme.bbdiy.Reserved (" + plugins.resolve("reserved.jar") + ") is named 'work', a name reserved",
        "com.acme.bbdiy.StaticInit", "no config",
        plugins.resolve("unlinked.jar") + " could not be loaded: java.lang.NoClassDefFoundError: com/acme/bbdiy/Base")
        .doesNotContain("README.txt");
    // What still works beside the broken jars: the one good provider in a jar with a missing class, too.
    assertThat(r.out()).contains("present - present (" + plugins.resolve("missing-class.jar") + ")");

    JsonObject json = JsonObject.parse(bbdiy("providers", "--json").out(), "providers --json");
    assertThat(json.array("database").toString()).contains("acme-sqlite", acme.toString());
    assertThat(json.array("loadErrors").toString()).contains("not-a-jar.jar", "Throws");
  }

  @Test
  void a_database_provider_from_a_plugin_backs_up_and_restores() throws Exception {
    PluginJars.acme(plugins);
    BitbucketHomes.generate(temp.resolve("home"), BitbucketHomes.spec().repositories(1).useGit(false));
    Path db = Files.writeString(temp.resolve("acme.db"), "rows of Acme's database\n");
    Files.writeString(config, Files.readString(config) + String.join("\n",
        "instance.home=" + temp.resolve("home"),
        "database.type=acme-sqlite",
        "acme-sqlite.database=" + db,
        ""));

    Run backup = bbdiy("backup");
    assertThat(backup.code()).as(backup.all()).isZero();
    assertThat(bitbucket.server().calls(Endpoint.LOCK)).isEqualTo(1);

    Path restored = temp.resolve("restored.db");
    Run restore = bbdiy("restore", "latest", "--database-only", "--target-database", restored.toString());
    assertThat(restore.code()).as(restore.all()).isZero();
    assertThat(restored).hasContent("rows of Acme's database");
  }

  @Test
  void a_missing_provider_names_the_directories_searched_and_the_installed_ones() throws Exception {
    Files.writeString(config, Files.readString(config) + "database.type=acme-sqlite\nacme-sqlite.database=/x\n");

    Run r = bbdiy("check");

    assertThat(r.code()).as(r.all()).isEqualTo(2);
    assertThat(r.err()).contains("No database provider named 'acme-sqlite' (database.type) is on the class path or"
        + " in the plugins directories " + plugins + ", /etc/bbdiy/plugins", "Installed: amazon-rds, command-database, mssql, mysql, postgresql",
        "Put the provider's jar into a plugins directory").doesNotContain("Unknown setting");
    assertThat(bitbucket.server().calls(Endpoint.LOCK)).isZero();

    Run setting = run("check", "--config", config.toString(), "--set", "database.type=none");
    assertThat(setting.code()).isEqualTo(2);
    assertThat(setting.err()).contains("Unknown setting acme-sqlite.database: no provider named 'acme-sqlite' is on"
        + " the class path or in the plugins directories " + plugins);
  }

  @Test
  void a_plugin_with_the_name_of_a_built_in_provider_is_reported_and_that_name_fails_naming_both() throws Exception {
    Path twin = PluginJars.jar(plugins.resolve("twin.jar"), PluginJars.DATABASE, Map.of("Twin",
        PluginJars.ACME_SQLITE.replace("AcmeSqliteProvider", "Twin").replace("\"acme-sqlite\"", "\"postgresql\"")));
    Files.writeString(config, Files.readString(config) + "database.type=postgresql\n");

    Run r = bbdiy("check");

    assertThat(r.code()).as(r.all()).isEqualTo(2);
    assertThat(r.err()).contains("Two providers are named 'postgresql'", "dev.bbdiy.postgres.PostgresProvider",
        "com.acme.bbdiy.Twin (" + twin + ")");
    assertThat(bitbucket.server().calls(Endpoint.LOCK)).isZero();
    Run others = bbdiy("providers");
    assertThat(others.code()).isZero();
    assertThat(others.out()).contains("postgresql - ", "NOT USED", "rsync - ");
  }

  @Test
  void a_plugin_others_can_write_to_is_not_loaded() throws Exception {
    Path acme = PluginJars.acme(plugins);
    Files.setPosixFilePermissions(acme, PosixFilePermissions.fromString("rw-rw-rw-"));

    Run r = bbdiy("providers");

    assertThat(r.code()).isZero();
    assertThat(r.all()).contains("Plugin " + acme + " is not loaded", "chmod go-w " + acme);
    assertThat(r.out()).doesNotContain("acme-sqlite");

    // A link in a safe directory to a jar in a directory anyone can write to: what counts is where the jar is.
    Path open = Files.createDirectories(temp.resolve("open"));
    Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
    Files.move(acme, open.resolve("acme.jar"));
    Files.setPosixFilePermissions(open.resolve("acme.jar"), PosixFilePermissions.fromString("rw-r--r--"));
    Files.createSymbolicLink(acme, open.resolve("acme.jar"));
    Run linked = bbdiy("providers");
    assertThat(linked.all()).contains("Plugin " + acme + " is not loaded", "chmod go-w " + open);
    assertThat(linked.out()).doesNotContain("acme-sqlite");

    Files.delete(acme);
    Files.move(open.resolve("acme.jar"), acme);
    Files.setPosixFilePermissions(plugins, PosixFilePermissions.fromString("rwxrwxrwx"));
    Run dir = bbdiy("providers");
    assertThat(dir.all()).contains("No plugin is loaded from " + plugins, "chmod go-w " + plugins);
    assertThat(dir.out()).doesNotContain("acme-sqlite");
  }

  @Test
  void the_plugins_directory_comes_from_the_environment_too_and_a_missing_one_is_a_warning() throws Exception {
    PluginJars.acme(plugins);
    env.put("BBDIY_PLUGINS_DIR", plugins.toString());

    Run r = run("providers");
    assertThat(r.out()).contains("acme-sqlite");

    Run missing = run("providers", "--set", "plugins.dir=" + temp.resolve("nowhere"));
    assertThat(missing.code()).isZero();
    assertThat(missing.all()).contains("plugins.dir " + temp.resolve("nowhere") + " is not a directory");
  }

  @Test
  void a_plugin_provider_is_configured_from_a_vars_file_through_the_variables_it_declares() throws Exception {
    PluginJars.acme(plugins);
    Path vars = temp.resolve("bitbucket.diy-backup.vars.sh");
    Files.writeString(vars, String.join("\n",
        "BITBUCKET_URL=" + bitbucket.url(),
        "BITBUCKET_BACKUP_USER=admin",
        "BITBUCKET_BACKUP_PASS=admin",
        "BACKUP_DISK_TYPE=acme-san",
        "ACME_SAN_POOL=tank7",
        "BACKUP_DATABASE_TYPE=acme-sqlite",
        "ACME_SQLITE_DB=/srv/acme.db",
        "BACKUP_ARCHIVE_TYPE=tar",
        "BITBUCKET_BACKUP_ARCHIVE_ROOT=" + temp.resolve("archives"),
        ""));
    Files.setPosixFilePermissions(vars, PosixFilePermissions.fromString("rw-------"));
    Plugins.Loaded loaded = Plugins.load(Plugins.directories(plugins.toString()), plugins);

    Config c = Config.load(null, vars, Map.of(), Map.of(), loaded.registry());

    assertThat(c.values()).containsEntry("home.type", "acme-san").containsEntry("acme-san.pool", "tank7")
        .containsEntry("database.type", "acme-sqlite").containsEntry("acme-sqlite.database", "/srv/acme.db");
    assertThat(c.warnings()).noneSatisfy(w -> assertThat(w).contains("ACME_"));
  }
}
