package dev.bbdiy.postgres;

import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.spi.DatabaseDumper;
import dev.bbdiy.api.spi.Secret;
import dev.bbdiy.core.BackupEngine;
import dev.bbdiy.core.MaintenanceClient;
import dev.bbdiy.archive.TarArchiverProvider;
import dev.bbdiy.copy.CopyProvider;
import dev.bbdiy.simulator.BitbucketHomes;
import dev.bbdiy.testkit.FakeBitbucketExtension;
import dev.bbdiy.testkit.PostgresTestServer;
import dev.bbdiy.testkit.TestClock;
import dev.bbdiy.testkit.TestContexts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** What the tests of the postgresql provider share: the machine's PostgreSQL, a fake Bitbucket, an engine. */
abstract class PostgresFixture {
  @RegisterExtension
  final FakeBitbucketExtension bitbucket = FakeBitbucketExtension.create(b -> b.drainTime(Duration.ofMillis(50)));

  @TempDir Path temp;

  final PostgresTestServer pg = PostgresTestServer.machine();
  final TestClock clock = new TestClock();
  String db;

  @BeforeEach
  void createDatabase() {
    db = pg.createDatabase("bbdiy_test");
    pg.execute(db, "CREATE TABLE repository (id serial PRIMARY KEY, name text NOT NULL);"
        + " CREATE TABLE pull_request (id serial PRIMARY KEY, repository_id int REFERENCES repository(id),"
        + " title text);"
        + " INSERT INTO repository (name) SELECT 'repo-' || g FROM generate_series(1, 1000) g;"
        + " INSERT INTO pull_request (repository_id, title) SELECT 1 + g % 1000, 'pr ' || g"
        + " FROM generate_series(1, 3000) g;");
  }

  @AfterEach
  void dropDatabasesAndRoles() {
    for (String name : pg.query("postgres", "SELECT datname FROM pg_database WHERE datname LIKE '" + db + "%'")
        .split("\n")) {
      if (!name.isBlank()) {
        pg.execute("postgres", "DROP DATABASE IF EXISTS " + PgTools.ident(name) + " WITH (FORCE)");
      }
    }
    for (String role : roles) {
      pg.execute("postgres", "DROP ROLE IF EXISTS " + role);
    }
  }

  private final List<String> roles = new ArrayList<>();

  /** Creates a role {@code <db>_<suffix>} with {@code options} (e.g. LOGIN CREATEDB), dropped after the test. */
  String role(String suffix, String options) {
    String role = db + "_" + suffix;
    pg.execute("postgres", "CREATE ROLE " + role + " " + options);
    roles.add(role);
    return role;
  }

  Map<String, String> config(String... extra) {
    Map<String, String> m = new HashMap<>(pg.configuration(db));
    m.put("tar.dir", temp.resolve("archives").toString());
    for (int i = 0; i < extra.length; i += 2) {
      m.put(extra[i], extra[i + 1]);
    }
    return m;
  }

  DatabaseDumper dumper(Map<String, String> config) {
    PostgresProvider p = new PostgresProvider();
    return p.create(TestContexts.providerContext(p, config, BitbucketInstance.of("bitbucket", null),
        temp.resolve("work")));
  }

  BackupEngine.Builder engine(Map<String, String> config) throws Exception {
    Path home = temp.resolve("home");
    if (!Files.exists(home)) {
      BitbucketHomes.generate(home, BitbucketHomes.spec().repositories(2).useGit(false));
    }
    return BackupEngine.builder()
        .instance(BitbucketInstance.of("bitbucket", home))
        .workDir(temp.resolve("work"))
        .bitbucket(MaintenanceClient.builder(bitbucket.url()).credentials("admin", Secret.of("admin"))
            .pollInterval(Duration.ofMillis(20)).build())
        .home(new CopyProvider())
        .database(new PostgresProvider())
        .archiver(new TarArchiverProvider())
        .configuration(config)
        .clock(clock);
  }
}
