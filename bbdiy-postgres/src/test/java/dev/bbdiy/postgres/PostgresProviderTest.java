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
import dev.bbdiy.api.RestoreResult;
import dev.bbdiy.api.spi.CancellationSignal;
import dev.bbdiy.api.spi.Capability;
import dev.bbdiy.api.spi.CaptureHandle;
import dev.bbdiy.api.spi.ProgressReporter;
import dev.bbdiy.api.spi.RestoreContext;
import dev.bbdiy.api.spi.DatabaseDumper;
import dev.bbdiy.core.ProviderRegistry;
import dev.bbdiy.core.RestoreRequest;
import dev.bbdiy.testkit.PostgresTestServer;
import dev.bbdiy.testkit.TestContexts;
import dev.bbdiy.simulator.Trees;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/** The postgresql provider against a real PostgreSQL server: no mocks. */
class PostgresProviderTest extends PostgresFixture {
  @Test
  void is_registered_with_the_service_loader() {
    assertThat(ProviderRegistry.load().database("postgresql")).isInstanceOf(PostgresProvider.class);
  }

  @Test
  void the_dump_holds_the_database_as_it_was_at_capture_not_what_is_written_after() throws Exception {
    DatabaseDumper d = dumper(config());
    TestContexts.TestRunContext ctx = TestContexts.run(temp.resolve("work"), Phase.PREFLIGHT);
    d.preflight(ctx);
    CaptureHandle h = d.capture(ctx.in(Phase.CAPTURE));
    // Bitbucket is unlocked now and writes again: before and during the dump.
    pg.execute(db, "INSERT INTO repository (name) SELECT 'after-' || g FROM generate_series(1, 500) g");
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger writes = new AtomicInteger();
    Thread writer = new Thread(() -> {
      while (!stop.get()) {
        pg.execute(db, "INSERT INTO pull_request (repository_id, title) VALUES (1, 'during the dump')");
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
    assertThat(a.property("rows.public.repository")).isEqualTo("1000");
    assertThat(a.property("rows.public.pull_request")).isEqualTo("3000");
    assertThat(temp.resolve("work/bitbucket-db/toc.dat")).exists();

    String restored = db + "_restored";
    d.restore(TestContexts.restore(BackupId.of("bitbucket", clock.instant()), a, temp.resolve("work/bitbucket-db"),
        null, Map.of(), restored));
    assertThat(pg.queryLong(restored, "SELECT count(*) FROM repository")).isEqualTo(1000);
    assertThat(pg.queryLong(restored, "SELECT count(*) FROM pull_request")).isEqualTo(3000);
    assertThat(pg.queryLong(restored, "SELECT count(*) FROM repository WHERE name LIKE 'after-%'")).isZero();
  }

  @Test
  void a_full_backup_and_restore_through_the_engine() throws Exception {
    BackupResult backup = engine(config()).build().backup();

    Artifact dbArtifact = backup.summary().artifact(Artifact.Kind.DATABASE).orElseThrow();
    assertThat(dbArtifact.property("mode")).isEqualTo("snapshot");
    assertThat(backup.lockWindow()).isLessThan(Duration.ofSeconds(10));
    assertThat(bitbucket.server().isLocked()).isFalse();

    String restored = db + "_restored";
    RestoreResult result = engine(config()).build().restore(RestoreRequest.builder(backup.id())
        .targetHome(temp.resolve("restored-home")).targetDatabase(restored).build());

    assertThat(result.database()).isEqualTo(restored);
    assertThat(pg.queryLong(restored, "SELECT count(*) FROM pull_request")).isEqualTo(3000);
    assertThat(Trees.differences(temp.resolve("work").resolve(BackupLayout.HOME), temp.resolve("restored-home")))
        .isEmpty();
  }

  @Test
  void a_load_started_before_the_verification_is_dropped_when_the_archive_proves_damaged() throws Exception {
    DatabaseDumper d = dumper(config());
    TestContexts.TestRunContext ctx = TestContexts.run(temp.resolve("work"), Phase.PREFLIGHT);
    d.preflight(ctx);
    CaptureHandle h = d.capture(ctx.in(Phase.CAPTURE));
    Artifact a;
    try {
      a = d.complete(ctx.in(Phase.COMPLETE), h);
    } finally {
      h.close();
    }
    assertThat(new PostgresProvider().capabilities()).contains(Capability.RESTORES_WHILE_EXTRACTING);
    String restored = db + "_unverified";
    AtomicLong loadedWhenAsked = new AtomicLong(-1);
    RestoreContext real = TestContexts.restore(BackupId.of("bitbucket", clock.instant()), a,
        temp.resolve("work/bitbucket-db"), null, Map.of(), restored);
    RestoreContext damaged = new ForwardingRestoreContext(real) {
      @Override
      public void awaitSourceVerified() {
        loadedWhenAsked.set(pg.queryLong(restored, "SELECT count(*) FROM pull_request"));
        throw new BbdiyException(ErrorCode.VERIFICATION_FAILED, "bitbucket-home/x: content changed");
      }
    };

    assertThatThrownBy(() -> d.restore(damaged))
        .isInstanceOfSatisfying(BbdiyException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.VERIFICATION_FAILED));

    assertThat(loadedWhenAsked).hasValue(3000); // asked after pg_restore, before reporting success
    assertThat(pg.queryLong("postgres", "SELECT count(*) FROM pg_database WHERE datname = '" + restored + "'"))
        .isZero();
  }

  @Test
  void a_home_damaged_after_the_dump_leaves_neither_a_database_nor_a_home() throws Exception {
    BackupResult backup = engine(config("tar.compression", "none")).build().backup();
    // One byte of a home file (stored after the dump) changed: the dump is intact, so pg_restore may start
    // while the home is extracted, but the archive as a whole no longer matches its manifest.
    Path archive = temp.resolve("archives").resolve(backup.id() + ".tar");
    byte[] tar = Files.readAllBytes(archive);
    byte[] content = Files.readAllBytes(largestFile(temp.resolve("work").resolve(BackupLayout.HOME)));
    int at = indexOf(tar, content);
    assertThat(at).isPositive();
    tar[at + content.length / 2] ^= 1;
    Files.write(archive, tar);

    String restored = db + "_damaged";
    assertThatThrownBy(() -> engine(config("tar.compression", "none")).build().restore(RestoreRequest
        .builder(backup.id()).targetHome(temp.resolve("restored-home")).targetDatabase(restored).build()))
        .isInstanceOfSatisfying(BbdiyException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.VERIFICATION_FAILED));

    assertThat(pg.queryLong("postgres", "SELECT count(*) FROM pg_database WHERE datname = '" + restored + "'"))
        .isZero();
    assertThat(dev.bbdiy.kit.PrivateFiles.isAbsentOrEmpty(temp.resolve("restored-home"))).isTrue();
  }

  private static Path largestFile(Path dir) throws java.io.IOException {
    try (java.util.stream.Stream<Path> s = Files.walk(dir)) {
      return s.filter(Files::isRegularFile).max(java.util.Comparator.comparingLong(p -> p.toFile().length()))
          .orElseThrow();
    }
  }

  /** A restore context that forwards everything to another. */
  static class ForwardingRestoreContext implements RestoreContext {
    private final RestoreContext d;

    ForwardingRestoreContext(RestoreContext d) {
      this.d = d;
    }

    @Override
    public BackupId backupId() {
      return d.backupId();
    }

    @Override
    public Artifact artifact() {
      return d.artifact();
    }

    @Override
    public @Nullable Path source() {
      return d.source();
    }

    @Override
    public @Nullable Path targetHome() {
      return d.targetHome();
    }

    @Override
    public Map<Path, Path> targetDataStores() {
      return d.targetDataStores();
    }

    @Override
    public @Nullable String targetDatabase() {
      return d.targetDatabase();
    }

    @Override
    public ProgressReporter progress() {
      return d.progress();
    }

    @Override
    public CancellationSignal cancellation() {
      return d.cancellation();
    }

    @Override
    public void awaitSourceVerified() {
      d.awaitSourceVerified();
    }
  }

  private static int indexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  @Test
  void in_lock_mode_dumps_inside_the_lock_as_atlassians_scripts_do() throws Exception {
    BackupResult backup = engine(config("postgresql.mode", "in-lock")).build().backup();

    Artifact a = backup.summary().artifact(Artifact.Kind.DATABASE).orElseThrow();
    assertThat(a.property("mode")).isEqualTo("in-lock");
    assertThat(backup.phases().get(Phase.CAPTURE)).isGreaterThan(backup.phases().get(Phase.COMPLETE));
  }

  @Test
  void restore_never_overwrites_an_existing_database() throws Exception {
    BackupResult backup = engine(config()).build().backup();

    assertThatThrownBy(() -> engine(config()).build().restore(RestoreRequest.builder(backup.id()).databaseOnly()
        .targetDatabase(db).build()))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.REFUSED))
        .hasMessageContaining("already exists");
    assertThat(pg.queryLong(db, "SELECT count(*) FROM repository")).isEqualTo(1000);
  }

  @Test
  void restores_into_a_cluster_whose_roles_differ() throws Exception {
    String owner = db + "_owner";
    pg.execute("postgres", "CREATE ROLE " + owner);
    try {
      pg.execute(db, "ALTER TABLE repository OWNER TO " + owner);
      BackupResult backup = engine(config()).build().backup();
      pg.execute(db, "ALTER TABLE repository OWNER TO " + pg.superuser());
      pg.execute("postgres", "DROP ROLE " + owner);

      String strict = db + "_strict";
      assertThatThrownBy(() -> engine(config()).build().restore(RestoreRequest.builder(backup.id())
          .databaseOnly().targetDatabase(strict).build()))
          .hasMessageContaining("restore-no-owner");
      assertThat(pg.databaseExists(strict)).as("the failed restore's database is dropped").isFalse();

      String relaxed = db + "_relaxed";
      engine(config("postgresql.restore-no-owner", "true")).build().restore(RestoreRequest.builder(backup.id())
          .databaseOnly().targetDatabase(relaxed).build());
      assertThat(pg.query(relaxed, "SELECT tableowner FROM pg_tables WHERE tablename = 'repository'"))
          .isEqualTo(pg.superuser());
    } finally {
      pg.execute("postgres", "DROP ROLE IF EXISTS " + owner);
    }
  }

  @Test
  void a_missing_database_and_an_unreachable_server_fail_before_the_lock() throws Exception {
    assertThatThrownBy(() -> engine(config("postgresql.database", "no_such_db")).build().backup())
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION))
        .hasMessageContaining("no_such_db");
    assertThatThrownBy(() -> engine(config("postgresql.port", "1")).build().backup())
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.PROVIDER_FAILED))
        .hasMessageContaining("Cannot connect");
    assertThat(bitbucket.server().calls(dev.bbdiy.simulator.FakeBitbucketServer.Endpoint.LOCK)).isZero();
  }

  @Test
  void a_killed_pg_dump_fails_cleanly_and_keeps_the_previous_dump() throws Exception {
    BackupResult first = engine(config()).build().backup();
    byte[] previousToc = Files.readAllBytes(temp.resolve("work/bitbucket-db/toc.dat"));
    pg.execute(db, "INSERT INTO pull_request (repository_id, title) SELECT 1, repeat('x', 500)"
        + " FROM generate_series(1, 200000)");
    clock.advance(Duration.ofSeconds(2));
    AtomicBoolean killed = new AtomicBoolean();
    Thread killer = new Thread(() -> {
      long deadline = System.nanoTime() + 60_000_000_000L;
      while (!killed.get() && System.nanoTime() < deadline) {
        ProcessHandle.current().descendants()
            .filter(ph -> ph.info().commandLine().map(c -> c.contains("pg_dump") && c.contains("--snapshot="))
                .orElse(false))
            .findFirst().ifPresent(ph -> killed.set(ph.destroyForcibly()));
        Thread.onSpinWait();
      }
    });
    killer.start();

    assertThatThrownBy(() -> engine(config()).build().backup())
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.PROVIDER_FAILED))
        .hasMessageContaining("pg_dump");
    killer.join();

    assertThat(killed).isTrue();
    assertThat(bitbucket.server().isLocked()).isFalse();
    assertThat(temp.resolve("work/.bbdiy/providers/postgresql/postgresql-dump.partial")).doesNotExist();
    assertThat(Files.readAllBytes(temp.resolve("work/bitbucket-db/toc.dat"))).isEqualTo(previousToc);
    assertThat(engine(config()).build().list()).extracting(b -> b.id()).containsExactly(first.id());
  }

  @Test
  void pg_dump_older_than_the_server_is_refused_with_the_fix() throws Exception {
    Path bin = Files.createDirectories(temp.resolve("old-bin"));
    Path fake = bin.resolve("pg_dump");
    Files.writeString(fake, "#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n");
    Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwxr-xr-x"));
    DatabaseDumper d = dumper(config("postgresql.bin-dir", bin.toString()));

    assertThatThrownBy(() -> d.preflight(TestContexts.run(temp.resolve("work"), Phase.PREFLIGHT)))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION))
        .hasMessageContaining("cannot dump the PostgreSQL")
        .hasMessageContaining("postgresql-client-");
  }

  @Test
  void with_a_password_role_on_scram_the_password_is_in_no_command_line() throws Exception {
    PostgresTestServer scram = PostgresTestServer.scram();
    String password = "pw-" + Long.toHexString(System.nanoTime());
    String role = "bbdiy_backup";
    scram.execute("postgres", "DROP ROLE IF EXISTS " + role + "; CREATE ROLE " + role + " LOGIN CREATEDB PASSWORD '"
        + password + "'");
    String database = scram.createDatabase("bbdiy_scram");
    scram.execute(database, "CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 100000);"
        + " ALTER TABLE t OWNER TO " + role + "; ALTER DATABASE " + database + " OWNER TO " + role);
    Map<String, String> config = new HashMap<>(scram.configuration(database));
    config.put("postgresql.user", role);
    config.put("postgresql.password", password);
    config.put("tar.dir", temp.resolve("archives").toString());

    AtomicBoolean stop = new AtomicBoolean();
    AtomicReference<String> leaked = new AtomicReference<>();
    AtomicInteger dumpsSeen = new AtomicInteger();
    Thread watcher = new Thread(() -> {
      while (!stop.get()) {
        ProcessHandle.allProcesses().forEach(ph -> {
          String cmd = ph.info().commandLine().orElse("");
          if (cmd.contains("pg_dump") || cmd.contains("pg_restore")) {
            dumpsSeen.incrementAndGet();
          }
          if (cmd.contains(password)) {
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
          .targetDatabase(database + "_restored").build());
    } finally {
      stop.set(true);
      watcher.join();
    }

    assertThat(dumpsSeen.get()).as("the watcher saw the tools run").isPositive();
    assertThat(leaked.get()).as("a command line with the password").isNull();
    assertThat(scram.queryLong(database + "_restored", "SELECT count(*) FROM t")).isEqualTo(100000);
    try (var s = Files.list(temp.resolve("work/.bbdiy"))) {
      assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith("pgpass"));
    }
    assertThat(Files.readString(Path.of(backup.stored().location() + ".summary.json"))).doesNotContain(password);
  }

  @Test
  void a_wrong_password_is_a_clear_error_and_nothing_is_locked() throws Exception {
    PostgresTestServer scram = PostgresTestServer.scram();
    String database = scram.createDatabase("bbdiy_scram");
    Map<String, String> config = new HashMap<>(scram.configuration(database));
    config.put("postgresql.password", "wrong");
    config.put("tar.dir", temp.resolve("archives").toString());

    assertThatThrownBy(() -> engine(config).build().backup())
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION))
        .hasMessageContaining("postgresql.password")
        .hasMessageNotContaining("wrong\"");
    assertThat(bitbucket.server().calls(dev.bbdiy.simulator.FakeBitbucketServer.Endpoint.LOCK)).isZero();
  }

  @Test
  void identifiers_are_quoted() {
    assertThat(PgTools.ident("we\"ird")).isEqualTo("\"we\"\"ird\"");
  }
}
