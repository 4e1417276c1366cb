package dev.bbdiy.dist;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The tarball: unpacked anywhere, its launcher finds its jar, also through a symbolic link on PATH. */
class TarballIT {
  @TempDir Path temp;

  @Test
  void the_unpacked_launcher_runs_the_jar_and_the_tree_holds_docs_completion_units_and_configuration()
      throws Exception {
    Path tarball;
    try (Stream<Path> s = Files.list(DebianPackageIT.DIST)) {
      List<Path> all = s.filter(p -> p.getFileName().toString().matches("bbdiy-.*\\.tar\\.gz"))
          .collect(Collectors.toList());
      assertThat(all).as("the tarball the build made in %s", DebianPackageIT.DIST).hasSize(1);
      tarball = all.get(0);
    }
    DebianPackageIT.ok("tar", "-xzf", tarball.toString(), "-C", temp.toString());
    Path top;
    try (Stream<Path> s = Files.list(temp)) {
      top = s.findFirst().orElseThrow();
    }
    assertThat(top.getFileName().toString()).startsWith("bbdiy-");
    for (String f : List.of("bin/bbdiy", "share/bbdiy/bbdiy.jar", "share/man/man1/bbdiy.1.gz",
        "share/man/man1/bbdiy-backup.1.gz", "share/bash-completion/completions/bbdiy",
        "lib/systemd/system/bbdiy.service", "lib/systemd/system/bbdiy.timer", "etc/bbdiy/bbdiy.properties",
        "share/doc/bbdiy/README.md")) {
      assertThat(top.resolve(f)).as(f).exists();
    }
    assertThat(Files.isExecutable(top.resolve("bin/bbdiy"))).isTrue();
    assertThat(DebianPackageIT.ok(top.resolve("bin/bbdiy").toString(), "--version").output()).startsWith("bbdiy ");
    Path link = Files.createSymbolicLink(temp.resolve("bbdiy-on-path"), top.resolve("bin/bbdiy"));
    assertThat(DebianPackageIT.ok(link.toString(), "--version").output()).startsWith("bbdiy ");
    DebianPackageIT.Result noJar = DebianPackageIT.sh(Duration.ofMinutes(1), "env", "BBDIY_JAR=" + temp.resolve("x"),
        link.toString(), "--version");
    assertThat(noJar.code()).isEqualTo(2);
    assertThat(noJar.output()).contains("cannot read", "BBDIY_JAR");
  }
}
