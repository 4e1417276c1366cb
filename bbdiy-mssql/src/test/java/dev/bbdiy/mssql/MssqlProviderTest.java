package dev.bbdiy.mssql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupResult;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.spi.CaptureHandle;
import dev.bbdiy.api.spi.DatabaseDumper;
import dev.bbdiy.api.spi.Secret;
import dev.bbdiy.archive.TarArchiverProvider;
import dev.bbdiy.copy.CopyProvider;
import dev.bbdiy.core.BackupEngine;
import dev.bbdiy.core.MaintenanceClient;
import dev.bbdiy.core.ProviderRegistry;
import dev.bbdiy.core.RestoreRequest;
import dev.bbdiy.simulator.BitbucketHomes;
import dev.bbdiy.testkit.FakeBitbucketExtension;
import dev.bbdiy.testkit.TestClock;
import dev.bbdiy.testkit.TestContexts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The mssql provider against {@link FakeSqlServer}, a statement-level fake: no SQL Server runs on these machines.
 * What is proven is the provider's sequence of T-SQL and its decisions, not a real server's behaviour.
 */
class MssqlProviderTest {
  static final String SERVER_DIR = "/srv/mssql-backups";

  @RegisterExtension
  final FakeBitbucketExtension bitbucket = FakeBitbucketExtension.create(b -> b.drainTime(Duration.ofMillis(50)));

  @TempDir Path temp;

  final TestClock clock = new TestClock();
  FakeSqlServer server;
  Path shared;

  @BeforeEach
  void server() throws Exception {
    shared = Files.createDirectories(temp.resolve("shared"));
    server = new FakeSqlServer(shared, SERVER_DIR);
    server.create("bitbucket", "v1");
  }

  Map<String, String> config(String... extra) {
    Map<String, String> m = new HashMap<>();
    m.put("mssql.server-dir", SERVER_DIR);
    m.put("mssql.local-dir", shared.toString());
    m.put("mssql.database", "bitbucket");
    m.put("tar.dir", temp.resolve("archives").toString());
    for (int i = 0; i < extra.length; i += 2) {
      m.put(extra[i], extra[i + 1]);
    }
    return m;
  }

  DatabaseDumper dumper(Map<String, String> config) {
    MssqlProvider p = new MssqlProvider(server);
    return p.create(TestContexts.providerContext(p, config, BitbucketInstance.of("bitbucket", null),
        temp.resolve("work")));
  }

  /** Runs the four backup phases; {@code between} runs after prepare, before capture (Bitbucket still live). */
  Artifact backup(DatabaseDumper d, Runnable between) {
    TestContexts.TestRunContext ctx = TestContexts.run(temp.resolve("work"), Phase.PREFLIGHT);
    d.preflight(ctx);
    d.prepare(ctx.in(Phase.PREPARE));
    between.run();
    CaptureHandle h = d.capture(ctx.in(Phase.CAPTURE));
    return d.complete(ctx.in(Phase.COMPLETE), h);
  }

  List<String> fullBackups() {
    return server.statements.stream().map(FakeSqlServer.Statement::sql)
        .filter(s -> s.startsWith("BACKUP DATABASE") && !s.contains("DIFFERENTIAL")).toList();
  }

  @Test
  void is_registered_with_the_service_loader() {
    assertThat(ProviderRegistry.load().database("mssql")).isInstanceOf(MssqlProvider.class);
  }

