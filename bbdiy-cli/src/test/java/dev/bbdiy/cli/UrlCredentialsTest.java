package dev.bbdiy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Credentials written into {@code bitbucket.url} are refused before anything happens, and never shown: not in the
 * message, not in the prefix of the output lines, not in the JSON.
 */
class UrlCredentialsTest {
  private static final String SECRET = "s3cret-Pa55";

  @TempDir Path temp;

  @ParameterizedTest
  @ValueSource(strings = {"status", "backup", "unlock --recover"})
  void a_url_with_user_info_is_a_configuration_error_that_never_shows_the_password(String command)
      throws Exception {
    Path password = temp.resolve("password");
    Files.writeString(password, "admin\n");
    Path config = temp.resolve("bbdiy.properties");
    Files.writeString(config, String.join("\n",
        "bitbucket.url=https://backup:" + SECRET + "@127.0.0.1:1/bitbucket",
        "bitbucket.user=admin",
        "bitbucket.password.file=" + password,
        "instance.home=" + temp.resolve("home"),
        "work.dir=" + temp.resolve("work"),
        "tar.dir=" + temp.resolve("archives"),
        ""));
    Files.setPosixFilePermissions(config, PosixFilePermissions.fromString("rw-------"));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();

    int code = Main.run(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8), Map.of(), false,
        (command + " --json --config " + config).split(" "));

    String all = out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8);
    assertThat(code).as(all).isEqualTo(2);
    assertThat(all).doesNotContain(SECRET).contains("bitbucket.url", "bitbucket.user");
  }
}
