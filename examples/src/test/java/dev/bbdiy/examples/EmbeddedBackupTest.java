package dev.bbdiy.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bbdiy.api.BackupResult;
import dev.bbdiy.simulator.BitbucketHomes;
import dev.bbdiy.testkit.FakeBitbucketExtension;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedBackupTest {
  @RegisterExtension final FakeBitbucketExtension bitbucket = FakeBitbucketExtension.create();
  @TempDir Path temp;

  @Test
  void backs_up_and_reports_the_lock_window() throws Exception {
    BitbucketHomes.generate(temp.resolve("home"), BitbucketHomes.spec().repositories(1).useGit(false));

    BackupResult result = EmbeddedBackup.backup(bitbucket.url(), "admin", "admin", temp.resolve("home"),
        temp.resolve("work"), temp.resolve("archives"));

    assertThat(result.verification().ok()).isTrue();
    assertThat(result.lockWindow()).isPositive().isLessThan(Duration.ofSeconds(10));
    assertThat(bitbucket.server().isLocked()).isFalse();
  }
}
