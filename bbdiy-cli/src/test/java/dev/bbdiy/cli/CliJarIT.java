package dev.bbdiy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bbdiy.core.internal.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The shaded jar, run as users run it: a separate process. */
class CliJarIT {
  private static final Path JAR = Path.of(System.getProperty("bbdiy.jar", "target/bbdiy-cli.jar"));

  record Run(int code, String out) {}

  static Run java(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-jar", JAR.toString()));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(5, TimeUnit.MINUTES)).isTrue();
    return new Run(p.exitValue(), out);
  }

  @Test
  void prints_its_version() throws Exception {
    Run r = java("--version");
    assertThat(r.code()).isZero();
    assertThat(r.out()).matches("(?s)bbdiy \\d+\\.\\d+\\.\\d+.*");
  }

  @Test
  void finds_the_providers_of_every_module() throws Exception {
    Run r = java("providers", "--json");
    assertThat(r.code()).as(r.out()).isZero();
    String json = r.out().substring(r.out().indexOf('{'));
    JsonObject parsed = JsonObject.parse(json, "providers");
    assertThat(json).contains("\"copy\"", "\"rsync\"", "\"postgresql\"", "\"tar\"");
    assertThat(parsed.array("loadErrors")).isEmpty();
  }

  @Test
  void the_demo_runs_with_nothing_but_java() throws Exception {
    Run r = java("demo", "--no-database", "--repositories", "2", "--json");
    assertThat(r.code()).as(r.out()).isZero();
    assertThat(r.out()).contains("restored home identical", "\"differences\": []");
    // Records are written field by field: proof the jar's Multi-Release manifest lets Moshi read them.
    assertThat(r.out()).contains("\"lockWindow\"", "\"summary\"");
  }
}
