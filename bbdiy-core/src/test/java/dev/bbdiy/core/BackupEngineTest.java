package dev.bbdiy.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bbdiy.api.BackupEvent;
import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupResult;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.InstanceType;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.RestoreResult;
import dev.bbdiy.api.StoredBackup;
import dev.bbdiy.api.VerifyResult;
import dev.bbdiy.api.spi.Archiver;
import dev.bbdiy.api.spi.ArchiverProvider;
import dev.bbdiy.api.spi.BackupContent;
import dev.bbdiy.api.spi.ExtractResult;
import dev.bbdiy.api.spi.ExtractionPlan;
import dev.bbdiy.api.spi.ProviderContext;
import dev.bbdiy.api.spi.RunContext;
import dev.bbdiy.api.spi.Secret;
import dev.bbdiy.api.spi.Setting;
import dev.bbdiy.core.internal.LockStateFile;
import dev.bbdiy.archive.TarArchiverProvider;
import dev.bbdiy.testkit.FakeBitbucketExtension;
import dev.bbdiy.simulator.FakeBitbucketServer;
import dev.bbdiy.simulator.FakeBitbucketServer.Endpoint;
import dev.bbdiy.simulator.FakeBitbucketServer.EventType;
import dev.bbdiy.simulator.FakeBitbucketServer.Fault;
import dev.bbdiy.testkit.ScriptedProvider;
import dev.bbdiy.testkit.TestClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The orchestration contract, with scripted providers against the Bitbucket simulator. */
class BackupEngineTest {
  @RegisterExtension
  final FakeBitbucketExtension bitbucket = FakeBitbucketExtension.create(b -> b.drainTime(Duration.ofMillis(100)));

  @TempDir Path temp;

  final TestClock clock = new TestClock();
  final List<BackupEvent> events = Collections.synchronizedList(new ArrayList<>());
  ScriptedProvider.Home home = ScriptedProvider.home();
  ScriptedProvider.Database database = ScriptedProvider.database();

  MaintenanceClient client() {
    return MaintenanceClient.builder(bitbucket.url()).credentials("admin", Secret.of("admin"))
        .retries(3, Duration.ofMillis(10), Duration.ofMillis(50)).unlockRetryBudget(Duration.ofMillis(500))
        .pollInterval(Duration.ofMillis(50)).build();
  }

  BackupEngine.Builder engine() {
    return BackupEngine.builder()
        .instance(BitbucketInstance.of("bitbucket", temp.resolve("home")))
        .workDir(temp.resolve("work"))
        .bitbucket(client())
        .home(home)
        .database(database)
        .archiver(new TarArchiverProvider())
        .configuration(Map.of("tar.dir", temp.resolve("archives").toString()))
        .clock(clock)
        .listener(events::add);
  }

  List<Object> eventNames() {
    List<Object> out = new ArrayList<>();
    synchronized (events) {
      for (BackupEvent e : events) {
        if (e instanceof BackupEvent.PhaseStarted) {
          out.add(((BackupEvent.PhaseStarted) e).phase());
        } else if (!(e instanceof BackupEvent.Progress || e instanceof BackupEvent.PhaseFinished
            || e instanceof BackupEvent.Warning)) {
          out.add(e.getClass().getSimpleName());
        }
      }
    }
    return out;
  }

