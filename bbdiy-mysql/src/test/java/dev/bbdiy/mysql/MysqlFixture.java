package dev.bbdiy.mysql;

import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.spi.DatabaseDumper;
import dev.bbdiy.api.spi.Secret;
import dev.bbdiy.archive.TarArchiverProvider;
import dev.bbdiy.copy.CopyProvider;
import dev.bbdiy.core.BackupEngine;
import dev.bbdiy.core.MaintenanceClient;
import dev.bbdiy.simulator.BitbucketHomes;
import dev.bbdiy.testkit.FakeBitbucketExtension;
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

/** What the tests of the mysql provider share: the machine's MariaDB, a fake Bitbucket, an engine. */
abstract class MysqlFixture {
  @RegisterExtension
  final FakeBitbucketExtension bitbucket = FakeBitbucketExtension.create(b -> b.drainTime(Duration.ofMillis(50)));

  @TempDir Path temp;

  final TestClock clock = new TestClock();
  String db;
  private final List<String> users = new ArrayList<>();

  @BeforeEach
  void createDatabase() {
    db = "bbdiy_test_" + Long.toHexString(System.nanoTime());
    MariaDbServer.sql("CREATE DATABASE " + db + ";"
        + " CREATE TABLE " + db + ".repository (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL)"
        + " ENGINE=InnoDB;"
        + " CREATE TABLE " + db + ".pull_request (id INT AUTO_INCREMENT PRIMARY KEY, repository_id INT,"
        + " title TEXT, payload BLOB) ENGINE=InnoDB;"
        + " INSERT INTO " + db + ".repository (name) WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1"
        + " FROM g WHERE n < 1000) SELECT CONCAT('repo-', n) FROM g;"
        + " INSERT INTO " + db + ".pull_request (repository_id, title, payload) WITH RECURSIVE g(n) AS (SELECT 1"
        + " UNION ALL SELECT n + 1 FROM g WHERE n < 1000) SELECT 1 + n % 1000, CONCAT('pr ', n + 1000 * k.k,"
        + " ' it''s (a;b)'), UNHEX('00FF275C0A3B29') FROM g, (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2) k;");
  }

  @AfterEach
  void dropDatabasesAndUsers() {
    for (String name : MariaDbServer.lines(MariaDbServer.sql("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA"
        + " WHERE SCHEMA_NAME LIKE '" + db + "%'"))) {
      MariaDbServer.sql("DROP DATABASE IF EXISTS " + MysqlClient.ident(name));
    }
    for (String u : users) {
      MariaDbServer.sql("DROP USER IF EXISTS " + u);
    }
  }

  /** Creates a user on 127.0.0.1 with {@code password} and all rights on this test's databases. */
  String user(String name, String password) {
    String u = "'" + name + "'@'127.0.0.1'";
    MariaDbServer.sql("DROP USER IF EXISTS " + u + "; CREATE USER " + u + " IDENTIFIED BY "
        + MariaDbServer.quote(password) + "; GRANT ALL ON `" + db.replace("_", "\\_") + "%`.* TO " + u);
    users.add(u);
    return name;
  }

  Map<String, String> config(String... extra) {
    Map<String, String> m = new HashMap<>();
    m.put("mysql.host", MariaDbServer.HOST);
    m.put("mysql.port", Integer.toString(MariaDbServer.PORT));
    m.put("mysql.user", "root");
    m.put("mysql.database", db);
    m.put("tar.dir", temp.resolve("archives").toString());
    for (int i = 0; i < extra.length; i += 2) {
      m.put(extra[i], extra[i + 1]);
    }
    return m;
  }

  DatabaseDumper dumper(Map<String, String> config) {
    MysqlProvider p = new MysqlProvider();
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
        .database(new MysqlProvider())
        .archiver(new TarArchiverProvider())
        .configuration(config)
        .clock(clock);
  }
}
