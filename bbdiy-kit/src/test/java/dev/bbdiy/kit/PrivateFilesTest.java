package dev.bbdiy.kit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PrivateFilesTest {
  @TempDir Path temp;

  @Test
  void replace_directory_swaps_in_the_new_content_and_leaves_nothing_of_the_old() throws Exception {
    Path target = Files.createDirectories(temp.resolve("bitbucket-db"));
    Files.writeString(target.resolve("stale.dat"), "earlier run");
    Path fresh = Files.createDirectories(temp.resolve(".bitbucket-db.new"));
    Files.writeString(fresh.resolve("toc.dat"), "this run");

    PrivateFiles.replaceDirectory(target, fresh);

    assertThat(target.resolve("toc.dat")).hasContent("this run");
    assertThat(target.resolve("stale.dat")).doesNotExist();
    assertThat(fresh).doesNotExist();
    try (var s = Files.list(temp)) {
      assertThat(s.toList()).containsExactly(target);
    }
  }

  @Test
  void replace_directory_creates_it_the_first_time() throws Exception {
    Path fresh = Files.createDirectories(temp.resolve(".new"));
    Files.writeString(fresh.resolve("a"), "a");

    PrivateFiles.replaceDirectory(temp.resolve("bitbucket-db"), fresh);

    assertThat(temp.resolve("bitbucket-db/a")).hasContent("a");
  }
}
