package dev.bbdiy.mysql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupResult;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.RestoreResult;
import dev.bbdiy.api.spi.CaptureHandle;
import dev.bbdiy.api.spi.DatabaseDumper;
import dev.bbdiy.core.ProviderRegistry;
import dev.bbdiy.core.RestoreRequest;
import dev.bbdiy.simulator.FakeBitbucketServer;
import dev.bbdiy.testkit.TestContexts;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The mysql provider against the machine's real MariaDB: no mocks. */
class MysqlProviderTest extends MysqlFixture {
  @Test
  void is_registered_with_the_service_loader() {
    assertThat(ProviderRegistry.load().database("mysql")).isInstanceOf(MysqlProvider.class);
  }

  @Test
  void the_dump_holds_what_was_written_before_the_lock_and_nothing_written_after_the_unlock() throws Exception {
    DatabaseDumper d = dumper(config());
    TestContexts.TestRunContext ctx = TestContexts.run(temp.resolve("work"), Phase.PREFLIGHT);
    d.preflight(ctx);
    d.prepare(ctx.in(Phase.PREPARE));
    MariaDbServer.sql("INSERT INTO " + db + ".repository (name) VALUES ('before-the-lock')");
    CaptureHandle h = d.capture(ctx.in(Phase.CAPTURE));
    // Bitbucket is unlocked now: another connection writes at once, and goes on while the dump runs.
    MariaDbServer.sql("INSERT INTO " + db + ".repository (name) VALUES ('right-after-the-unlock')");
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger writes = new AtomicInteger();
    Thread writer = new Thread(() -> {
      while (!stop.get()) {
        MariaDbServer.sql("INSERT INTO " + db + ".pull_request (repository_id, title) VALUES (1, 'during')");
        writes.incrementAndGet();
      }
    });
    writer.start();
    Artifact a;
    try {
      a = d.complete(ctx.in(Phase.COMPLETE), h);
    } finally {
      stop.set(true);
      writer.join();
      h.close();
    }

    assertThat(writes.get()).isPositive();
    assertThat(a.property("mode")).isEqualTo("snapshot");
    assertThat(a.property("rows.repository")).isEqualTo("1001");
    assertThat(a.property("rows.pull_request")).isEqualTo("3000");
    String dump = Files.readString(temp.resolve("work/bitbucket-db/dump.sql"), StandardCharsets.ISO_8859_1);
    assertThat(dump).contains("before-the-lock").doesNotContain("right-after-the-unlock").doesNotContain("'during'");

    String restored = db + "_restored";
    d.restore(TestContexts.restore(BackupId.of("bitbucket", clock.instant()), a, temp.resolve("work/bitbucket-db"),
        null, Map.of(), restored));
    assertThat(MariaDbServer.count(restored, "repository")).isEqualTo(1001);
    assertThat(MariaDbServer.count(restored, "pull_request")).isEqualTo(3000);
    assertThat(MariaDbServer.sql("SELECT HEX(payload) FROM " + restored + ".pull_request LIMIT 1").trim())
        .isEqualTo("00FF275C0A3B29");
    assertThat(MariaDbServer.sql("SELECT COUNT(*) FROM " + restored + ".repository WHERE name LIKE 'right-after%'")
        .trim()).isEqualTo("0");
  }

  @Test
  void through_the_engine_rows_written_as_bitbucket_is_unlocked_are_not_in_the_backup() throws Exception {
    AtomicReference<String> failure = new AtomicReference<>();
    bitbucket.server().onEvent(e -> {
      if (e.type() == FakeBitbucketServer.EventType.UNLOCKED) {
        try {
          MariaDbServer.sql("INSERT INTO " + db + ".repository (name) VALUES ('written-at-the-unlock')");
        } catch (RuntimeException ex) {
          failure.set(ex.toString());
        }
      }
    });
    BackupResult backup = engine(config()).build().backup();

    assertThat(failure.get()).isNull();
    Artifact dbArtifact = backup.summary().artifact(Artifact.Kind.DATABASE).orElseThrow();
    assertThat(dbArtifact.property("mode")).isEqualTo("snapshot");
    assertThat(dbArtifact.property("rows.repository")).isEqualTo("1000");
    assertThat(MariaDbServer.count(db, "repository")).isEqualTo(1001);
    assertThat(backup.lockWindow()).isLessThan(Duration.ofSeconds(10));
    assertThat(bitbucket.server().isLocked()).isFalse();

    String restored = db + "_restored";
    RestoreResult result = engine(config()).build().restore(RestoreRequest.builder(backup.id()).databaseOnly()
        .targetDatabase(restored).build());

    assertThat(result.database()).isEqualTo(restored);
    assertThat(MariaDbServer.count(restored, "repository")).isEqualTo(1000);
    assertThat(MariaDbServer.count(restored, "pull_request")).isEqualTo(3000);
  }

