package dev.bbdiy.cli;

import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.StoredBackup;
import dev.bbdiy.api.VerifyResult;
import dev.bbdiy.api.spi.Archiver;
import dev.bbdiy.api.spi.ArchiverProvider;
import dev.bbdiy.api.spi.BackupContent;
import dev.bbdiy.api.spi.ExtractResult;
import dev.bbdiy.api.spi.ExtractionPlan;
import dev.bbdiy.api.spi.ProviderContext;
import dev.bbdiy.api.spi.RunContext;
import dev.bbdiy.api.spi.Setting;
import dev.bbdiy.api.spi.SettingType;
import dev.bbdiy.api.spi.Settings;
import dev.bbdiy.archive.TarArchiverProvider;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** The tar archiver, except that verify takes {@code slow-verify.delay} (default: until cancelled). For signal tests. */
public final class SlowVerifyArchiverProvider implements ArchiverProvider {
  static final Setting DIR = Setting.of("dir", SettingType.PATH, "Archive directory.").asRequired();
  static final Setting DELAY = Setting.of("delay", SettingType.DURATION, "How long verify takes.").withDefault("1h")
      .withRange("0s", "1d");

  @Override
  public String name() {
    return "slow-verify";
  }

  @Override
  public String description() {
    return "tar with a slow verify (tests)";
  }

  @Override
  public List<Setting> settings() {
    return List.of(DIR, DELAY);
  }

  @Override
  public Archiver create(ProviderContext context) {
    Settings tarSettings = Settings.of("tar", new TarArchiverProvider().settings(),
        Map.of("tar.dir", context.settings().path(DIR).toString()));
    Archiver tar = new TarArchiverProvider().create(new ProviderContext() {
      @Override
      public Settings settings() {
        return tarSettings;
      }

      @Override
      public BitbucketInstance instance() {
        return context.instance();
      }

      @Override
      public Path workDir() {
        return context.workDir();
      }

      @Override
      public Path stateDirectory() {
        return context.stateDirectory();
      }

      @Override
      public String toolVersion() {
        return context.toolVersion();
      }
    });
    long delayNanos = context.settings().duration(DELAY).toNanos();
    return new Archiver() {
      @Override
      public void preflight(RunContext run) {
        tar.preflight(run);
      }

      @Override
      public boolean compresses() {
        return tar.compresses();
      }

      @Override
      public StoredBackup store(BackupContent content, RunContext run) {
        return tar.store(content, run);
      }

      @Override
      public StoredBackup commit(BackupId id) {
        return tar.commit(id);
      }

      @Override
      public Lock lock(java.time.Duration wait, RunContext run) {
        return tar.lock(wait, run);
      }

      @Override
      public List<StoredBackup> list() {
        return tar.list();
      }

      @Override
      public VerifyResult verify(BackupId id, RunContext run) {
        System.err.println("slow-verify: verifying");
        long end = System.nanoTime() + delayNanos;
        while (System.nanoTime() < end) {
          run.cancellation().throwIfCancelled();
          try {
            Thread.sleep(20);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            run.cancellation().throwIfCancelled();
            throw new IllegalStateException("interrupted", e);
          }
        }
        return tar.verify(id, run);
      }

      @Override
      public ExtractResult extract(BackupId id, ExtractionPlan plan, RunContext run) {
        return tar.extract(id, plan, run);
      }

      @Override
      public void delete(BackupId id) {
        tar.delete(id);
      }
    };
  }
}
