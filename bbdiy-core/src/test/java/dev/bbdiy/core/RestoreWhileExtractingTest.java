package dev.bbdiy.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BackupEvent;
import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupResult;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.RestoreResult;
import dev.bbdiy.api.StoredBackup;
import dev.bbdiy.api.VerifyResult;
import dev.bbdiy.api.spi.Archiver;
import dev.bbdiy.api.spi.ArchiverProvider;
import dev.bbdiy.api.spi.BackupContent;
import dev.bbdiy.api.spi.Capability;
import dev.bbdiy.api.spi.CaptureHandle;
import dev.bbdiy.api.spi.DatabaseDumper;
import dev.bbdiy.api.spi.DatabaseDumperProvider;
import dev.bbdiy.api.spi.ExtractResult;
import dev.bbdiy.api.spi.ExtractionPlan;
import dev.bbdiy.api.spi.ProviderContext;
import dev.bbdiy.api.spi.RestoreContext;
import dev.bbdiy.api.spi.RestoreOutcome;
import dev.bbdiy.api.spi.RunContext;
import dev.bbdiy.api.spi.Secret;
import dev.bbdiy.api.spi.Setting;
import dev.bbdiy.archive.TarArchiverProvider;
import dev.bbdiy.testkit.FakeBitbucketExtension;
import dev.bbdiy.testkit.ScriptedProvider;
import dev.bbdiy.testkit.TestClock;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The database load of a restore starts as soon as the dump is extracted, while the home still is, and counts
 * only once the whole archive matched its manifest. The archiver here holds the extraction at the moment it says
 * the dump is complete until the load has started, so that the overlap is certain, not a matter of timing.
 */
class RestoreWhileExtractingTest {
  @RegisterExtension
  final FakeBitbucketExtension bitbucket = FakeBitbucketExtension.create(b -> b.drainTime(Duration.ofMillis(50)));

  @TempDir Path temp;

  final List<String> log = Collections.synchronizedList(new ArrayList<>());
  final CountDownLatch loadStarted = new CountDownLatch(1);

  BackupEngine.Builder engine(DatabaseDumperProvider database, ArchiverProvider archiver) {
    return BackupEngine.builder()
        .instance(BitbucketInstance.of("bitbucket", temp.resolve("home")))
        .workDir(temp.resolve("work"))
        .bitbucket(MaintenanceClient.builder(bitbucket.url()).credentials("admin", Secret.of("admin"))
            .pollInterval(Duration.ofMillis(20)).build())
        .home(ScriptedProvider.home())
        .database(database)
        .archiver(archiver)
        .configuration(Map.of("tar.dir", temp.resolve("archives").toString()))
        .clock(new TestClock())
        .listener(e -> {
          if (e instanceof BackupEvent.PhaseFinished f && f.phase() == Phase.EXTRACT) {
            log.add("extracted");
          }
        });
  }

  BackupId backup() {
    BackupResult r = engine(new LoadingDatabase(true), new TarArchiverProvider()).build().backup();
    return r.id();
  }

  Path restoredDatabase(String name) {
    return temp.resolve("work/.loaded-databases/" + name);
  }

  @Test
  void the_database_loads_while_the_home_is_extracted_and_counts_after_the_verification() {
    BackupId id = backup();
    Path target = temp.resolve("restored-home");

    RestoreResult r = engine(new LoadingDatabase(true), new HoldingArchiver())
        .build().restore(RestoreRequest.builder(id).targetHome(target).targetDatabase("copy").build());

    assertThat(r.verified()).isTrue();
    assertThat(log).first().isEqualTo("load started, home extracted: false");
    assertThat(log).containsSubsequence("extracted", "verified");
    assertThat(restoredDatabase("copy")).hasContent("captured " + id);
    assertThat(target.resolve("captured.txt")).hasContent("captured " + id);
    assertThat(r.targets()).contains("loaded database copy");
  }

  @Test
  void an_archive_that_fails_its_verification_undoes_the_load_that_already_ran() throws IOException {
    BackupId id = backup();
    Path target = temp.resolve("restored-home");
    HoldingArchiver lying = new HoldingArchiver();
    lying.verified = false;

    assertThatThrownBy(() -> engine(new LoadingDatabase(true), lying).build()
        .restore(RestoreRequest.builder(id).targetHome(target).targetDatabase("copy").build()))
        .isInstanceOfSatisfying(BbdiyException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.VERIFICATION_FAILED))
        .hasMessageContaining("the database load was stopped");