  @Test
  void backs_up_with_nothing_but_capture_inside_the_lock() {
    BackupResult result = engine().build().backup();

    assertThat(eventNames()).containsExactly("OperationStarted", Phase.PREFLIGHT, Phase.PREPARE, Phase.LOCK,
        "Locked", "Drained", Phase.CAPTURE, Phase.UNLOCK, "Unlocked", Phase.COMPLETE, Phase.ARCHIVE, Phase.VERIFY,
        "OperationFinished");
    // close() releases what each source held, once its operation is over.
    assertThat(home.calls()).containsExactly("preflight", "prepare", "capture", "complete", "close-handle", "close");
    assertThat(database.calls()).containsExactly("preflight", "prepare", "capture", "complete", "close-handle",
        "close");
    FakeBitbucketServer server = bitbucket.server();
    assertThat(server.eventTypes().stream().filter(t -> t != EventType.PROGRESS))
        .containsExactly(EventType.LOCKED, EventType.BACKUP_STARTED, EventType.DRAINED, EventType.TASK_ENDED,
            EventType.UNLOCKED);
    // One report per finished capture but the last (33), then 100: no round trip that 100 makes redundant
    // while Bitbucket is locked.
    List<Integer> progress = server.events(EventType.PROGRESS).stream().map(e -> Integer.parseInt(e.detail()))
        .toList();
    assertThat(progress).containsExactly(33, 100);
    assertThat(server.taskState()).contains("SUCCESSFUL");

    assertThat(result.verification().ok()).isTrue();
    assertThat(result.lockWindow()).isNotNull();
    assertThat(result.lockWindow()).isGreaterThanOrEqualTo(server.lastLockWindow().orElseThrow());
    assertThat(result.drainedWindow()).isNotNull().isLessThan(result.lockWindow());
    assertThat(result.summary().lockWindow()).isNotNull();
    assertThat(result.summary().artifacts()).hasSize(2);
    assertThat(result.phases()).containsKeys(Phase.PREPARE, Phase.CAPTURE, Phase.COMPLETE, Phase.ARCHIVE);
    assertThat(result.stored().location()).endsWith(".tar.zst");
    assertThat(engine().build().list()).extracting(StoredBackup::id).containsExactly(result.id());
    assertThat(new LockStateFile(temp.resolve("work/.bbdiy")).read()).isEmpty();
  }

  @Test
  void the_listener_contract_holds() {
    AtomicBoolean overlap = new AtomicBoolean();
    AtomicBoolean inside = new AtomicBoolean();
    List<BackupEvent> seen = Collections.synchronizedList(new ArrayList<>());
    engine().listener(e -> {
      if (!inside.compareAndSet(false, true)) {
        overlap.set(true);
      }
      seen.add(e);
      inside.set(false);
      throw new IllegalStateException("listeners that throw are ignored");
    }).build().backup();

    assertThat(overlap).isFalse();
    Phase open = null;
    for (BackupEvent e : seen) {
      if (e instanceof BackupEvent.PhaseStarted) {
        assertThat(open).as("phases do not nest").isNull();
        open = ((BackupEvent.PhaseStarted) e).phase();
      } else if (e instanceof BackupEvent.PhaseFinished) {
        assertThat(((BackupEvent.PhaseFinished) e).phase()).isEqualTo(open);
        open = null;
      } else if (e instanceof BackupEvent.Progress) {
        assertThat(((BackupEvent.Progress) e).phase()).isEqualTo(open);
      }
    }
    assertThat(seen.get(0)).isInstanceOf(BackupEvent.OperationStarted.class);
    assertThat(seen.get(seen.size() - 1)).isInstanceOf(BackupEvent.OperationFinished.class);
  }

  static Stream<Arguments> failures() {
    List<Arguments> out = new ArrayList<>();
    for (String provider : List.of("home", "database")) {
      for (String phase : List.of("preflight", "prepare", "capture", "complete")) {
        out.add(Arguments.of(provider, phase));
      }
    }
    return out.stream();
  }

