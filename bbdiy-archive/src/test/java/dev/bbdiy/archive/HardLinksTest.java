package dev.bbdiy.archive;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bbdiy.kit.FileMeta;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hard links are found in walk order, forgotten once every link was seen, and bounded in memory. */
class HardLinksTest {
  @TempDir Path temp;

  @Test
  void later_names_link_to_the_first_and_a_file_is_forgotten_once_all_its_links_were_seen() throws Exception {
    Path a = Files.writeString(temp.resolve("a"), "x");
    Files.createLink(temp.resolve("b"), a);
    Files.createLink(temp.resolve("c"), a);
    HardLinks links = new HardLinks(1);

    assertThat(links.firstName(FileMeta.read(a), "a")).isNull();
    assertThat(links.firstName(FileMeta.read(temp.resolve("b")), "b")).isEqualTo("a");
    assertThat(links.firstName(FileMeta.read(temp.resolve("c")), "c")).isEqualTo("a");

    // Forgotten: a second file fits in a limit of one.
    Path d = Files.writeString(temp.resolve("d"), "y");
    Files.createLink(temp.resolve("e"), d);
    assertThat(links.firstName(FileMeta.read(d), "d")).isNull();
    assertThat(links.firstName(FileMeta.read(temp.resolve("e")), "e")).isEqualTo("d");
    assertThat(links.unlinked()).isZero();
  }

  @Test
  void past_the_limit_files_are_stored_whole_and_counted() throws Exception {
    Path a = Files.writeString(temp.resolve("a"), "x");
    Files.createLink(temp.resolve("a2"), a);
    Path b = Files.writeString(temp.resolve("b"), "y");
    Files.createLink(temp.resolve("b2"), b);
    HardLinks links = new HardLinks(1);

    assertThat(links.firstName(FileMeta.read(a), "a")).isNull();
    assertThat(links.firstName(FileMeta.read(b), "b")).isNull();
    assertThat(links.firstName(FileMeta.read(temp.resolve("b2")), "b2")).isNull();
    assertThat(links.firstName(FileMeta.read(temp.resolve("a2")), "a2")).isEqualTo("a");
    assertThat(links.unlinked()).isEqualTo(2); // b and b2, each stored whole
  }
}
