package dev.bbdiy.cli;

import dev.bbdiy.api.BackupResult;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.RestoreResult;
import dev.bbdiy.api.VerifyResult;
import dev.bbdiy.api.spi.Secret;
import dev.bbdiy.core.BackupEngine;
import dev.bbdiy.kit.ChildProcess;
import dev.bbdiy.core.MaintenanceClient;
import dev.bbdiy.core.ProviderRegistry;
import dev.bbdiy.core.RestoreRequest;
import dev.bbdiy.simulator.BitbucketHomes;
import dev.bbdiy.simulator.FakeBitbucketServer;
import dev.bbdiy.simulator.Git;
import dev.bbdiy.simulator.Trees;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "demo", description = {"Backs up and restores a generated Bitbucket home (real git repositories)"
    + " against the built-in Bitbucket simulator, with nothing but Java installed; and a database when a"
    + " PostgreSQL server answers on 127.0.0.1:5432. Compares the restore with the original and shows the lock"
    + " window."})
final class DemoCommand extends BaseCommand {
  private static final List<String> EXCLUDED = List.of("caches", "data/db.h2.db", "shared/data/db.mv.db",
      "search/data", "shared/search/data", "export", "shared/export", "log", "plugins/.osgi-plugins", "tmp", ".lock",
      "shared/.lock");

  @Option(names = "--dir", paramLabel = "DIR", description = "Where to work (default: a new temporary directory).")
  @Nullable Path dir;

  @Option(names = "--keep", description = "Keep the demo files afterwards.")
  boolean keep;

  @Option(names = "--no-database", description = "Do not use PostgreSQL even if one is reachable.")
  boolean noDatabase;

  @Option(names = "--repositories", description = "How many repositories to generate (default 5).")
  int repositories = 5;

  @Override
  int execute() {
    if (repositories < 1 || repositories > 1000) {
      throw new BbdiyException(ErrorCode.USAGE, "--repositories must be from 1 to 1000, not " + repositories);
    }
    Path base;
    try {
      base = dir != null ? Files.createDirectories(dir) : Files.createTempDirectory("bbdiy-demo-");
    } catch (IOException e) {
      throw BbdiyException.configuration("Cannot create the demo directory: " + e.getMessage());
    }
    String database = null;
    try (FakeBitbucketServer bitbucket = FakeBitbucketServer.builder().drainTime(Duration.ofMillis(300)).start()) {
      output.info("Bitbucket simulator running at " + bitbucket.url() + "; working in " + base);
      Path home = base.resolve("bitbucket-home");
      boolean git = Git.available();
      BitbucketHomes.generate(home, BitbucketHomes.spec().repositories(repositories).useGit(git));
      output.info("Generated a Bitbucket home with " + repositories + " repositories ("
          + (git ? "packs and loose objects, made with git" : "loose objects, written without git") + "), "
          + Output.mib(Trees.size(home)));

      Map<String, String> config = new HashMap<>();
      config.put("tar.dir", base.resolve("archives").toString());
      if (!noDatabase) {
        database = demoDatabase();
        if (database != null) {
          config.put("postgresql.host", "127.0.0.1");
          config.put("postgresql.user", "postgres");
          config.put("postgresql.database", database);
          output.info("Created PostgreSQL database " + database + " on 127.0.0.1:5432");
        } else {
          output.info("No PostgreSQL with trust authentication on 127.0.0.1:5432 (or no pg_dump): the demo backs"
              + " up the home only");
        }
      }
      ProviderRegistry registry = ProviderRegistry.load();
      BackupEngine engine = BackupEngine.builder()
          .instance(BitbucketInstance.of("demo", home))
          .workDir(base.resolve("work"))
          .bitbucket(MaintenanceClient.builder(bitbucket.url()).credentials(bitbucket.adminUser(),
              Secret.of(bitbucket.adminPassword())).pollInterval(Duration.ofMillis(100)).build())
          .home(registry.home("copy"))
          .database(database == null ? null : registry.database("postgresql"))
          .archiver(registry.archiver("tar"))
          .configuration(config)
          .listener(listener((Path) null))
          .build();
      watch(engine);

      BackupResult backup = engine.backup();
      VerifyResult verify = engine.verify(backup.id());
      Path restoredHome = base.resolve("restored-home");
      RestoreRequest.Builder request = RestoreRequest.builder(backup.id()).targetHome(restoredHome);
      if (database != null) {
        request.targetDatabase(database + "_restored");
      }
      RestoreResult restore = engine.restore(request.build());

      List<String> differences = Trees.differences(home, restoredHome, rel -> EXCLUDED.stream()
          .anyMatch(x -> rel.equals(x) || rel.startsWith(x + "/")), Trees.Check.MODE, Trees.Check.MTIME);
      int fsckFailures = 0;
      if (git) {
        for (Path repo : Git.repositories(restoredHome.resolve("shared/data/repositories"))) {
          if (!Git.fsck(repo).isEmpty()) {
            fsckFailures++;
          }
        }
      }
      Duration serverWindow = bitbucket.lastLockWindow().orElse(Duration.ZERO);
      output.info("");
      output.info("Demo summary");
      output.info("  backup      " + backup.id() + " -> " + backup.stored().location() + " ("
          + Output.mib(backup.stored().size()) + ")");
      output.info("  lock window " + Output.seconds(backup.lockWindow()) + " measured by bbdiy, "
          + Output.seconds(serverWindow) + " by the simulator; of it, " + Output.seconds(backup.drainedWindow())
          + " after the drain (capture and unlock), the rest waiting for Bitbucket to drain");
      output.info("  verify      " + (verify.ok() ? "intact" : "FAILED") + ", " + verify.entries() + " entries");
      output.info("  restore     " + restore.files() + " files into " + restoredHome
          + (database == null ? "" : ", database " + database + "_restored (row counts match)") + " in "
          + Output.seconds(restore.total()));
      output.info("  compare     " + (differences.isEmpty() ? "restored home identical to the original (excluded"
          + " caches, logs and temporary files aside)" : differences.size() + " DIFFERENCES: " + differences));
      if (git) {
        output.info("  git fsck    " + (fsckFailures == 0 ? "every restored repository is clean" : fsckFailures
            + " repositories FAILED"));
      }
      if (keep) {
        output.info("  files kept in " + base);
      }
      if (json) {
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("backup", backup);
        summary.put("verify", verify);
        summary.put("restore", restore);
        summary.put("differences", differences);
        summary.put("fsckFailures", fsckFailures);
        summary.put("simulatorLockWindow", serverWindow);
        output.json(summary);
      }
      if (!differences.isEmpty() || fsckFailures > 0 || !verify.ok()) {
        return ErrorCode.VERIFICATION_FAILED.exitCode();
      }
      return 0;
    } catch (IOException e) {
      throw new BbdiyException(ErrorCode.INTERNAL, "The demo failed: " + e.getMessage(), e);
    } finally {
      if (database != null) {
        dropDatabases(database);
      }
      if (!keep) {
        try {
          Trees.deleteRecursively(base);
        } catch (IOException e) {
          output.warn("could not remove " + base + ": " + e.getMessage());
        }
      }
    }
  }

