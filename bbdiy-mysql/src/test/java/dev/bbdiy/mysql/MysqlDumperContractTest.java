package dev.bbdiy.mysql;

import dev.bbdiy.api.spi.DatabaseDumperProvider;
import dev.bbdiy.testkit.DatabaseDumperContract;
import java.nio.file.Files;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;

/** The {@code mysql} provider runs the testkit's dumper contract against the machine's MariaDB. */
class MysqlDumperContractTest extends DatabaseDumperContract {
  private String db = "";
  private int restores;

  @Override
  protected DatabaseDumperProvider provider() {
    return new MysqlProvider();
  }

  @Override
  protected Map<String, String> configuration() {
    Map<String, String> m = new HashMap<>();
    m.put("mysql.host", MariaDbServer.HOST);
    m.put("mysql.port", Integer.toString(MariaDbServer.PORT));
    m.put("mysql.user", "root");
    m.put("mysql.database", db);
    return m;
  }

  @Override
  protected Map<String, String> configurationWithoutTool() {
    Map<String, String> m = configuration();
    try {
      m.put("mysql.bin-dir", Files.createDirectories(temp.resolve("no-tools-here")).toString());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return m;
  }

  @Override
  protected void createSource(List<String> values) {
    db = "bbdiy_contract_" + Long.toHexString(System.nanoTime());
    MariaDbServer.sql("CREATE DATABASE " + db + "; CREATE TABLE " + db + ".contract_rows (id INT AUTO_INCREMENT"
        + " PRIMARY KEY, value VARCHAR(200) NOT NULL) ENGINE=InnoDB CHARACTER SET utf8mb4; INSERT INTO " + db
        + ".contract_rows (value) VALUES " + values.stream().map(v -> "(" + MariaDbServer.quote(v) + ")")
        .collect(Collectors.joining(", ")));
  }

  @Override
  protected void insert(String value) {
    MariaDbServer.sql("INSERT INTO " + db + ".contract_rows (value) VALUES (" + MariaDbServer.quote(value) + ")");
  }

  @Override
  protected List<String> rows(String database) {
    return MariaDbServer.lines(MariaDbServer.sql("SELECT value FROM " + MysqlClient.ident(database)
        + ".contract_rows"));
  }

  @Override
  protected boolean exists(String database) {
    return MariaDbServer.exists(database);
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
  protected void assertNothingHeld() {
    List<String> dumps = ProcessHandle.current().descendants()
        .filter(p -> p.isAlive() && p.info().command().orElse("").matches(".*(mariadb-dump|mysqldump)"))
        .map(p -> p.pid() + " " + p.info().commandLine().orElse("")).toList();
    if (!dumps.isEmpty()) {
      throw new AssertionError("dump processes left running: " + dumps);
    }
  }

  @AfterEach
  void dropDatabases() {
    for (String name : MariaDbServer.lines(MariaDbServer.sql("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA"
        + " WHERE SCHEMA_NAME LIKE '" + db + "%'"))) {
      MariaDbServer.sql("DROP DATABASE IF EXISTS " + MysqlClient.ident(name));
    }
  }
}
