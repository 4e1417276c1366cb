package dev.bbdiy.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BackupResult;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.spi.CaptureHandle;
import dev.bbdiy.api.spi.DatabaseDumper;
import dev.bbdiy.api.spi.RestoreContext;
import dev.bbdiy.core.BackupEngine;
import dev.bbdiy.core.RestoreRequest;
import dev.bbdiy.testkit.PostgresTestServer;
import dev.bbdiy.testkit.TestContexts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The postgresql provider attacked: killed runs, weak roles, odd names, a cancelled restore, a vanishing server. */
class PostgresHardeningTest extends PostgresFixture {

  // ---------------------------------------------------------------------------------------------------------
  // Passfiles

  private static Path passfile(Path dir, long pid, int n) throws IOException {
    Path f = dir.resolve("pgpass-" + pid + "-" + n);
    Files.writeString(f, "127.0.0.1:5432:*:bitbucket:secret\n");
    Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
    return f;
  }

  private static long deadPid() throws Exception {
    Process p = new ProcessBuilder("true").start();
    p.waitFor();
    return p.pid();
  }

  private Stream<String> passfilesLeft() throws IOException {
    Path state = temp.resolve("work/.bbdiy/providers/postgresql");
    if (!Files.isDirectory(state)) {
      return Stream.empty();
    }
    try (Stream<Path> s = Files.list(state)) {
      return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("pgpass-")).toList().stream();
    }
  }

  private RestoreContext restoreContext(@org.jspecify.annotations.Nullable Path source, String target) {
    Artifact a = new Artifact("postgresql", Artifact.Kind.DATABASE, List.of(BackupLayout.DATABASE),
        Map.of("pg_dump.major", "15", "pg_dump.version", "15"));
    return TestContexts.restore(BackupId.of("bitbucket", clock.instant()), a, source, null, Map.of(), target);
  }

  @Test
  void passfiles_a_killed_run_left_are_removed_by_the_next_run_and_live_ones_kept() throws Exception {
    Path state = Files.createDirectories(temp.resolve("work/.bbdiy/providers/postgresql"));
    Process alive = new ProcessBuilder("sleep", "60").start();
    try {
      Path dead = passfile(state, deadPid(), 1);
      Path live = passfile(state, alive.pid(), 1);
      // Older than the process now holding its pid: the pid was reused, the writer is gone.
      Path reused = passfile(state, alive.pid(), 2);
      Files.setLastModifiedTime(reused, FileTime.from(Instant.now().minus(Duration.ofDays(1))));
      Path notOurs = Files.writeString(state.resolve("pgpass-notes.txt"), "kept");

      DatabaseDumper d = dumper(config());
      d.preflight(TestContexts.run(temp.resolve("work"), Phase.PREFLIGHT));

      assertThat(dead).doesNotExist();
      assertThat(reused).doesNotExist();
      assertThat(live).exists();
      assertThat(notOurs).exists();

      Path deadAgain = passfile(state, deadPid(), 3);
      d.preflightRestore(restoreContext(null, db + "_new"));
      assertThat(deadAgain).doesNotExist();
      assertThat(live).exists();
    } finally {
      alive.destroyForcibly().waitFor();
    }
  }

  @Test
  void every_failing_tool_run_removes_its_passfile() throws Exception {
    PostgresTestServer scram = PostgresTestServer.scram();
    String database = scram.createDatabase("bbdiy_pass");
    Path bin = Files.createDirectories(temp.resolve("failing-bin"));
    Path seen = temp.resolve("passfile-seen");
    for (String tool : List.of("pg_dump", "pg_restore")) {
      Path f = bin.resolve(tool);
      Files.writeString(f, "#!/bin/sh\n"
          + "if [ \"$1\" = --version ]; then exec " + scram.binDir().resolve(tool) + " --version; fi\n"
          + "[ -f \"$PGPASSFILE\" ] && echo " + tool + " >> " + seen + "\n"
          + "echo 'simulated failure' >&2; exit 3\n");
      Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    Map<String, String> config = new HashMap<>(scram.configuration(database));
    config.put("postgresql.bin-dir", bin.toString());
    DatabaseDumper d = dumper(config);
    TestContexts.TestRunContext ctx = TestContexts.run(temp.resolve("work"), Phase.PREFLIGHT);
    try {
      d.preflight(ctx);
      d.prepare(ctx.in(Phase.PREPARE));
      CaptureHandle h = d.capture(ctx.in(Phase.CAPTURE));
      assertThatThrownBy(() -> d.complete(ctx.in(Phase.COMPLETE), h)).hasMessageContaining("simulated failure");
      h.close();
      assertThat(passfilesLeft()).isEmpty();

      Path source = Files.createDirectories(temp.resolve("fake-dump"));
      Files.writeString(source.resolve("toc.dat"), "");
      String target = database + "_restored";
      assertThatThrownBy(() -> d.restore(restoreContext(source, target))).hasMessageContaining("simulated failure");
      assertThat(passfilesLeft()).isEmpty();
      assertThat(scram.databaseExists(target)).isFalse();
      assertThat(Files.readAllLines(seen)).containsExactly("pg_dump", "pg_restore");
    } finally {
      scram.dropDatabase(database);
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Restore roles

  @Test
  void a_role_that_cannot_create_databases_is_refused_before_anything_is_extracted() throws Exception {
    BackupResult backup = engine(config()).build().backup();
    String weak = role("weak", "LOGIN NOCREATEDB");
    Path targetHome = temp.resolve("restored-home");

    assertThatThrownBy(() -> engine(config("postgresql.user", weak)).build().restore(
        RestoreRequest.builder(backup.id()).targetHome(targetHome).targetDatabase(db + "_restored").build()))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION))
        .hasMessageContaining(weak)
        .hasMessageContaining("ALTER ROLE " + weak + " CREATEDB");
    assertThat(targetHome).doesNotExist();
    try (Stream<Path> s = Files.list(temp.resolve("work/.bbdiy/providers/postgresql"))) {
      assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith("restore-"));
    }
    assertThat(pg.databaseExists(db + "_restored")).isFalse();
  }

  @Test
  void a_restore_role_must_exist_and_be_one_the_user_may_set() throws Exception {
    String creator = role("creator", "LOGIN CREATEDB");
    String stranger = role("stranger", "NOLOGIN");

    assertThatThrownBy(() -> dumper(config("postgresql.user", creator, "postgresql.restore-role", db + "_nobody"))
        .preflightRestore(restoreContext(null, db + "_restored")))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION))
        .hasMessageContaining(db + "_nobody")
        .hasMessageContaining("does not exist");
    assertThatThrownBy(() -> dumper(config("postgresql.user", creator, "postgresql.restore-role", stranger))
        .preflightRestore(restoreContext(null, db + "_restored")))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION))
        .hasMessageContaining("GRANT " + stranger + " TO " + creator);

    // A superuser may act as any role, but the role then bounds only what the dump's SQL keeps to: say so.
    RestoreContext ctx = restoreContext(null, db + "_restored");
    dumper(config("postgresql.restore-role", stranger)).preflightRestore(ctx);
    assertThat(((TestContexts.RecordingProgress) ctx.progress()).warnings())
        .anySatisfy(w -> assertThat(w).contains("RESET ROLE", "postgresql.user"));
  }

  @Test
  void a_non_superuser_restores_with_restore_no_owner_and_a_restore_role() throws Exception {
    BackupResult backup = engine(config()).build().backup();
    String creator = role("creator", "LOGIN CREATEDB");
    String owner = role("owner", "NOLOGIN");
    pg.execute("postgres", "GRANT " + owner + " TO " + creator);

    // The dump's tables belong to the superuser, whom the creator may not give them to.
    assertThatThrownBy(() -> engine(config("postgresql.user", creator)).build()
        .restore(RestoreRequest.builder(backup.id()).databaseOnly().targetDatabase(db + "_owners").build()))
        .hasMessageContaining("postgresql.restore-no-owner=true");
    assertThat(pg.databaseExists(db + "_owners")).isFalse();
    engine(config("postgresql.user", creator, "postgresql.restore-no-owner", "true")).build()
        .restore(RestoreRequest.builder(backup.id()).databaseOnly().targetDatabase(db + "_plain").build());
    engine(config("postgresql.user", creator, "postgresql.restore-no-owner", "true", "postgresql.restore-role",
        owner)).build()
        .restore(RestoreRequest.builder(backup.id()).databaseOnly().targetDatabase(db + "_role").build());

    assertThat(pg.query(db + "_plain", "SELECT tableowner FROM pg_tables WHERE tablename = 'repository'"))
        .isEqualTo(creator);
    assertThat(pg.query(db + "_role", "SELECT tableowner FROM pg_tables WHERE tablename = 'repository'"))
        .isEqualTo(owner);
    assertThat(pg.query("postgres", "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '" + db
        + "_role'")).isEqualTo(owner);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Cancelled restore

  @Test
  void a_restore_cancelled_during_pg_restore_drops_its_database_and_leaves_no_process() throws Exception {
    pg.execute(db, "CREATE TABLE big AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 1000000) g;"
        + " CREATE INDEX big_h ON big (h)");
    BackupResult backup = engine(config()).build().backup();
    String target = db + "_cancelled";
    BackupEngine engine = engine(config("postgresql.jobs", "2")).build();
    AtomicReference<String> busy = new AtomicReference<>();
    AtomicBoolean stop = new AtomicBoolean();
    Thread canceller = new Thread(() -> {
      while (!stop.get()) {
        String q = pg.query("postgres", "SELECT query FROM pg_stat_activity WHERE datname = '" + target
            + "' AND state = 'active' AND query LIKE 'CREATE INDEX%' LIMIT 1");
        if (!q.isEmpty()) {
          busy.set(q);
          engine.cancel("SIGTERM");
          return;
        }
      }
    });
    canceller.start();
    try {
      assertThatThrownBy(() -> engine.restore(RestoreRequest.builder(backup.id()).databaseOnly()
          .targetDatabase(target).build()))
          .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INTERRUPTED));
    } finally {
      stop.set(true);
      canceller.join();
    }

    assertThat(busy.get()).as("pg_restore was cancelled while busy").isNotNull();
    assertThat(pg.databaseExists(target)).as("the half-restored database").isFalse();
    assertThat(ProcessHandle.allProcesses().filter(ph -> ph.info().commandLine().orElse("").contains("pg_restore")
        && ph.info().commandLine().orElse("").contains(target))).isEmpty();
    assertThat(pg.query("postgres", "SELECT count(*) FROM pg_stat_activity WHERE datname = '" + target + "'"))
        .isEqualTo("0");
  }

  @Test
  void a_failed_restore_drops_its_database_even_with_another_session_in_it() throws Exception {
    Path bin = Files.createDirectories(temp.resolve("slow-bin"));
    Path connected = temp.resolve("connected");
    Path f = bin.resolve("pg_restore");
    Files.writeString(f, "#!/bin/sh\n"
        + "if [ \"$1\" = --version ]; then exec " + pg.binDir().resolve("pg_restore") + " --version; fi\n"
        + "for i in $(seq 100); do [ -f " + connected + " ] && break; sleep 0.1; done\n"
        + "echo 'simulated failure' >&2; exit 3\n");
    Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path source = Files.createDirectories(temp.resolve("fake-dump"));
    Files.writeString(source.resolve("toc.dat"), "");
    String target = db + "_watched";
    // A monitoring agent, say, connected to every database as soon as it appears.
    Thread agent = new Thread(() -> {
      try {
        while (!pg.databaseExists(target)) {
          Thread.sleep(10);
        }
        try (var c = java.sql.DriverManager.getConnection("jdbc:postgresql://" + pg.host() + ":" + pg.port() + "/"
            + target, pg.superuser(), "")) {
          Files.writeString(connected, "yes");
          Thread.sleep(30_000);
        }
      } catch (Exception e) {
        // terminated by the drop
      }
    });
    agent.setDaemon(true);
    agent.start();

    assertThatThrownBy(() -> dumper(config("postgresql.bin-dir", bin.toString()))
        .restore(restoreContext(source, target)))
        .hasMessageContaining("simulated failure")
        .hasMessageContaining("was dropped again");
    assertThat(connected).exists();
    assertThat(pg.databaseExists(target)).isFalse();
  }

  @Test
  void a_server_that_disappears_mid_restore_gets_an_honest_message_about_the_database_left() throws Exception {
    pg.execute(db, "CREATE TABLE big AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 1000000) g;"
        + " CREATE INDEX big_h ON big (h)");
    BackupResult backup = engine(config()).build().backup();
    String target = db + "_vanished";
    try (TcpProxy proxy = new TcpProxy(pg.host(), pg.port())) {
      AtomicBoolean stop = new AtomicBoolean();
      Thread cutter = new Thread(() -> {
        while (!stop.get()) {
          if (!pg.query("postgres", "SELECT 1 FROM pg_stat_activity WHERE datname = '" + target
              + "' AND state = 'active' AND (query LIKE 'COPY%' OR query LIKE 'CREATE INDEX%')").isEmpty()) {
            proxy.disappear();
            return;
          }
        }
      });
      cutter.start();
      try {
        assertThatThrownBy(() -> engine(config("postgresql.port", Integer.toString(proxy.port()))).build()
            .restore(RestoreRequest.builder(backup.id()).databaseOnly().targetDatabase(target).build()))
            .isInstanceOfSatisfying(BbdiyException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.PROVIDER_FAILED))
            .hasMessageContaining("pg_restore")
            .hasMessageContaining("could not be dropped again")
            .hasMessageContaining("DROP DATABASE \"" + target + "\"");
      } finally {
        stop.set(true);
        cutter.join();
      }
    }
    assertThat(pg.databaseExists(target)).as("left on the server, as the message says").isTrue();
    assertThat(passfilesLeft()).isEmpty();
  }

  // ---------------------------------------------------------------------------------------------------------
  // Odd names, wrong passwords, a vanishing server

  @Test
  void schemas_and_tables_with_quotes_dots_spaces_and_unicode_are_counted_and_compared() throws Exception {
    String weird = "\"we\"\"ird.sch ema\".\"tä\"\"b.le x\"";
    pg.execute(db, "CREATE SCHEMA \"we\"\"ird.sch ema\"; CREATE SCHEMA a; CREATE SCHEMA \"a.b\";"
        + " CREATE TABLE " + weird + " (v int); INSERT INTO " + weird + " SELECT generate_series(1, 7);"
        + " CREATE TABLE a.\"b.c\" (v int); INSERT INTO a.\"b.c\" SELECT generate_series(1, 2);"
        + " CREATE TABLE \"a.b\".c (v int); INSERT INTO \"a.b\".c SELECT generate_series(1, 3);"
        + " CREATE TABLE \"Mixed\" (v int); INSERT INTO \"Mixed\" VALUES (1)");
    BackupResult backup = engine(config()).build().backup();
    Artifact a = backup.summary().artifact(Artifact.Kind.DATABASE).orElseThrow();
    assertThat(a.properties()).containsEntry("rows.public.repository", "1000")
        .containsEntry("tables", "6")
        .containsEntry("rows." + weird, "7")
        .containsEntry("rows.a.\"b.c\"", "2")
        .containsEntry("rows.\"a.b\".c", "3")
        .containsEntry("rows.public.\"Mixed\"", "1");

    engine(config()).build().restore(RestoreRequest.builder(backup.id()).databaseOnly()
        .targetDatabase(db + "_restored").build());

    assertThat(pg.queryLong(db + "_restored", "SELECT count(*) FROM \"a.b\".c")).isEqualTo(3);

    // A difference in one of them is found and named.
    Map<String, String> props = new HashMap<>(a.properties());
    props.put("rows." + weird, "8");
    Artifact wrong = new Artifact(a.provider(), a.kind(), a.paths(), props);
    assertThatThrownBy(() -> dumper(config()).restore(TestContexts.restore(backup.id(), wrong,
        temp.resolve("work").resolve(BackupLayout.DATABASE), null, Map.of(), db + "_compared")))
        .isInstanceOfSatisfying(BbdiyException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.VERIFICATION_FAILED))
        .hasMessageContaining("tä")
        .hasMessageContaining("7 rows, 8 at backup time");
  }

  @Test
  void a_manifest_with_numbers_that_are_not_numbers_fails_as_a_bbdiy_error() throws Exception {
    BackupResult backup = engine(config()).build().backup();
    Artifact a = backup.summary().artifact(Artifact.Kind.DATABASE).orElseThrow();
    Path dump = temp.resolve("work").resolve(BackupLayout.DATABASE);
    Map<String, String> version = new HashMap<>(a.properties());
    version.put("pg_dump.major", "15; rm -rf /");

    assertThatThrownBy(() -> dumper(config()).restore(TestContexts.restore(backup.id(),
        new Artifact(a.provider(), a.kind(), a.paths(), version), dump, null, Map.of(), db + "_a")))
        .isInstanceOfSatisfying(BbdiyException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.VERIFICATION_FAILED))
        .hasMessageContaining("pg_dump.major");

    Map<String, String> props = new HashMap<>(a.properties());
    props.put("tables", "lots");
    props.put("rows.public.repository", "many");
    Artifact odd = new Artifact(a.provider(), a.kind(), a.paths(), props);
    assertThatThrownBy(() -> dumper(config()).restore(TestContexts.restore(backup.id(), odd, dump, null, Map.of(),
        db + "_b")))
        .isInstanceOfSatisfying(BbdiyException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.VERIFICATION_FAILED))
        .hasMessageContaining("public.repository")
        .hasMessageContaining("many");
    assertThat(pg.databaseExists(db + "_a")).isFalse();
    assertThat(pg.databaseExists(db + "_b")).isFalse();
  }

  @Test
  void row_count_keys_of_this_and_of_older_versions_are_read() {
    assertThat(RowCounts.tableName("public.repository")).containsExactly("public", "repository");
    assertThat(RowCounts.tableName("\"a.b\".c")).containsExactly("a.b", "c");
    assertThat(RowCounts.tableName("a.\"b.c\"")).containsExactly("a", "b.c");
    assertThat(RowCounts.tableName("\"we\"\"ird\".\"t\"\"x\"")).containsExactly("we\"ird", "t\"x");
    // Written raw by earlier versions: the schema ends at the first dot.
    assertThat(RowCounts.tableName("public.Mixed")).containsExactly("public", "Mixed");
    assertThat(RowCounts.tableName("public.a.b")).containsExactly("public", "a.b");
    assertThat(RowCounts.tableName("nodot")).containsExactly("", "nodot");
  }

  @Test
  void a_password_a_passfile_cannot_carry_is_refused_before_anything_runs() {
    assertThatThrownBy(() -> dumper(config("postgresql.password", "first line\nsecond line")))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION))
        .hasMessageContaining("postgresql.password")
        .hasMessageNotContaining("first line");
  }

  @Test
  void a_database_name_that_needs_quoting_is_dumped_and_restored() throws Exception {
    String odd = db + " odd \"q\" 'ü'=1\\ /?&+%#";
    String restored = db + " restored=ü";
    pg.execute("postgres", "CREATE DATABASE " + PgTools.ident(odd));
    pg.execute(conninfo(odd), "CREATE TABLE t (v int); INSERT INTO t SELECT generate_series(1, 42)");

    BackupResult backup = engine(config("postgresql.database", odd)).build().backup();
    engine(config("postgresql.database", odd)).build().restore(RestoreRequest.builder(backup.id()).databaseOnly()
        .targetDatabase(restored).build());

    assertThat(pg.queryLong(conninfo(restored), "SELECT count(*) FROM t")).isEqualTo(42);
  }

  /** A libpq connection string naming {@code database}: psql reads {@code -d} as one when it holds a '='. */
  private static String conninfo(String database) {
    return "dbname='" + database.replace("\\", "\\\\").replace("'", "\\'") + "'";
  }

  @Test
  void a_wrong_password_fails_a_restore_before_anything_is_extracted() throws Exception {
    PostgresTestServer scram = PostgresTestServer.scram();
    Map<String, String> config = new HashMap<>(scram.configuration("postgres"));
    config.put("postgresql.password", "wrong");

    assertThatThrownBy(() -> dumper(config).preflightRestore(restoreContext(null, "bbdiy_nothing")))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION))
        .hasMessageContaining("postgresql.password");
    assertThat(passfilesLeft()).isEmpty();
  }

  @Test
  void a_server_that_disappears_mid_dump_fails_the_backup_cleanly() throws Exception {
    PostgresTestServer scram = PostgresTestServer.scram();
    String database = scram.createDatabase("bbdiy_vanish");
    scram.execute(database, "CREATE TABLE t AS SELECT g, repeat(md5(g::text), 8) AS v"
        + " FROM generate_series(1, 300000) g");
    try (TcpProxy proxy = new TcpProxy(scram.host(), scram.port())) {
      Map<String, String> config = new HashMap<>(scram.configuration(database));
      config.put("postgresql.port", Integer.toString(proxy.port()));
      config.put("tar.dir", temp.resolve("archives").toString());
      AtomicBoolean stop = new AtomicBoolean();
      AtomicBoolean cut = new AtomicBoolean();
      Thread cutter = new Thread(() -> {
        while (!stop.get()) {
          String q = scram.query("postgres", "SELECT count(*) FROM pg_stat_activity WHERE datname = '" + database
              + "' AND query LIKE 'COPY%' AND state = 'active'");
          if (!q.equals("0")) {
            proxy.disappear();
            cut.set(true);
            return;
          }
        }
      });
      cutter.start();
      try {
        assertThatThrownBy(() -> engine(config).build().backup())
            .isInstanceOfSatisfying(BbdiyException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.PROVIDER_FAILED))
            .hasMessageContaining("pg_dump");
      } finally {
        stop.set(true);
        cutter.join();
      }
      assertThat(cut).isTrue();
    } finally {
      scram.dropDatabase(database);
    }
    assertThat(bitbucket.server().isLocked()).isFalse();
    assertThat(temp.resolve("work/.bbdiy/providers/postgresql/postgresql-dump.partial")).doesNotExist();
    assertThat(passfilesLeft()).isEmpty();
    assertThat(ProcessHandle.current().descendants()).noneMatch(ph -> ph.info().commandLine().orElse("")
        .contains("pg_dump"));
  }
}