  /** Creates a small database on a local trust-authenticated server, or returns null if there is none. */
  private static @Nullable String demoDatabase() {
    if (!pgDumpAvailable()) {
      return null;
    }
    String name = "bbdiy_demo_" + Long.toHexString(System.nanoTime() & 0xffffffL);
    try (Connection c = connect("postgres"); Statement st = c.createStatement()) {
      st.execute("CREATE DATABASE " + name);
    } catch (SQLException e) {
      return null;
    }
    try (Connection c = connect(name); Statement st = c.createStatement()) {
      st.execute("CREATE TABLE repository (id serial PRIMARY KEY, slug text NOT NULL)");
      st.execute("CREATE TABLE sta_pull_request (id serial PRIMARY KEY, repository_id int REFERENCES"
          + " repository(id), title text)");
      st.execute("INSERT INTO repository (slug) SELECT 'repo-' || g FROM generate_series(1, 50) g");
      st.execute("INSERT INTO sta_pull_request (repository_id, title) SELECT 1 + g % 50, 'Pull request ' || g"
          + " FROM generate_series(1, 2000) g");
      return name;
    } catch (SQLException e) {
      dropDatabases(name);
      return null;
    }
  }

  private static boolean pgDumpAvailable() {
    try {
      return ChildProcess.builder("pg_dump", "--version").build().run().succeeded();
    } catch (BbdiyException notInstalled) {
      return false;
    }
  }

  private static Connection connect(String db) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", "postgres");
    p.setProperty("connectTimeout", "3");
    p.setProperty("ApplicationName", "bbdiy-demo");
    return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:5432/" + db, p);
  }

  private static void dropDatabases(String name) {
    try (Connection c = connect("postgres"); Statement st = c.createStatement()) {
      st.execute("DROP DATABASE IF EXISTS " + name + "_restored");
      st.execute("DROP DATABASE IF EXISTS " + name);
    } catch (SQLException ignored) {
      // the demo database is small and clearly named
    }
  }
}