    assertThat(log).contains("load started, home extracted: false", "undone: VERIFICATION_FAILED");
    assertThat(restoredDatabase("copy")).doesNotExist();
    assertThat(dev.bbdiy.kit.PrivateFiles.isAbsentOrEmpty(target)).isTrue();
    assertThat(temp.resolve("work/.bbdiy/restore-" + id)).doesNotExist();
  }

  @Test
  void an_extraction_that_breaks_after_the_dump_cancels_the_load() throws IOException {
    BackupId id = backup();
    Path target = temp.resolve("restored-home");
    HoldingArchiver breaking = new HoldingArchiver();
    breaking.failAfter = true;

    assertThatThrownBy(() -> engine(new LoadingDatabase(true), breaking).build()
        .restore(RestoreRequest.builder(id).targetHome(target).targetDatabase("copy").build()))
        .isInstanceOfSatisfying(BbdiyException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.PROVIDER_FAILED))
        .hasMessageContaining("disk went away");

    assertThat(log).contains("load started, home extracted: false");
    assertThat(log).anyMatch(l -> l.startsWith("undone: "));
    assertThat(restoredDatabase("copy")).doesNotExist();
    assertThat(dev.bbdiy.kit.PrivateFiles.isAbsentOrEmpty(target)).isTrue();
  }

  @Test
  void a_provider_that_cannot_start_early_loads_after_the_extraction() {
    BackupId id = backup();

    RestoreResult r = engine(new LoadingDatabase(false), new HoldingArchiver()).build()
        .restore(RestoreRequest.builder(id).targetHome(temp.resolve("restored-home")).targetDatabase("copy")
            .build());

    assertThat(r.verified()).isTrue();
    assertThat(log).startsWith("extracted", "load started, home extracted: true");
    assertThat(restoredDatabase("copy")).hasContent("captured " + id);
  }

  /**
   * A database provider that "loads" the dump into {@code work/.loaded-databases/<name>} and, as the capability
   * demands, removes it again when the verification it waits for fails.
   */
  final class LoadingDatabase implements DatabaseDumperProvider {
    private final boolean early;
    private final ScriptedProvider.Database scripted = ScriptedProvider.database();

    LoadingDatabase(boolean early) {
      this.early = early;
    }

    @Override
    public String name() {
      return scripted.name();
    }

    @Override
    public String description() {
      return "loads while extracting";
    }

    @Override
    public List<Setting> settings() {
      return scripted.settings();
    }

    @Override
    public Set<Capability> capabilities() {
      return early ? Set.of(Capability.FILE_OUTPUT, Capability.RESTORES_WHILE_EXTRACTING)
          : Set.of(Capability.FILE_OUTPUT);
    }

    @Override
    public DatabaseDumper create(ProviderContext context) {
      DatabaseDumper real = scripted.create(context);
      Path databases = context.workDir().resolve(".loaded-databases");
      return new DatabaseDumper() {
        @Override
        public void preflight(RunContext ctx) {
          real.preflight(ctx);
        }

        @Override
        public CaptureHandle capture(RunContext ctx) {
          return real.capture(ctx);
        }

        @Override
        public Artifact complete(RunContext ctx, CaptureHandle capture) {
          return real.complete(ctx, capture);
        }

        @Override
        public RestoreOutcome restore(RestoreContext ctx) {
          log.add("load started, home extracted: " + Files.exists(ctx.targetHome().resolve("captured.txt")));
          loadStarted.countDown();
          Path db = databases.resolve(String.valueOf(ctx.targetDatabase()));
          try {
            Files.createDirectories(databases);
            Files.copy(ctx.source().resolve("captured.txt"), db);
            log.add("awaiting verification");
            ctx.awaitSourceVerified();
            log.add("verified");
            return RestoreOutcome.database(String.valueOf(ctx.targetDatabase()), "loaded database "
                + ctx.targetDatabase(), List.of());
          } catch (BbdiyException e) {
            log.add("undone: " + e.code());
            deleteQuietly(db);
            throw e;
          } catch (IOException e) {
            log.add("undone: " + e);
            deleteQuietly(db);
            throw new UncheckedIOException(e);
          }
        }
      };
    }

    private void deleteQuietly(Path p) {
      try {
        Files.deleteIfExists(p);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  /**
   * The tar archiver, holding the extraction when it says the dump is complete until the load has started; it
   * can also claim the archive did not match, or fail after the dump.
   */
  final class HoldingArchiver implements ArchiverProvider {
    volatile boolean verified = true;
    volatile boolean failAfter;

    @Override
    public String name() {
      return "tar";
    }

    @Override
    public String description() {
      return "holds";
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
          return real.compresses();
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
          return real.verify(id, ctx);
        }

        @Override
        public ExtractResult extract(BackupId id, ExtractionPlan plan, RunContext ctx) {
          ExtractionPlan.Builder held = ExtractionPlan.builder();
          plan.targets().forEach(held::map);
          for (String prefix : plan.awaited()) {
            held.whenComplete(prefix, () -> {
              plan.completed(prefix);
              try {
                if (!loadStarted.await(10, TimeUnit.SECONDS)) {
                  throw new AssertionError("the load did not start");
                }
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
              if (failAfter) {
                throw new BbdiyException(ErrorCode.PROVIDER_FAILED, "the disk went away");
              }
            });
          }
          ExtractResult r = real.extract(id, held.build(), ctx);
          return verified ? r : new ExtractResult(r.files(), r.bytes(), false);
        }

        @Override
        public void delete(BackupId id) {
          real.delete(id);
        }
      };
    }
  }
}