  @ParameterizedTest(name = "{0} fails in {1}")
  @MethodSource("failures")
  void a_failure_in_any_phase_unlocks_reports_nothing_and_keeps_the_previous_backup(String provider, String phase) {
    BackupResult previous = engine().build().backup();
    clock.advance(Duration.ofSeconds(2));
    home = ScriptedProvider.home();
    database = ScriptedProvider.database();
    ScriptedProvider failing = provider.equals("home") ? home : database;
    failing.failIn(phase);
    events.clear();

    assertThatThrownBy(() -> engine().build().backup())
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.PROVIDER_FAILED))
        .hasMessageContaining("scripted failure in " + phase);

    FakeBitbucketServer server = bitbucket.server();
    assertThat(server.isLocked()).isFalse();
    assertThat(server.taskState()).isNotEqualTo(java.util.Optional.of("RUNNING"));
    BackupEngine engine = engine().build();
    assertThat(engine.list()).extracting(StoredBackup::id).containsExactly(previous.id());
    assertThat(engine.verify(previous.id()).ok()).isTrue();
    assertThat(home.calls()).as("released on a failure too").endsWith("close");
    assertThat(database.calls()).endsWith("close");
    if (!phase.equals("preflight")) {
      assertThat(home.calls()).contains("abort");
      assertThat(database.calls()).contains("abort");
    } else {
      assertThat(server.events(EventType.LOCKED)).hasSize(1);
    }
    List<Object> names = eventNames();
    assertThat(names.get(names.size() - 1)).isEqualTo("OperationFinished");
    if (names.contains("Locked")) {
      assertThat(names).contains("Unlocked");
    }
  }

  @Test
  void drain_timeout_unlocks_and_cancels_the_task() {
    bitbucket.server().drainNever();

    assertThatThrownBy(() -> engine().drainTimeout(Duration.ofMillis(300)).build().backup())
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.DRAIN_TIMEOUT));

    assertThat(bitbucket.server().isLocked()).isFalse();
    assertThat(bitbucket.server().taskState()).contains("CANCELED");
    assertThat(home.calls()).doesNotContain("capture").contains("abort");
  }

  @Test
  void a_failed_bitbucket_task_unlocks() {
    bitbucket.server().drainFailsAfter(Duration.ofMillis(150));

    assertThatThrownBy(() -> engine().build().backup())
        .isInstanceOfSatisfying(BbdiyException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.BACKUP_TASK_FAILED));

    assertThat(bitbucket.server().isLocked()).isFalse();
  }

  @Test
  void a_lock_held_by_someone_else_is_left_alone() {
    bitbucket.server().lockAs("Another Admin");

    assertThatThrownBy(() -> engine().build().backup())
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.BITBUCKET_BUSY))
        .hasMessageContaining("locked for maintenance");

    assertThat(bitbucket.server().isLocked()).as("not our lock, not ours to release").isTrue();
    assertThat(bitbucket.server().events(EventType.UNLOCKED)).isEmpty();
    assertThat(home.calls()).as("refused before any work").isEmpty();
    bitbucket.server().forceUnlock();
  }

  @Test
  void cancel_while_capturing_stops_the_providers_then_unlocks() throws Exception {
    home.hangIn("capture");
    BackupEngine engine = engine().build();
    CompletableFuture<BackupResult> run = CompletableFuture.supplyAsync(engine::backup);
    awaitCall(home, "capture");
    Path stateFile = temp.resolve("work/.bbdiy/maintenance-lock.json");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(stateFile))).isEqualTo("rw-------");
    assertThat(Files.readString(stateFile)).contains(bitbucket.server().unlockToken().orElseThrow())
        .as("the command it advises is one a real Bitbucket takes: credentials and the token header")
        .contains("curl -f -u '<admin user>' -X DELETE -H '");

    assertThat(engine.cancel("SIGTERM")).isTrue();
    assertThat(engine.awaitIdle(Duration.ofSeconds(10))).isTrue();

    assertThatThrownBy(run::join).hasCauseInstanceOf(BbdiyException.class)
        .cause().satisfies(e -> assertThat(((BbdiyException) e).code()).isEqualTo(ErrorCode.INTERRUPTED))
        .hasMessageContaining("SIGTERM");
    assertThat(bitbucket.server().isLocked()).isFalse();
    assertThat(bitbucket.server().taskState()).contains("CANCELED");
    assertThat(home.calls()).contains("abort");
    assertThat(stateFile).doesNotExist();
    assertThat(events).filteredOn(BackupEvent.Unlocked.class::isInstance).singleElement()
        .satisfies(e -> assertThat(((BackupEvent.Unlocked) e).released()).isTrue());
  }

  @Test
  void the_watchdog_ends_a_lock_window_that_is_too_long() {
    home.hangIn("capture");

    assertThatThrownBy(() -> engine().maxLockWindow(Duration.ofMillis(500)).build().backup())
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INTERRUPTED))
        .hasMessageContaining("bitbucket.max-lock-window");

    assertThat(bitbucket.server().isLocked()).isFalse();
    assertThat(bitbucket.server().lastLockWindow().orElseThrow()).isLessThan(Duration.ofSeconds(5));
  }

  @Test
  void an_unlock_that_keeps_failing_is_left_locked_with_the_command_and_recoverable() {
    bitbucket.server().failNext(Endpoint.UNLOCK, 1000, Fault.status(500));

    assertThatThrownBy(() -> engine().build().backup())
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.LEFT_LOCKED))
        .hasMessageContaining("-X DELETE")
        .hasMessageContaining("bbdiy unlock --recover");
    assertThat(bitbucket.server().isLocked()).isTrue();
    assertThat(events).filteredOn(BackupEvent.Unlocked.class::isInstance).singleElement()
        .satisfies(e -> assertThat(((BackupEvent.Unlocked) e).released()).isFalse());

    bitbucket.server().failNext(Endpoint.UNLOCK, 0, Fault.status(500));
    resetFaults();
    RecoveryResult recovered = engine().build().recover();

    assertThat(recovered.released()).isTrue();
    assertThat(bitbucket.server().isLocked()).isFalse();
    assertThat(engine().build().recover().found()).isFalse();
  }

  private void resetFaults() {
    // Consume the remaining injected faults of the unlock endpoint by unlocking with a wrong token.
    while (true) {
      int before = bitbucket.server().events(EventType.UNLOCK_REFUSED).size();
      try {
        java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
            java.net.URI.create(bitbucket.url() + "/mvc/maintenance/lock?token=x")).DELETE().build(),
            java.net.http.HttpResponse.BodyHandlers.discarding());
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
      if (bitbucket.server().events(EventType.UNLOCK_REFUSED).size() > before) {
        return;
      }
    }
  }

  @Test
  void a_later_backup_releases_the_lock_a_killed_run_left() {
    MaintenanceLock orphan = client().lock();
    new LockStateFile(temp.resolve("work/.bbdiy")).locked(client().baseUrl(), "bitbucket-20200101-000000",
        orphan.unlockToken());

    BackupResult result = engine().build().backup();

    assertThat(result.warnings()).anySatisfy(w -> assertThat(w).contains("interrupted run"));
    assertThat(bitbucket.server().eventTypes()).startsWith(EventType.LOCKED, EventType.UNLOCKED, EventType.LOCKED);
    assertThat(bitbucket.server().isLocked()).isFalse();
  }

  @Test
  void a_failed_progress_report_does_not_fail_a_good_backup() {
    bitbucket.server().failNext(Endpoint.PROGRESS, 20, Fault.status(500));

    BackupResult result = engine().build().backup();

    assertThat(result.warnings()).anySatisfy(w -> assertThat(w).contains("100%"));
    assertThat(bitbucket.server().isLocked()).isFalse();
  }

  @Test
  void zero_downtime_makes_no_lock_calls_with_atomic_providers() {
    ScriptedProvider.Snapshot snapshot = ScriptedProvider.snapshot();

    BackupResult result = engine().home(snapshot).database(null).zeroDowntime(true).build().backup();

    assertThat(result.lockWindow()).isNull();
    assertThat(bitbucket.server().calls(Endpoint.LOCK)).isZero();
    assertThat(bitbucket.server().calls(Endpoint.APPLICATION_PROPERTIES)).isEqualTo(1);
    assertThat(result.summary().zeroDowntime()).isTrue();
    assertThat(result.summary().artifacts().get(0).property("snapshot")).startsWith("snap-");
  }

  @Test
  void zero_downtime_is_refused_for_file_copies_before_any_work() {
    assertThatThrownBy(() -> engine().zeroDowntime(true).build().backup())
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION))
        .hasMessageContaining("atomic");
    assertThat(home.calls()).as("no phase ran; the instance was only released").containsExactly("close");
  }

  @Test
  void zero_downtime_needs_bitbucket_4_8() {
    FakeBitbucketServer old = FakeBitbucketServer.builder().version("4.7.2").start();
    try {
      MaintenanceClient c = MaintenanceClient.builder(old.url()).credentials("admin", Secret.of("admin")).build();
      assertThatThrownBy(() -> engine().bitbucket(c).home(ScriptedProvider.snapshot()).database(null)
          .zeroDowntime(true).build().backup())
          .hasMessageContaining("4.8");
    } finally {
      old.close();
    }
  }

  @Test
  void a_backup_that_fails_verification_is_removed_and_reported() {
    assertThatThrownBy(() -> engine().archiver(new LyingArchiverProvider(temp.resolve("archives"))).build()
        .backup())
        .isInstanceOfSatisfying(BbdiyException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.VERIFICATION_FAILED))
        .hasMessageContaining("removed");

    assertThat(engine().build().list()).isEmpty();
    assertThat(bitbucket.server().isLocked()).isFalse();
  }

  @Test
  void retention_keeps_the_newest_and_never_touches_other_backups() throws Exception {
    Path archives = Files.createDirectories(temp.resolve("archives"));
    Files.write(archives.resolve("bitbucket-20000101-000000.tar.gz"), new byte[] {0x1f, (byte) 0x8b});
    List<BackupId> ids = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      ids.add(engine().build().backup().id());
      clock.advance(Duration.ofSeconds(2));
    }

    BackupResult fourth = engine().retention(RetentionPolicy.keepLast(2)).build().backup();

    assertThat(fourth.pruned()).containsExactlyInAnyOrder(ids.get(0), ids.get(1));
    assertThat(engine().build().list()).extracting(b -> b.id().value())
        .containsExactly(fourth.id().value(), ids.get(2).value(), "bitbucket-20000101-000000");
  }

  @Test
  void retention_deletes_external_artifacts_with_their_backup() {
    ScriptedProvider.Snapshot snapshot = ScriptedProvider.snapshot();
    BackupResult first = engine().home(snapshot).database(null).build().backup();
    clock.advance(Duration.ofSeconds(2));
    engine().home(snapshot).database(null).retention(RetentionPolicy.keepLast(1)).build().backup();

    assertThat(snapshot.calls()).contains("delete snap-" + first.id());
    assertThat(temp.resolve("work/.scripted-snapshots/snap-" + first.id())).doesNotExist();
  }

  @Test
  void one_operation_per_working_directory() throws Exception {
    home.hangIn("prepare");
    BackupEngine first = engine().build();
    CompletableFuture<BackupResult> run = CompletableFuture.supplyAsync(first::backup);
    awaitCall(home, "prepare");

    assertThatThrownBy(() -> engine().home(ScriptedProvider.home()).build().backup())
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.REFUSED))
        .hasMessageContaining("pid " + ProcessHandle.current().pid());

    first.cancel("test over");
    assertThatThrownBy(run::join).hasCauseInstanceOf(BbdiyException.class);
  }

  @Test
  void mesh_nodes_have_no_database() {
    assertThatThrownBy(() -> engine().instance(new BitbucketInstance("mesh1", InstanceType.MESH, temp, List.of(),
        List.of(), -1, -1)).build())
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION));
  }

  @Nested
  class Restore {
    @Test
    void round_trip_into_empty_targets() throws Exception {
      BackupResult backup = engine().build().backup();
      Path target = temp.resolve("restored-home");

      RestoreResult result = engine().build().restore(RestoreRequest.builder(backup.id()).targetHome(target)
          .targetDatabase("bitbucket2").build());

      assertThat(result.verified()).isTrue();
      assertThat(target.resolve("captured.txt")).hasContent("captured " + backup.id());
      assertThat(temp.resolve("work/.scripted-databases/bitbucket2.sql")).hasContent("captured " + backup.id());
      assertThat(result.phases()).containsKeys(Phase.EXTRACT, Phase.RESTORE_DATABASE, Phase.RESTORE_HOME);
      assertThat(temp.resolve("work/.bbdiy/restore-" + backup.id())).doesNotExist();
    }

    @Test
    void refuses_a_non_empty_home_and_writes_nothing() throws Exception {
      BackupResult backup = engine().build().backup();
      Path target = Files.createDirectories(temp.resolve("restored-home"));
      Files.writeString(target.resolve("precious.txt"), "do not touch");
      Files.createDirectories(target.resolve("lost+found"));

      assertThatThrownBy(() -> engine().build().restore(RestoreRequest.builder(backup.id()).targetHome(target)
          .build()))
          .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.REFUSED))
          .hasMessageContaining("not empty");
      try (Stream<Path> s = Files.list(target)) {
        assertThat(s.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("precious.txt", "lost+found");
      }
    }

    @Test
    void ignores_lost_and_found() throws Exception {
      BackupResult backup = engine().build().backup();
      Path target = Files.createDirectories(temp.resolve("mounted-home/lost+found")).getParent();

      engine().build().restore(RestoreRequest.builder(backup.id()).targetHome(target).homeOnly().build());

      assertThat(target.resolve("captured.txt")).exists();
    }

    @Test
    void refuses_an_existing_database() throws Exception {
      BackupResult backup = engine().build().backup();
      Files.createDirectories(temp.resolve("work/.scripted-databases"));
      Files.writeString(temp.resolve("work/.scripted-databases/bitbucket.sql"), "existing");

      assertThatThrownBy(() -> engine().build().restore(RestoreRequest.builder(backup.id())
          .targetHome(temp.resolve("h")).targetDatabase("bitbucket").build()))
          .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.REFUSED));
      assertThat(temp.resolve("h")).doesNotExist();
    }

    @Test
    void unknown_backups_are_not_found_with_the_available_ones() {
      BackupResult backup = engine().build().backup();

      assertThatThrownBy(() -> engine().build().restore(RestoreRequest.builder(new BackupId("bitbucket-19990101-"
          + "000000")).build()))
          .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND))
          .hasMessageContaining(backup.id().value());
    }
  }

  static void awaitCall(ScriptedProvider p, String call) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!p.calls().contains(call)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("no " + call + " call; calls: " + p.calls());
      }
      Thread.sleep(10);
    }
  }

  /** A tar archiver whose verification always finds a problem. */
  static final class LyingArchiverProvider implements ArchiverProvider {
    private final Path dir;

    LyingArchiverProvider(Path dir) {
      this.dir = dir;
    }

    @Override
    public String name() {
      return "tar";
    }

    @Override
    public String description() {
      return "lies";
    }

    @Override
    public List<Setting> settings() {
      return new TarArchiverProvider().settings();
    }

    @Override
    public Archiver create(ProviderContext context) {
      Archiver real = new TarArchiverProvider().create(context);
      return new Archiver() {
        @Override
        public boolean compresses() {
          return true;
        }

        @Override
        public StoredBackup store(BackupContent content, RunContext ctx) {
          return real.store(content, ctx);
        }

        @Override
        public StoredBackup commit(BackupId id) {
          return real.commit(id);
        }

        @Override
        public Lock lock(Duration wait, RunContext ctx) {
          return real.lock(wait, ctx);
        }

        @Override
        public List<StoredBackup> list() {
          return real.list();
        }

        @Override
        public VerifyResult verify(BackupId id, RunContext ctx) {
          return new VerifyResult(id, false, 0, 0, List.of("a flipped byte"), Duration.ZERO);
        }

        @Override
        public ExtractResult extract(BackupId id, ExtractionPlan plan, RunContext ctx) {
          return real.extract(id, plan, ctx);
        }

        @Override
        public void delete(BackupId id) {
          real.delete(id);
        }
      };
    }

    Set<String> unused() {
      return Set.of(dir.toString());
    }
  }
}