  @Test
  void full_before_the_lock_differential_inside_it_restored_with_move_norecovery_then_recovery() throws Exception {
    Artifact a = backup(dumper(config()), () -> server.databases.get("bitbucket").content = "v2");
    server.databases.get("bitbucket").content = "v3"; // after the capture: not in the backup

    assertThat(a.property("full.reused")).isEqualTo("false");
    assertThat(temp.resolve("work/bitbucket-db").resolve(MssqlDumper.FULL_FILE)).exists();
    assertThat(temp.resolve("work/bitbucket-db").resolve(MssqlDumper.DIFF_FILE)).exists();
    assertThat(server.statements.stream().map(FakeSqlServer.Statement::sql))
        .filteredOn(s -> s.startsWith("RESTORE VERIFYONLY")).hasSize(2).allMatch(s -> s.endsWith("WITH CHECKSUM"));
    assertThat(fullBackups()).singleElement().asString().contains("WITH CHECKSUM", "COMPRESSION");

    dumper(config()).restore(TestContexts.restore(BackupId.of("bitbucket", clock.instant()), a,
        temp.resolve("work/bitbucket-db"), null, Map.of(), "bitbucket_restored"));

    FakeSqlServer.Db restored = server.databases.get("bitbucket_restored");
    assertThat(restored.state).isEqualTo("ONLINE");
    assertThat(restored.content).isEqualTo("v2");
    assertThat(restored.files.values()).containsExactly("/var/opt/mssql/data/bitbucket_restored_bitbucket.mdf",
        "/var/opt/mssql/data/bitbucket_restored_bitbucket_log.ldf");
    assertThat(server.statements.stream().map(FakeSqlServer.Statement::sql))
        .anySatisfy(s -> assertThat(s).startsWith("RESTORE FILELISTONLY"))
        .anySatisfy(s -> assertThat(s).contains("MOVE N'bitbucket' TO", "NORECOVERY, CHECKSUM"))
        .anySatisfy(s -> assertThat(s).endsWith("WITH RECOVERY, CHECKSUM"));
    try (var s = java.nio.file.Files.list(shared)) {
      assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.contains("restore") || n.contains("diff"));
    }
  }

  @Test
  void the_full_is_reused_while_young_and_still_the_base_and_taken_anew_otherwise() {
    backup(dumper(config()), () -> {});
    Artifact second = backup(dumper(config()), () -> {});
    assertThat(second.property("full.reused")).isEqualTo("true");
    assertThat(fullBackups()).hasSize(1);

    server.foreignFull("bitbucket"); // a DBA's full backup moves the differential base
    Artifact third = backup(dumper(config()), () -> {});
    assertThat(third.property("full.reused")).isEqualTo("false");
    assertThat(fullBackups()).hasSize(2);

    Artifact fourth = backup(dumper(config("mssql.full-every", "0s")), () -> {});
    assertThat(fourth.property("full.reused")).isEqualTo("false");
    assertThat(fullBackups()).hasSize(3);
    try (var s = java.nio.file.Files.list(shared)) {
      assertThat(s.map(p -> p.getFileName().toString())).singleElement().asString().contains("-full-");
    } catch (java.io.IOException e) {
      throw new AssertionError(e);
    }

    // The fourth backup restores on its own: its archive holds the full its differential needs.
    dumper(config()).restore(TestContexts.restore(BackupId.of("bitbucket", clock.instant()), fourth,
        temp.resolve("work/bitbucket-db"), null, Map.of(), "bitbucket_restored"));
    assertThat(server.databases.get("bitbucket_restored").state).isEqualTo("ONLINE");
  }

  @Test
  void a_foreign_full_between_prepare_and_the_lock_fails_the_backup_and_forces_a_new_full() {
    assertThatThrownBy(() -> backup(dumper(config()), () -> server.foreignFull("bitbucket")))
        .isInstanceOfSatisfying(BbdiyException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.PROVIDER_FAILED))
        .hasMessageContaining("someone took a full backup").hasMessageContaining("Run the backup again");
    assertThat(temp.resolve("work/bitbucket-db")).doesNotExist();

    Artifact again = backup(dumper(config()), () -> {});
    assertThat(again.property("full.reused")).isEqualTo("false");
  }

  @Test
  void a_damaged_file_fails_verifyonly_and_the_previous_backup_is_kept() throws Exception {
    backup(dumper(config()), () -> {});
    byte[] previous = Files.readAllBytes(temp.resolve("work/bitbucket-db").resolve(MssqlDumper.DIFF_FILE));
    Path full;
    try (var s = Files.list(shared)) {
      full = s.filter(p -> p.getFileName().toString().contains("-full-")).findFirst().orElseThrow();
    }
    byte[] bytes = Files.readAllBytes(full);
    bytes[10] ^= 1;
    Files.write(full, bytes);

    assertThatThrownBy(() -> backup(dumper(config()), () -> {}))
        .isInstanceOf(BbdiyException.class).hasMessageContaining("VERIFYONLY")
        .hasMessageContaining("Damage to the backup set");
    assertThat(Files.readAllBytes(temp.resolve("work/bitbucket-db").resolve(MssqlDumper.DIFF_FILE)))
        .isEqualTo(previous);
  }

  @Test
  void restore_refuses_an_existing_name_and_drops_what_a_failed_restore_created() throws Exception {
    Artifact a = backup(dumper(config()), () -> {});
    assertThatThrownBy(() -> dumper(config()).restore(TestContexts.restore(BackupId.of("bitbucket",
        clock.instant()), a, temp.resolve("work/bitbucket-db"), null, Map.of(), "bitbucket")))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.REFUSED));

    Path diff = temp.resolve("work/bitbucket-db").resolve(MssqlDumper.DIFF_FILE);
    byte[] bytes = Files.readAllBytes(diff);
    bytes[12] ^= 1;
    Files.write(diff, bytes);
    assertThatThrownBy(() -> dumper(config()).restore(TestContexts.restore(BackupId.of("bitbucket",
        clock.instant()), a, temp.resolve("work/bitbucket-db"), null, Map.of(), "bitbucket_broken")))
        .isInstanceOf(BbdiyException.class).hasMessageContaining("Damage");
    assertThat(server.databases).doesNotContainKey("bitbucket_broken");
    assertThat(server.databases.get("bitbucket").state).isEqualTo("ONLINE");
  }

  @Test
  void express_edition_backs_up_without_compression() {
    server.edition = "4";
    backup(dumper(config()), () -> {});
    assertThat(server.statements.stream().map(FakeSqlServer.Statement::sql))
        .filteredOn(s -> s.startsWith("BACKUP")).hasSize(2).noneMatch(s -> s.contains("COMPRESSION"));
  }

  @Test
  void a_missing_database_is_a_configuration_error() {
    assertThatThrownBy(() -> backup(dumper(config("mssql.database", "nope")), () -> {}))
        .isInstanceOfSatisfying(BbdiyException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION))
        .hasMessageContaining("BITBUCKET_DB");
  }

  @Test
  void row_counts_recorded_at_capture_are_checked_after_restore_and_a_mismatch_drops_the_database()
      throws Exception {
    Artifact a = backup(dumper(config()), () -> server.databases.get("bitbucket").tables.put("dbo\trepository", 5L));
    server.databases.get("bitbucket").tables.put("dbo\trepository", 6L); // after the capture: not in the backup

    assertThat(a.properties()).containsEntry("rows.[dbo].[repository]", "5")
        .containsEntry("rows.[dbo].[sta_pull_request]", "12").containsEntry("rows.[odd.schema].[the ]]table]", "1")
        .containsEntry("tables", "3");
    var ok = TestContexts.restore(BackupId.of("bitbucket", clock.instant()), a,
        temp.resolve("work/bitbucket-db"), null, Map.of(), "bitbucket_restored");
    var outcome = dumper(config()).restore(ok);
    assertThat(outcome.checks()).contains("row counts of 3 tables match the backup");
    assertThat(server.statements.stream().map(FakeSqlServer.Statement::sql))
        .contains("SELECT COUNT_BIG(*) FROM [bitbucket_restored].[odd.schema].[the ]]table]");

    server.losesRowsOnRestore = "dbo\tsta_pull_request";
    assertThatThrownBy(() -> dumper(config()).restore(TestContexts.restore(BackupId.of("bitbucket",
        clock.instant()), a, temp.resolve("work/bitbucket-db"), null, Map.of(), "bitbucket_short")))
        .isInstanceOfSatisfying(BbdiyException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.VERIFICATION_FAILED);
          assertThat(e.getMessage()).contains("[dbo].[sta_pull_request]: 11 rows, 12 at backup time");
        });
    assertThat(server.databases).doesNotContainKey("bitbucket_short");
  }

  @Test
  void a_row_count_key_that_is_not_two_quoted_names_never_reaches_the_server() throws Exception {
    Artifact a = backup(dumper(config()), () -> {});
    Map<String, String> props = new HashMap<>(a.properties());
    props.put("rows.[dbo].[x]; DROP DATABASE [bitbucket]; --", "1");
    Artifact tampered = new Artifact(a.provider(), a.kind(), a.paths(), props);

    assertThatThrownBy(() -> dumper(config()).restore(TestContexts.restore(BackupId.of("bitbucket",
        clock.instant()), tampered, temp.resolve("work/bitbucket-db"), null, Map.of(), "bitbucket_restored")))
        .isInstanceOfSatisfying(BbdiyException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.VERIFICATION_FAILED));
    assertThat(server.statements.stream().map(FakeSqlServer.Statement::sql))
        .noneMatch(s -> s.contains("DROP DATABASE [bitbucket];"));
    assertThat(server.databases).containsKey("bitbucket").doesNotContainKey("bitbucket_restored");
  }

  @Test
  void through_the_engine_only_the_differential_backup_runs_inside_the_lock() throws Exception {
    server.locked = () -> bitbucket.server().isLocked();
    Path home = temp.resolve("home");
    BitbucketHomes.generate(home, BitbucketHomes.spec().repositories(2).useGit(false));
    BackupEngine.Builder engine = BackupEngine.builder()
        .instance(BitbucketInstance.of("bitbucket", home))
        .workDir(temp.resolve("work"))
        .bitbucket(MaintenanceClient.builder(bitbucket.url()).credentials("admin", Secret.of("admin"))
            .pollInterval(Duration.ofMillis(20)).build())
        .home(new CopyProvider())
        .database(new MssqlProvider(server))
        .archiver(new TarArchiverProvider())
        .configuration(config())
        .clock(clock);

    BackupResult backup = engine.build().backup();

    // The differential backup, then the catalog's row counts (one metadata query) of the state it holds.
    assertThat(server.statementsWhileLocked()).hasSize(2);
    assertThat(server.statementsWhileLocked().get(0))
        .startsWith("BACKUP DATABASE [bitbucket] TO DISK = N'" + SERVER_DIR + "/bbdiy-bitbucket-diff-")
        .endsWith("WITH DIFFERENTIAL, CHECKSUM, INIT, FORMAT, COMPRESSION");
    assertThat(server.statementsWhileLocked().get(1)).isEqualTo(RowCounts.query("bitbucket"));
    engine.build().restore(RestoreRequest.builder(backup.id()).databaseOnly().targetDatabase("bitbucket_restored")
        .build());
    assertThat(server.databases.get("bitbucket_restored").state).isEqualTo("ONLINE");
  }
}
