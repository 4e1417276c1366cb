package dev.bbdiy.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.spi.ContentSource;
import dev.bbdiy.api.spi.RunContext;
import dev.bbdiy.kit.Cancellations;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Content sources are accepted from a backup's complete only, once per layout path. */
class ContentSourcesTest {
  private static final ContentSource HOME = new ContentSource(BackupLayout.HOME, Path.of("/snap/home"), List.of());

  private static RunContext context(Phase phase, EngineContexts.ContentSources sources) {
    return new EngineContexts.Run(BackupId.of("bitbucket", Instant.parse("2026-01-01T00:00:00Z")), phase,
        Path.of("/work"), new dev.bbdiy.testkit.TestContexts.RecordingProgress(), Cancellations.none(), true, "btrfs", phase == Phase.COMPLETE ? sources : null);
  }

  @Test
  void complete_declares_a_source_and_a_second_one_for_the_same_path_is_refused() {
    EngineContexts.ContentSources sources = new EngineContexts.ContentSources();

    context(Phase.COMPLETE, sources).readFrom(HOME);

    assertThat(sources.get(BackupLayout.HOME)).hasValueSatisfying(d -> {
      assertThat(d.provider()).isEqualTo("btrfs");
      assertThat(d.source()).isEqualTo(HOME);
    });
    assertThatThrownBy(() -> context(Phase.COMPLETE, sources).readFrom(HOME))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("second source");
  }

  @Test
  void other_phases_cannot_declare_sources() {
    EngineContexts.ContentSources sources = new EngineContexts.ContentSources();

    assertThatThrownBy(() -> context(Phase.CAPTURE, sources).readFrom(HOME))
        .isInstanceOf(UnsupportedOperationException.class);
    assertThat(sources.all()).isEmpty();
  }

  @Test
  void a_source_is_the_home_or_a_data_store_with_an_absolute_directory_and_anchored_excludes() {
    assertThatThrownBy(() -> new ContentSource(BackupLayout.DATABASE, Path.of("/x"), List.of()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new ContentSource(BackupLayout.HOME, Path.of("relative"), List.of()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new ContentSource("bitbucket-data-stores/a/../../etc", Path.of("/x"), List.of()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new ContentSource(BackupLayout.HOME, Path.of("/x"), List.of("caches/")))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
