package dev.bbdiy.snapshot;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Installs the fake LVM or ZFS executables of {@code src/test/resources/fake} into a bin directory, with their state
 * directory baked in: the providers find them through their {@code bin-dir} setting, exactly as real tools on a PATH.
 */
final class FakeTools {
  final Path bin;
  final Path state;

  private FakeTools(Path bin, Path state) {
    this.bin = bin;
    this.state = state;
  }

  static FakeTools install(Path dir, String resource, List<String> names, Map<String, Path> variables)
      throws IOException {
    Path bin = Files.createDirectories(dir.resolve("bin"));
    Path state = Files.createDirectories(dir.resolve("state"));
    String script;
    try (InputStream in = Objects.requireNonNull(FakeTools.class.getResourceAsStream("/fake/" + resource), resource)) {
      script = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    StringBuilder header = new StringBuilder("S='" + state + "'\n");
    variables.forEach((k, v) -> header.append(k).append("='").append(v).append("'\n"));
    script = script.replaceFirst("\n", "\n" + header.toString().replace("\\", "\\\\").replace("$", "\\$"));
    for (String name : names) {
      Path f = bin.resolve(name);
      Files.writeString(f, script);
      Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    Files.writeString(state.resolve("log"), "");
    return new FakeTools(bin, state);
  }

  void set(String file, String content) throws IOException {
    Files.writeString(state.resolve(file), content);
  }

  List<String> log() throws IOException {
    return Files.readAllLines(state.resolve("log"));
  }

  List<String> lines(String file) throws IOException {
    Path f = state.resolve(file);
    return Files.exists(f) ? Files.readAllLines(f).stream().filter(l -> !l.isBlank()).toList() : List.of();
  }
}
