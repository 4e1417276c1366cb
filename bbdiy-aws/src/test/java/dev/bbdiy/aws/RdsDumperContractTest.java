package dev.bbdiy.aws;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bbdiy.api.spi.DatabaseDumperProvider;
import dev.bbdiy.testkit.DatabaseDumperContract;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;

/**
 * {@code amazon-rds} runs the testkit's dumper contract against the stateful RDS fake, whose instances carry the
 * contract's table as a list of values that snapshots copy and restores copy back.
 */
class RdsDumperContractTest extends DatabaseDumperContract {
  private static final String SOURCE = "bitbucket-db";
  private FakeAws aws;
  private int restores;

  @Override
  protected DatabaseDumperProvider provider() {
    return new RdsProvider();
  }

  @Override
  protected Map<String, String> configuration() {
    Map<String, String> m = new HashMap<>();
    m.put("amazon-rds.instance-id", SOURCE);
    m.put("amazon-rds.endpoint", aws.url());
    m.put("amazon-rds.region", "us-east-1");
    m.put("amazon-rds.poll-interval", "20ms");
    return m;
  }

  @Override
  protected @Nullable Map<String, String> configurationWithoutTool() {
    return null; // the provider calls the RDS API and runs no program
  }

  @Override
  protected void createSource(List<String> values) throws Exception {
    // Snapshots and new instances stay "creating" over a few describes, so that waits can be cancelled.
    aws = new FakeAws().describesUntilDone(5);
    synchronized (aws.dbInstances) {
      aws.dbInstances.get(SOURCE).put("rows", String.join("\n", values));
    }
  }

  @Override
  protected void insert(String value) {
    synchronized (aws.dbInstances) {
      Map<String, String> db = aws.dbInstances.get(SOURCE);
      db.put("rows", db.get("rows") + "\n" + value);
    }
  }

  @Override
  protected List<String> rows(String database) {
    synchronized (aws.dbInstances) {
      Map<String, String> db = aws.dbInstances.get(database);
      assertThat(db).as("instance %s", database).isNotNull();
      String rows = db.getOrDefault("rows", "");
      return rows.isEmpty() ? List.of() : List.of(rows.split("\n"));
    }
  }

  @Override
  protected boolean exists(String database) {
    synchronized (aws.dbInstances) {
      return aws.dbInstances.containsKey(database);
    }
  }

  @Override
  protected String newDatabaseName() {
    return "bitbucket-db-contract-" + ++restores;
  }

  @Override
  protected String sourceDatabase() {
    return SOURCE;
  }

  @Override
  protected boolean restoresIntoTheSourceByDefault() {
    return false; // without --target-database it restores as <id>-restored-<time>
  }

  @Override
  protected void assertNothingHeld() {
    // The abort cases run after at most one earlier backup, whose snapshot is the only one allowed to remain.
    List<String> left;
    synchronized (aws.dbSnapshots) {
      left = new ArrayList<>(aws.dbSnapshots.keySet());
    }
    assertThat(left).as("DB snapshots left").hasSizeLessThanOrEqualTo(1);
  }

  @AfterEach
  void stopAws() {
    aws.close();
  }
}
