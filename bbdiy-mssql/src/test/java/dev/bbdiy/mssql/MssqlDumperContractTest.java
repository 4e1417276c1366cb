package dev.bbdiy.mssql;

import dev.bbdiy.api.spi.DatabaseDumperProvider;
import dev.bbdiy.testkit.DatabaseDumperContract;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code mssql} provider runs the testkit's dumper contract against {@link FakeSqlServer} (no SQL Server runs on
 * these machines). The fake database's content is the table's values, one a line. The "missing tool" of the
 * contract is, for a JDBC provider, the backup directory it shares with the server: mssql.local-dir pointing at
 * nothing.
 */
class MssqlDumperContractTest extends DatabaseDumperContract {
  private FakeSqlServer server;
  private Path shared;
  private int restores;

  @Override
  protected DatabaseDumperProvider provider() {
    return new MssqlProvider(server);
  }

  @Override
  protected Map<String, String> configuration() {
    Map<String, String> m = new HashMap<>();
    m.put("mssql.server-dir", MssqlProviderTest.SERVER_DIR);
    m.put("mssql.local-dir", shared.toString());
    m.put("mssql.database", "bitbucket");
    return m;
  }

  @Override
  protected Map<String, String> configurationWithoutTool() {
    Map<String, String> m = configuration();
    m.put("mssql.local-dir", temp.resolve("no-such-share").toString());
    return m;
  }

  @Override
  protected void createSource(List<String> values) throws Exception {
    shared = Files.createDirectories(temp.resolve("shared"));
    server = new FakeSqlServer(shared, MssqlProviderTest.SERVER_DIR);
    server.create("bitbucket", String.join("\n", values));
  }

  @Override
  protected void insert(String value) {
    synchronized (server) {
      FakeSqlServer.Db d = server.databases.get("bitbucket");
      d.content = d.content.isEmpty() ? value : d.content + "\n" + value;
    }
  }

  @Override
  protected List<String> rows(String database) {
    synchronized (server) {
      String c = server.databases.get(database).content;
      return c.isEmpty() ? List.of() : new ArrayList<>(Arrays.asList(c.split("\n")));
    }
  }

  @Override
  protected boolean exists(String database) {
    synchronized (server) {
      return server.databases.containsKey(database);
    }
  }

  @Override
  protected String newDatabaseName() {
    return "bitbucket_restored_" + ++restores;
  }

  @Override
  protected String sourceDatabase() {
    return "bitbucket";
  }
}
