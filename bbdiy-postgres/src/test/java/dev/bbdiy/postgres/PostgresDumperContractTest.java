package dev.bbdiy.postgres;

import dev.bbdiy.api.spi.DatabaseDumperProvider;
import dev.bbdiy.testkit.DatabaseDumperContract;
import dev.bbdiy.testkit.PostgresTestServer;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;

/** The {@code postgresql} provider runs the testkit's dumper contract against the machine's PostgreSQL. */
class PostgresDumperContractTest extends DatabaseDumperContract {
  private final PostgresTestServer pg = PostgresTestServer.machine();
  private String db = "";
  private int restores;

  @Override
  protected DatabaseDumperProvider provider() {
    return new PostgresProvider();
  }

  @Override
  protected Map<String, String> configuration() {
    return pg.configuration(db);
  }

  @Override
  protected Map<String, String> configurationWithoutTool() {
    Map<String, String> m = new HashMap<>(configuration());
    try {
      m.put("postgresql.bin-dir", Files.createDirectories(temp.resolve("no-tools-here")).toString());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return m;
  }

  @Override
  protected void createSource(List<String> values) {
    db = pg.createDatabase("bbdiy_contract");
    pg.execute(db, "CREATE TABLE contract_rows (id serial PRIMARY KEY, value text NOT NULL); INSERT INTO"
        + " contract_rows (value) VALUES " + values.stream().map(PostgresDumperContractTest::literal)
        .map(v -> "(" + v + ")").collect(Collectors.joining(", ")));
  }

  @Override
  protected void insert(String value) {
    pg.execute(db, "INSERT INTO contract_rows (value) VALUES (" + literal(value) + ")");
  }

  @Override
  protected List<String> rows(String database) {
    String out = pg.query(database, "SELECT value FROM contract_rows");
    return out.isEmpty() ? List.of() : Arrays.stream(out.split("\n")).map(String::strip).toList();
  }

  @Override
  protected boolean exists(String database) {
    return pg.databaseExists(database);
  }

  @Override
  protected String newDatabaseName() {
    return db + "_restored_" + ++restores;
  }

  @Override
  protected String sourceDatabase() {
    return db;
  }

  @Override
  protected void assertNothingHeld() throws Exception {
    // A closed connection's backend exits a moment after the client hung up.
    long deadline = System.nanoTime() + 10_000_000_000L;
    String sessions;
    do {
      sessions = pg.query("postgres", "SELECT pid || ' ' || coalesce(state, '') FROM pg_stat_activity"
          + " WHERE datname = '" + db + "'");
      if (sessions.isEmpty()) {
        return;
      }
      Thread.sleep(50);
    } while (System.nanoTime() < deadline);
    throw new AssertionError("sessions left on " + db + ": " + sessions);
  }

  private static String literal(String value) {
    return "'" + value.replace("'", "''") + "'";
  }

  @AfterEach
  void dropDatabases() {
    for (String name : pg.query("postgres", "SELECT datname FROM pg_database WHERE datname LIKE '" + db + "%'")
        .split("\n")) {
      if (!name.isBlank()) {
        pg.dropDatabase(name.strip());
      }
    }
  }
}
