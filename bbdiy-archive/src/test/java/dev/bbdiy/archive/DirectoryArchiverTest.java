package dev.bbdiy.archive;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.StoredBackup;
import dev.bbdiy.api.spi.Archiver;
import dev.bbdiy.testkit.ArchiverContract;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class DirectoryArchiverTest extends ArchiverContract {
  Path dir;

  @Override
  protected Archiver newArchiver(Path dir, Path workDir) {
    this.dir = dir;
    return new DirectoryArchiver(dir, workDir.resolve(".bbdiy/tmp"));
  }

  @Override
  protected void corrupt(BackupId id) throws Exception {
    try (Stream<Path> files = Files.walk(dir.resolve(id.value()).resolve(BackupLayout.DATABASE))) {
      Path big = files.filter(Files::isRegularFile).max((a, b) -> Long.compare(a.toFile().length(),
          b.toFile().length())).orElseThrow();
      flipByte(big, Files.size(big) / 2);
    }
  }

  @Override
  protected List<Path> storedFiles(StoredBackup backup) {
    return List.of(Path.of(backup.location()), Path.of(backup.location()).resolve(BackupLayout.MANIFEST));
  }

  @Test
  void the_archivers_are_registered() {
    assertThat(java.util.ServiceLoader.load(dev.bbdiy.api.spi.ArchiverProvider.class).stream()
        .map(java.util.ServiceLoader.Provider::type).toList())
        .contains(DirectoryArchiverProvider.class, TarArchiverProvider.class);
  }
}
