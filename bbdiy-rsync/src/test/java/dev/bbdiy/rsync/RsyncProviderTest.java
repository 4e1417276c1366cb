package dev.bbdiy.rsync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.spi.HomeSnapshotterProvider;
import dev.bbdiy.core.ProviderRegistry;
import dev.bbdiy.testkit.HomeSnapshotterContract;
import dev.bbdiy.testkit.TestContexts;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The rsync provider against real rsync. Fails, rather than skips, where rsync is missing. */
class RsyncProviderTest extends HomeSnapshotterContract {
  @Override
  protected HomeSnapshotterProvider provider() {
    return new RsyncProvider();
  }

  @Test
  void is_registered_with_the_service_loader() {
    assertThat(ProviderRegistry.load().home("rsync")).isInstanceOf(RsyncProvider.class);
  }

  @Test
  void a_missing_rsync_fails_preflight_with_the_fix() {
    RsyncProvider p = new RsyncProvider();
    var s = p.create(TestContexts.providerContext(p, Map.of("rsync.binary", "/nonexistent/rsync"),
        BitbucketInstance.of("bitbucket", temp), temp.resolve("work")));

    assertThatThrownBy(() -> s.preflight(TestContexts.run(temp.resolve("work"), Phase.PREFLIGHT)))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code())
            .isIn(ErrorCode.CONFIGURATION, ErrorCode.PROVIDER_FAILED))
        .hasMessageContaining("rsync");
  }

  @Test
  void parses_the_stats_summary() {
    var stats = RsyncSnapshotter.parseStats(List.of("Number of files: 1,234 (reg: 1,000, dir: 234)",
        "Number of created files: 10", "Number of deleted files: 2", "Number of regular files transferred: 15",
        "Total file size: 12,345,678 bytes", "Total transferred file size: 123,456 bytes"));

    assertThat(stats).containsEntry("files", "1234").containsEntry("transferred-files", "15")
        .containsEntry("transferred-bytes", "123456").containsEntry("deleted-files", "2");
  }
}
