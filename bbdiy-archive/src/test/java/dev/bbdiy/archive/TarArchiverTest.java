package dev.bbdiy.archive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.StoredBackup;
import dev.bbdiy.api.spi.Archiver;
import dev.bbdiy.api.spi.ExtractResult;
import dev.bbdiy.api.spi.ExtractionPlan;
import dev.bbdiy.testkit.ArchiverContract;
import dev.bbdiy.testkit.TestContexts;
import dev.bbdiy.simulator.Trees;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class TarArchiverTest {

  @org.junit.jupiter.api.Test
  void a_level_the_compression_does_not_have_is_refused_when_the_archiver_is_created() {
    TarArchiverProvider provider = new TarArchiverProvider();
    for (java.util.Map<String, String> config : java.util.List.of(
        java.util.Map.of("tar.dir", "/tmp/x", "tar.compression", "gzip", "tar.level", "15"),
        java.util.Map.of("tar.dir", "/tmp/x", "tar.compression", "zstd", "tar.level", "23"))) {
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> provider.create(dev.bbdiy.testkit.TestContexts
          .providerContext(provider, config, dev.bbdiy.api.BitbucketInstance.of("bitbucket", null),
              java.nio.file.Path.of("/tmp/work"))))
          .isInstanceOfSatisfying(dev.bbdiy.api.BbdiyException.class, e -> org.assertj.core.api.Assertions
              .assertThat(e.code()).isEqualTo(dev.bbdiy.api.ErrorCode.CONFIGURATION))
          .hasMessageContaining("tar.level");
    }
  }

  abstract static class TarContract extends ArchiverContract {
    Path dir;

    abstract Compression compression();

    @Override
    protected Archiver newArchiver(Path dir, Path workDir) {
      this.dir = dir;
      return new TarArchiver(dir, new TarFormat(compression(), -1, 2), workDir.resolve(".bbdiy/tmp"));
    }

    Path file(BackupId id) {
      return dir.resolve(id.value() + compression().extension());
    }

    @Override
    protected void corrupt(BackupId id) throws Exception {
      flipByte(file(id), Files.size(file(id)) / 2);
    }

    @Override
    protected List<Path> storedFiles(StoredBackup backup) {
      return List.of(Path.of(backup.location()), Path.of(backup.location() + TarFormat.SIDECAR_SUFFIX));
    }

    @Test
    void gnu_tar_reads_what_we_write() throws Exception {
      StoredBackup stored = store("20260102-030405");
      Path out = Files.createDirectories(temp.resolve("gnu"));

      String flag = compression() == Compression.ZSTD ? "--zstd" : compression() == Compression.GZIP ? "-z" : "-v";
      run(out, "tar", "-x", flag, "-f", stored.location());

      assertThat(Trees.differences(work.resolve(BackupLayout.HOME), out.resolve(BackupLayout.HOME),
          Trees.Check.MODE, Trees.Check.MTIME)).isEmpty();
      assertThat(out.resolve(BackupLayout.MANIFEST)).exists();
    }

    @Test
    void leaves_no_partial_file_and_no_temp_files() throws Exception {
      store("20260102-030405");

      try (var s = Files.list(dir)) {
        assertThat(s.map(p -> p.getFileName().toString()).toList())
            .allSatisfy(n -> assertThat(n).doesNotContain("partial"));
      }
      try (var s = Files.walk(work.resolve(".bbdiy/tmp"))) {
        assertThat(s.filter(Files::isRegularFile).toList()).isEmpty();
      }
    }

    @Test
    void detects_a_truncated_archive() throws Exception {
      StoredBackup stored = store("20260102-030405");
      Path f = Path.of(stored.location());
      try (var ch = java.nio.channels.FileChannel.open(f, java.nio.file.StandardOpenOption.WRITE)) {
        ch.truncate(ch.size() * 2 / 3);
      }

      var result = archiver.verify(stored.id(), TestContexts.run(work, Phase.VERIFY));

      assertThat(result.ok()).isFalse();
    }
  }

  @Nested
  class Zstd extends TarContract {
    @Override
    Compression compression() {
      return Compression.ZSTD;
    }
  }

  /**
   * Gzip, with the archives Atlassian's scripts write (gzip too): one class, so the contract runs once per
   * compression rather than again for the extra tests.
   */
  @Nested
  class Gzip extends TarContract {
    @Override
    Compression compression() {
      return Compression.GZIP;
    }

    @Test
    void an_atlassian_archive_is_listed_and_restorable_but_not_verified() throws Exception {
      Path foreign = dir.resolve("bitbucket-20250101-000000.tar.gz");
      run(work, "tar", "-czf", foreign.toString(), "-C", work.toString(), "./" + BackupLayout.HOME,
          "./" + BackupLayout.DATABASE);

      StoredBackup listed = archiver.list().get(0);
      assertThat(listed.id().value()).isEqualTo("bitbucket-20250101-000000");
      assertThat(listed.hasManifest()).isFalse();
      var verify = archiver.verify(listed.id(), TestContexts.run(work, Phase.VERIFY));
      assertThat(verify.ok()).isFalse();
      assertThat(verify.problems()).singleElement().asString().contains("no manifest");

      Path home = temp.resolve("restored/home");
      ExtractResult result = archiver.extract(listed.id(), ExtractionPlan.builder()
          .map(BackupLayout.HOME, home).build(), TestContexts.run(work, Phase.EXTRACT));

      assertThat(result.verified()).isFalse();
      assertThat(Trees.differences(work.resolve(BackupLayout.HOME), home, Trees.Check.MODE)).isEmpty();
    }
  }

  /** Uncompressed, with crafted unsafe archives (uncompressed too): the contract runs once per compression. */
  @Nested
  class Uncompressed extends TarContract {
    @Override
    Compression compression() {
      return Compression.NONE;
    }

    private Path craft(String name, TarEntryWriter... entries) throws Exception {
      Path f = dir.resolve(name);
      try (OutputStream out = Files.newOutputStream(f);
          TarArchiveOutputStream tar = new TarArchiveOutputStream(out)) {
        for (TarEntryWriter w : entries) {
          w.write(tar);
        }
      }
      return f;
    }

    interface TarEntryWriter {
      void write(TarArchiveOutputStream tar) throws Exception;
    }

    private static TarEntryWriter file(String name, String content) {
      return tar -> {
        byte[] b = content.getBytes(StandardCharsets.UTF_8);
        TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_NORMAL, true);
        e.setSize(b.length);
        tar.putArchiveEntry(e);
        tar.write(b);
        tar.closeArchiveEntry();
      };
    }

    private static TarEntryWriter symlink(String name, String target) {
      return tar -> {
        TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_SYMLINK, true);
        e.setLinkName(target);
        tar.putArchiveEntry(e);
        tar.closeArchiveEntry();
      };
    }

    @Test
    void dot_dot_entries_are_refused() throws Exception {
      craft("bitbucket-20250101-000000.tar", file("bitbucket-home/../../escaped.txt", "x"));
      Path home = temp.resolve("restored/home");

      assertThatThrownBy(() -> archiver.extract(new BackupId("bitbucket-20250101-000000"),
          ExtractionPlan.builder().map(BackupLayout.HOME, home).build(), TestContexts.run(work, Phase.EXTRACT)))
          .isInstanceOfSatisfying(BbdiyException.class,
              e -> assertThat(e.code()).isEqualTo(ErrorCode.VERIFICATION_FAILED));
      assertThat(temp.resolve("escaped.txt")).doesNotExist();
      assertThat(temp.resolve("restored/escaped.txt")).doesNotExist();
    }

    @Test
    void absolute_entries_are_refused() throws Exception {
      craft("bitbucket-20250101-000000.tar", file("/etc/bbdiy-test-escaped", "x"));

      assertThatThrownBy(() -> archiver.extract(new BackupId("bitbucket-20250101-000000"),
          ExtractionPlan.builder().map(BackupLayout.HOME, temp.resolve("h")).build(),
          TestContexts.run(work, Phase.EXTRACT)))
          .isInstanceOf(BbdiyException.class);
      assertThat(Path.of("/etc/bbdiy-test-escaped")).doesNotExist();
    }

    @Test
    void writing_through_a_symlink_is_refused() throws Exception {
      Path outside = Files.createDirectories(temp.resolve("outside"));
      craft("bitbucket-20250101-000000.tar", symlink("bitbucket-home/link", outside.toString()),
          file("bitbucket-home/link/planted.txt", "x"));

      assertThatThrownBy(() -> archiver.extract(new BackupId("bitbucket-20250101-000000"),
          ExtractionPlan.builder().map(BackupLayout.HOME, temp.resolve("restored/home")).build(),
          TestContexts.run(work, Phase.EXTRACT)))
          .isInstanceOf(BbdiyException.class);
      assertThat(outside.resolve("planted.txt")).doesNotExist();
    }
  }

  static void run(Path dir, String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(String.join(" ", cmd) + ": " + out).isZero();
  }
}
