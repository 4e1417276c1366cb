package dev.bbdiy.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bbdiy.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The sample configurations the README points at are valid: every key known, every value well-formed. */
class SampleConfigurationTest {
  @TempDir Path temp;

  private String run(Map<String, String> env, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int code = Main.run(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(out, true, StandardCharsets.UTF_8), env, false, args);
    return code + ":" + out.toString(StandardCharsets.UTF_8);
  }

  @Test
  void the_properties_example_is_valid() throws Exception {
    Path secret = Files.writeString(temp.resolve("secret"), "x\n");
    String config = Files.readString(Path.of("config/bbdiy.properties"))
        .replace("/etc/bbdiy/bitbucket.password", secret.toString())
        .replace("/etc/bbdiy/postgres.password", secret.toString());
    Path file = Files.writeString(temp.resolve("bbdiy.properties"), config);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));

    // `list` loads and validates the whole configuration and builds the engine, without touching Bitbucket.
    Files.createDirectories(temp.resolve("archives"));
    String result = run(Map.of(), "list", "--config", file.toString(), "--set",
        "tar.dir=" + temp.resolve("archives"), "--set", "work.dir=" + temp.resolve("work"));

    assertThat(result).startsWith("0:").contains("No backups yet");
  }

  @Test
  void the_vars_file_example_is_understood() throws Exception {
    String vars = Files.readString(Path.of("config/bitbucket.diy-backup.vars.sh"))
        .replace("$(cat /etc/bbdiy/bitbucket.password)", "x").replace("$(cat /etc/bbdiy/postgres.password)", "x")
        .replace("/backup/bitbucket", temp.toString()).replace("BITBUCKET_UID=atlbitbucket", "BITBUCKET_UID=root")
        .replace("BITBUCKET_GID=atlbitbucket", "BITBUCKET_GID=root");
    Path file = Files.writeString(temp.resolve("vars.sh"), vars);
    Files.createDirectories(temp.resolve("archives"));

    String result = run(Map.of(), "list", "--vars-file", file.toString());

    assertThat(result).startsWith("0:").doesNotContain("not support");
  }
}
