package dev.bbdiy.copy;

import dev.bbdiy.kit.ExcludeMatcher;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bbdiy.api.spi.HomeSnapshotterProvider;
import dev.bbdiy.testkit.HomeSnapshotterContract;
import java.util.List;
import org.junit.jupiter.api.Test;

class CopyProviderTest extends HomeSnapshotterContract {
  @Override
  protected HomeSnapshotterProvider provider() {
    return new CopyProvider();
  }

  @Test
  void matches_anchored_rsync_patterns_like_rsync() {
    ExcludeMatcher m = new ExcludeMatcher(List.of("/caches/", "/data/db.*", "/plugins/.*/", "/tmp",
        "/shared/data/repositories/12", "/repositories/*/*/7"));

    assertThat(m.excluded("caches", true)).isTrue();
    assertThat(m.excluded("caches", false)).as("trailing slash: directories only").isFalse();
    assertThat(m.excluded("shared/caches", true)).as("anchored").isFalse();
    assertThat(m.excluded("data/db.h2.db", false)).isTrue();
    assertThat(m.excluded("data/dbx", false)).isFalse();
    assertThat(m.excluded("plugins/.osgi-plugins", true)).isTrue();
    assertThat(m.excluded("plugins/installed-plugins", true)).isFalse();
    assertThat(m.excluded("tmp", true)).isTrue();
    assertThat(m.excluded("tmp", false)).isTrue();
    assertThat(m.excluded("shared/data/repositories/12", true)).isTrue();
    assertThat(m.excluded("shared/data/repositories/123", true)).isFalse();
    assertThat(m.excluded("repositories/ab/cd/7", true)).isTrue();
    assertThat(m.excluded("repositories/ab/7", true)).isFalse();
  }
}
