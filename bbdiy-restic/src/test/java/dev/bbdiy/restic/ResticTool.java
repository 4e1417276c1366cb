package dev.bbdiy.restic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.spi.Archiver;
import dev.bbdiy.testkit.TestContexts;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** The real restic for tests: a local repository with a password file, and restic run directly. */
final class ResticTool {
  private ResticTool() {}

  /** Fails, naming the package, when restic is not installed: tests never skip silently. */
  static void requireRestic() {
    try {
      Process p = new ProcessBuilder("restic", "version").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(out).contains("restic 0.");
    } catch (IOException | InterruptedException e) {
      fail("restic is not installed: apt-get install restic (scripts/test.sh installs it)", e);
    }
  }

  static Path passwordFile(Path dir) throws IOException {
    Path f = dir.resolve("restic-password");
    if (!Files.exists(f)) {
      Files.writeString(f, "correct horse battery staple\n");
      Files.setPosixFilePermissions(f, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    }
    return f;
  }

  static Map<String, String> config(Path repository, Path passwordFile) {
    Map<String, String> c = new HashMap<>();
    c.put("restic.repository", repository.toString());
    c.put("restic.password-file", passwordFile.toString());
    c.put("restic.init", "true");
    return c;
  }

  static Archiver archiver(Map<String, String> config, Path workDir) {
    ResticArchiverProvider provider = new ResticArchiverProvider();
    return provider.create(TestContexts.providerContext(provider, config,
        BitbucketInstance.of("bitbucket", workDir), workDir));
  }

  /** Runs restic on {@code repository} and returns its exit code and output. */
  static Run run(Path repository, Path passwordFile, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("restic"));
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    pb.environment().put("RESTIC_REPOSITORY", repository.toString());
    pb.environment().put("RESTIC_PASSWORD_FILE", passwordFile.toString());
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor();
    return new Run(p.exitValue(), out);
  }

  record Run(int exitCode, String output) {}

  /** Returns the repository's pack files, largest first. */
  static List<Path> packs(Path repository) throws IOException {
    try (var s = Files.walk(repository.resolve("data"))) {
      return s.filter(Files::isRegularFile).sorted((a, b) -> {
        try {
          return Long.compare(Files.size(b), Files.size(a));
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }).toList();
    }
  }
}