  @Test
  void in_lock_mode_dumps_inside_the_lock_as_atlassians_scripts_do() throws Exception {
    BackupResult backup = engine(config("mysql.mode", "in-lock")).build().backup();

    assertThat(backup.summary().artifact(Artifact.Kind.DATABASE).orElseThrow().property("mode"))
        .isEqualTo("in-lock");
    assertThat(bitbucket.server().isLocked()).isFalse();
  }

  @Test
  void tables_outside_innodb_make_the_dump_run_inside_the_lock_with_a_warning() {
    MariaDbServer.sql("CREATE TABLE " + db + ".legacy (id INT) ENGINE=MyISAM; INSERT INTO " + db
        + ".legacy VALUES (1), (2)");
    DatabaseDumper d = dumper(config());
    TestContexts.TestRunContext ctx = TestContexts.run(temp.resolve("work"), Phase.PREFLIGHT);
    d.preflight(ctx);
    CaptureHandle h = d.capture(ctx.in(Phase.CAPTURE));
    Artifact a = d.complete(ctx.in(Phase.COMPLETE), h);

    assertThat(a.property("mode")).isEqualTo("in-lock (tables that are not InnoDB)");
    assertThat(a.property("rows.legacy")).isEqualTo("2");
    assertThat(ctx.progress().warnings()).anySatisfy(w -> assertThat(w).contains("legacy (MyISAM)",
        "ENGINE=InnoDB"));
  }

