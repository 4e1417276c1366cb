package dev.bbdiy.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bbdiy.api.spi.HomeSnapshotterProvider;
import dev.bbdiy.core.ProviderRegistry;
import dev.bbdiy.testkit.HomeSnapshotterContract;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A custom provider runs the same contract as the built-in ones. */
class ScriptHomeProviderTest extends HomeSnapshotterContract {
  @Override
  protected HomeSnapshotterProvider provider() {
    return new ScriptHomeProvider();
  }

  @Override
  protected Map<String, String> configuration() {
    String rsync = "rsync -a --delete --delete-excluded --exclude-from=\"$BBDIY_EXCLUDE_FILE\" \"$BBDIY_SOURCE/\""
        + " \"$BBDIY_TARGET/\"";
    // The live pass tolerates files that vanish while Bitbucket runs (rsync's exit 24); the locked pass does not,
    // and compares contents (--checksum): the example trades time for the racily-clean case.
    return Map.of("script.prepare", rsync + "; rc=$?; [ $rc -eq 0 ] || [ $rc -eq 24 ]",
        "script.capture", rsync.replace("rsync -a", "rsync -a --checksum"));
  }

  @Test
  void is_found_by_name() {
    assertThat(ProviderRegistry.load().home("script")).isInstanceOf(ScriptHomeProvider.class);
  }
}
