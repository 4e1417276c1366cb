package dev.bbdiy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The man pages and the completion script the packages ship, generated from the commands' help. */
class DocsTest {
  @TempDir Path temp;

  @Test
  void one_man_page_per_command_and_a_bash_completion_that_knows_the_commands_and_options() throws Exception {
    Docs.main(new String[] {temp.resolve("man").toString(), temp.resolve("bbdiy.bash").toString()});

    try (Stream<Path> s = Files.list(temp.resolve("man"))) {
      assertThat(s.map(p -> p.getFileName().toString()).collect(Collectors.toList())).contains("bbdiy.1",
          "bbdiy-backup.1", "bbdiy-restore.1", "bbdiy-status.1", "bbdiy-cancel.1", "bbdiy-unlock.1")
          .doesNotContain("bbdiy-help.1");
    }
    String cancel = Files.readString(temp.resolve("man/bbdiy-cancel.1"));
    assertThat(cancel).startsWith(".TH BBDIY-CANCEL 1").contains(".SH SYNOPSIS", ".SH OPTIONS",
        "\\fB\\-\\-running\\fR", "\\fB\\-\\-token\\fR \\fITOKEN\\fR", "SEE ALSO");
    assertThat(cancel.lines()).as("no line starts a troff request by accident")
        .allMatch(l -> !l.startsWith("'") && (!l.startsWith(".") || l.matches("\\.(TH|SH|TP|PP|nf|fi)\\b.*")));
    assertThat(Files.readString(temp.resolve("man/bbdiy.1"))).contains("Exit codes", "/etc/bbdiy/bbdiy.properties",
        "bbdiy\\-backup");
    String bash = Files.readString(temp.resolve("bbdiy.bash"));
    assertThat(bash).contains("_picocli_bbdiy", "status", "cancel", "--running", "--progress");
  }

  @Test
  void troff_escapes_what_would_be_read_as_a_request() {
    assertThat(Docs.escape(".hidden")).isEqualTo("\\&.hidden");
    assertThat(Docs.escape("'quoted")).isEqualTo("\\&'quoted");
    assertThat(Docs.escape("a\\b --x")).isEqualTo("a\\eb \\-\\-x");
  }
}
