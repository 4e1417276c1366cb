package dev.bbdiy.examples.sqlite;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bbdiy.api.spi.DatabaseDumperProvider;
import dev.bbdiy.testkit.DatabaseDumperContract;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The sqlite provider passes the testkit's dumper contract against real sqlite3 databases. */
class SqliteContractTest extends DatabaseDumperContract {
  private Path source;
  private int restores;

  @Override
  protected DatabaseDumperProvider provider() {
    return new SqliteProvider();
  }

  @Override
  protected Map<String, String> configuration() {
    return Map.of("sqlite.file", source.toString());
  }

  @Override
  protected Map<String, String> configurationWithoutTool() {
    Map<String, String> m = new HashMap<>(configuration());
    m.put("sqlite.sqlite3", temp.resolve("not-installed/sqlite3").toString());
    return m;
  }

  @Override
  protected void createSource(List<String> values) throws Exception {
    Files.createDirectories(temp.resolve("db"));
    source = temp.resolve("db/bitbucket.sqlite");
    sql(source, "CREATE TABLE contract_rows (id INTEGER PRIMARY KEY, value TEXT NOT NULL);"
        + values.stream().map(v -> "INSERT INTO contract_rows (value) VALUES (" + literal(v) + ");")
        .collect(Collectors.joining()));
  }

  @Override
  protected void insert(String value) throws Exception {
    sql(source, "INSERT INTO contract_rows (value) VALUES (" + literal(value) + ");");
  }

  @Override
  protected List<String> rows(String database) throws Exception {
    String out = sql(Path.of(database), "SELECT value FROM contract_rows;");
    return out.isEmpty() ? List.of() : List.of(out.split("\n"));
  }

  @Override
  protected boolean exists(String database) {
    return Files.exists(Path.of(database));
  }

  @Override
  protected String newDatabaseName() {
    return temp.resolve("db/restored-" + ++restores + ".sqlite").toString();
  }

  @Override
  protected String sourceDatabase() {
    return source.toString();
  }

  @Test
  void is_found_by_the_service_loader() {
    assertThat(ServiceLoader.load(DatabaseDumperProvider.class).stream().map(ServiceLoader.Provider::get)
        .map(DatabaseDumperProvider::name)).contains("sqlite");
  }

  private static String literal(String v) {
    return "'" + v.replace("'", "''") + "'";
  }

  /** Runs SQL with the sqlite3 program; a missing sqlite3 fails the test naming the package. */
  static String sql(Path db, String sql) throws IOException, InterruptedException {
    Process p;
    try {
      p = new ProcessBuilder("sqlite3", "-bail", "-batch", db.toString(), sql).redirectErrorStream(true).start();
    } catch (IOException e) {
      throw new AssertionError("sqlite3 is required (apt-get install sqlite3; scripts/test.sh installs it)", e);
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(1, TimeUnit.MINUTES)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    return out.strip();
  }
}
