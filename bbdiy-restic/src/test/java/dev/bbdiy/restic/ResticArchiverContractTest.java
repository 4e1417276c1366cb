package dev.bbdiy.restic;

import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.StoredBackup;
import dev.bbdiy.api.spi.Archiver;
import dev.bbdiy.testkit.ArchiverContract;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;

/** The archiver contract against real restic and a local repository. */
class ResticArchiverContractTest extends ArchiverContract {
  private Map<String, String> config;

  @BeforeAll
  static void restic() {
    ResticTool.requireRestic();
  }

  @Override
  protected Archiver newArchiver(Path dir, Path workDir) throws Exception {
    config = ResticTool.config(dir.resolve("repo"), ResticTool.passwordFile(temp));
    return ResticTool.archiver(config, workDir);
  }

  @Override
  protected Archiver sameStore() {
    return ResticTool.archiver(config, work);
  }

  @Override
  protected void corrupt(BackupId id) throws Exception {
    // The largest pack holds file data (trees are small): a flipped byte there is found only by reading it.
    flipByte(ResticTool.packs(temp.resolve("archive/repo")).get(0), 1000);
  }

  @Override
  protected List<Path> storedFiles(StoredBackup backup) throws Exception {
    try (var s = Files.walk(temp.resolve("archive/repo"))) {
      return s.filter(p -> !p.getFileName().toString().equals("bbdiy-store.lock")).toList();
    }
  }
}