  @Test
  void restore_never_overwrites_an_existing_database() throws Exception {
    BackupResult backup = engine(config()).build().backup();

    assertThatThrownBy(() -> engine(config()).build().restore(RestoreRequest.builder(backup.id()).databaseOnly()
        .targetDatabase(db).build()))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.REFUSED))
        .hasMessageContaining("already exists");
    assertThat(MariaDbServer.count(db, "repository")).isEqualTo(1000);
  }

  @Test
  void a_load_that_fails_drops_the_database_it_created() throws Exception {
    DatabaseDumper d = dumper(config());
    TestContexts.TestRunContext ctx = TestContexts.run(temp.resolve("work"), Phase.PREFLIGHT);
    d.preflight(ctx);
    Artifact a = d.complete(ctx.in(Phase.COMPLETE), d.capture(ctx.in(Phase.CAPTURE)));
    Path dump = temp.resolve("work/bitbucket-db/dump.sql");
    Files.writeString(dump, "\nINSERT INTO `no_such_table` VALUES (1);\n", StandardOpenOption.APPEND);
    String restored = db + "_broken";

    assertThatThrownBy(() -> d.restore(TestContexts.restore(BackupId.of("bitbucket", clock.instant()), a,
        dump.getParent(), null, Map.of(), restored)))
        .isInstanceOf(BbdiyException.class).hasMessageContaining("no_such_table");
    assertThat(MariaDbServer.exists(restored)).isFalse();
  }

  @Test
  void a_restore_whose_counts_differ_fails_and_drops_the_database() throws Exception {
    DatabaseDumper d = dumper(config());
    TestContexts.TestRunContext ctx = TestContexts.run(temp.resolve("work"), Phase.PREFLIGHT);
    d.preflight(ctx);
    Artifact a = d.complete(ctx.in(Phase.COMPLETE), d.capture(ctx.in(Phase.CAPTURE)));
    Map<String, String> props = new java.util.HashMap<>(a.properties());
    props.put("rows.repository", "999");
    Artifact altered = new Artifact(a.provider(), a.kind(), a.paths(), props);
    String restored = db + "_counted";

    assertThatThrownBy(() -> d.restore(TestContexts.restore(BackupId.of("bitbucket", clock.instant()), altered,
        temp.resolve("work/bitbucket-db"), null, Map.of(), restored)))
        .isInstanceOfSatisfying(BbdiyException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.VERIFICATION_FAILED))
        .hasMessageContaining("repository: 1000 rows, 999 in the dump");
    assertThat(MariaDbServer.exists(restored)).isFalse();
  }

  @Test
  void with_a_password_user_the_password_is_in_no_command_line() throws Exception {
    String password = "pw-" + Long.toHexString(System.nanoTime()) + " \"q' #x\\y;z";
    String user = user("bbdiy_pw_" + Long.toHexString(System.nanoTime() & 0xffff), password);
    Map<String, String> config = config("mysql.user", user, "mysql.password", password);

    AtomicBoolean stop = new AtomicBoolean();
    AtomicReference<String> leaked = new AtomicReference<>();
    AtomicInteger toolsSeen = new AtomicInteger();
    AtomicReference<String> optionFileMode = new AtomicReference<>();
    Thread watcher = new Thread(() -> {
      while (!stop.get()) {
        ProcessHandle.allProcesses().forEach(ph -> {
          String cmd = ph.info().commandLine().orElse("");
          if (cmd.contains("--defaults-extra-file=")) {
            toolsSeen.incrementAndGet();
            String file = cmd.replaceAll(".*--defaults-extra-file=(\\S+).*", "$1");
            try {
              optionFileMode.compareAndSet(null,
                  PosixFilePermissions.toString(Files.getPosixFilePermissions(Path.of(file))));
            } catch (Exception gone) {
              // deleted between the listing and the check
            }
          }
          if (cmd.contains(password) || cmd.contains("pw-") && cmd.contains("#x")) {
            leaked.set(cmd);
          }
        });
      }
    });
    watcher.start();
    BackupResult backup;
    try {
      backup = engine(config).build().backup();
      engine(config).build().restore(RestoreRequest.builder(backup.id()).databaseOnly()
          .targetDatabase(db + "_restored").build());
    } finally {
      stop.set(true);
      watcher.join();
    }

    assertThat(toolsSeen.get()).as("the watcher saw the tools run").isPositive();
    assertThat(leaked.get()).as("a command line with the password").isNull();
    assertThat(optionFileMode.get()).isEqualTo("rw-------");
    assertThat(MariaDbServer.count(db + "_restored", "pull_request")).isEqualTo(3000);
    try (var s = Files.walk(temp)) {
      assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith("mysql-client"));
    }
    assertThat(Files.readString(Path.of(backup.stored().location() + ".summary.json"))).doesNotContain(password);
  }

  @Test
  void a_wrong_password_is_a_configuration_error_before_the_lock() throws Exception {
    String user = user("bbdiy_pw_" + Long.toHexString(System.nanoTime() & 0xffff), "right");
    assertThatThrownBy(() -> engine(config("mysql.user", user, "mysql.password", "wrong")).build().backup())
        .isInstanceOfSatisfying(BbdiyException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION))
        .hasMessageContaining("mysql.password")
        .hasMessageNotContaining("wrong");
    assertThat(bitbucket.server().calls(FakeBitbucketServer.Endpoint.LOCK)).isZero();
  }

  @Test
  void a_missing_database_is_a_configuration_error_before_the_lock() throws Exception {
    assertThatThrownBy(() -> engine(config("mysql.database", db + "_missing")).build().backup())
        .isInstanceOfSatisfying(BbdiyException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION))
        .hasMessageContaining("BITBUCKET_DB");
    assertThat(bitbucket.server().calls(FakeBitbucketServer.Endpoint.LOCK)).isZero();
  }

  @Test
  void options_that_would_put_a_password_in_argv_or_undo_the_snapshot_are_refused() {
    for (String o : new String[] {"-psecret", "--password=secret", "--skip-single-transaction", "--lock-tables",
        "--result-file=/tmp/x", "--defaults-file=/etc/x", "--host=other", "--skip-quote-names"}) {
      assertThatThrownBy(() -> dumper(config("mysql.options", "--hex-blob " + o)))
          .as(o).isInstanceOfSatisfying(BbdiyException.class,
              e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION))
          .hasMessageContaining("MYSQL_BACKUP_OPTIONS").hasMessageNotContaining("secret");
    }
    assertThat(MysqlConfig.options(" --skip-extended-insert  --max-allowed-packet=1G "))
        .containsExactly("--skip-extended-insert", "--max-allowed-packet=1G");
  }

  @Test
  void a_dump_that_fails_keeps_the_previous_one_and_leaves_no_option_file() throws Exception {
    DatabaseDumper d = dumper(config());
    TestContexts.TestRunContext ctx = TestContexts.run(temp.resolve("work"), Phase.PREFLIGHT);
    d.preflight(ctx);
    d.complete(ctx.in(Phase.COMPLETE), d.capture(ctx.in(Phase.CAPTURE)));
    byte[] first = Files.readAllBytes(temp.resolve("work/bitbucket-db/dump.sql"));

    DatabaseDumper again = dumper(config());
    again.preflight(ctx);
    MariaDbServer.sql("DROP DATABASE " + db);
    assertThatThrownBy(() -> again.complete(ctx.in(Phase.COMPLETE), again.capture(ctx.in(Phase.CAPTURE))))
        .isInstanceOf(BbdiyException.class).hasMessageContaining(db);

    assertThat(Files.readAllBytes(temp.resolve("work/bitbucket-db/dump.sql"))).isEqualTo(first);
    try (var s = Files.walk(temp)) {
      assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith("mysql-client"));
    }
  }
}
