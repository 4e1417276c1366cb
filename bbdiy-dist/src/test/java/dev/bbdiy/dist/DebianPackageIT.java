package dev.bbdiy.dist;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bbdiy.simulator.BitbucketHomes;
import dev.bbdiy.simulator.FakeBitbucketServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Installs the Debian package this build made on this machine, as root, and uses it as an administrator would:
 * {@code dpkg -i}, {@code bbdiy --version} and {@code bbdiy demo} through the launcher on PATH, the man pages and
 * completion, {@code systemd-analyze verify} of the units, the service's ExecStart run by hand as the service's
 * user against a simulated Bitbucket (no systemd runs as PID 1 here, so the unit itself is not started), then
 * {@code dpkg -r} and {@code dpkg --purge}. Fails (never skips) when not root or when bbdiy is installed already.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DebianPackageIT {
  static final Path DIST = Path.of(System.getProperty("bbdiy.dist.dir", "target"));
  static Path deb;
  static boolean installed;

  record Result(int code, String output) {}

  static Result sh(Duration timeout, String... command) throws IOException, InterruptedException {
    Path log = Files.createTempFile("bbdiy-it", ".log");
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
      if (!p.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new AssertionError(String.join(" ", command) + " did not end within " + timeout + ": "
            + Files.readString(log));
      }
      return new Result(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(log);
    }
  }

  static Result sh(String... command) throws IOException, InterruptedException {
    return sh(Duration.ofMinutes(3), command);
  }

  static Result ok(String... command) throws IOException, InterruptedException {
    Result r = sh(command);
    assertThat(r.code()).as("%s:%n%s", String.join(" ", command), r.output()).isZero();
    return r;
  }

  @BeforeAll
  static void install() throws Exception {
    assertThat(System.getProperty("user.name")).as("this test installs a package: run it as root (scripts/test.sh"
        + " does), or leave out bbdiy-dist (-pl '!bbdiy-dist')").isEqualTo("root");
    for (String tool : List.of("dpkg", "systemd-analyze", "runuser", "man")) {
      assertThat(sh("sh", "-c", "command -v " + tool).code()).as("%s is missing: scripts/test.sh installs it"
          + " (packages dpkg, systemd, util-linux, man-db)", tool).isZero();
    }
    try (Stream<Path> s = Files.list(DIST)) {
      List<Path> debs = s.filter(p -> p.getFileName().toString().matches("bbdiy_.*_all\\.deb"))
          .collect(Collectors.toList());
      assertThat(debs).as("the package the build made in %s", DIST).hasSize(1);
      deb = debs.get(0);
    }
    assertThat(sh("dpkg-query", "-W", "-f=${Status}", "bbdiy").output()).as("bbdiy is installed on this"
        + " machine already; this test would replace and remove it: remove it first (dpkg -r bbdiy)")
        .doesNotContain("install ok installed");
    ok("dpkg", "-i", deb.toString());
    installed = true;
  }

  @AfterAll
  static void removeIfStillInstalled() throws Exception {
    if (installed) {
      sh("dpkg", "--purge", "bbdiy");
    }
  }

  @Test
  @Order(1)
  void the_package_installs_the_launcher_jar_docs_completion_and_a_private_configuration() throws Exception {
    Result contents = ok("dpkg", "-c", deb.toString());
    assertThat(contents.output()).contains("./usr/bin/bbdiy", "./usr/share/bbdiy/bbdiy.jar",
        "./usr/share/man/man1/bbdiy.1.gz", "./usr/share/man/man1/bbdiy-backup.1.gz",
        "./usr/share/man/man1/bbdiy-status.1.gz", "./usr/share/bash-completion/completions/bbdiy",
        "./lib/systemd/system/bbdiy.service", "./lib/systemd/system/bbdiy.timer", "./etc/bbdiy/bbdiy.properties");
    assertThat(ok("dpkg-query", "-W", "-f=${Conffiles}", "bbdiy").output()).contains("/etc/bbdiy/bbdiy.properties");
    Result version = ok("bbdiy", "--version");
    assertThat(version.output()).startsWith("bbdiy ").contains("Java 1", "Java ");
    assertThat(ok("stat", "-c", "%a %U %G", "/etc/bbdiy/bbdiy.properties").output().trim())
        .isEqualTo("600 bbdiy bbdiy");
    assertThat(ok("getent", "passwd", "bbdiy").output()).contains("/usr/sbin/nologin");
    assertThat(ok("stat", "-c", "%a %U", "/var/lib/bbdiy").output().trim()).isEqualTo("700 bbdiy");
    Result man = ok("sh", "-c", "MANPAGER=cat man -P cat bbdiy-cancel 2>&1 | col -b");
    assertThat(man.output()).contains("bbdiy-cancel", "--running");
    Result completion = ok("bash", "-c", "source /usr/share/bash-completion/completions/bbdiy"
        + " && COMP_WORDS=(bbdiy sta) COMP_CWORD=1 COMP_LINE='bbdiy sta' COMP_POINT=9 && _picocli_bbdiy"
        + " && printf '%s\\n' \"${COMPREPLY[@]}\"");
    assertThat(completion.output()).contains("status");
  }

  @Test
  @Order(2)
  void demo_runs_through_the_launcher() throws Exception {
    Path dir = Files.createTempDirectory("bbdiy-demo-it");
    try {
      Result demo = sh(Duration.ofMinutes(5), "bbdiy", "demo", "--no-database", "--dir", dir.toString());
      assertThat(demo.code()).as(demo.output()).isZero();
      assertThat(demo.output()).contains("Demo summary", "verify      intact",
          "restored home identical to the original");
    } finally {
      sh("rm", "-rf", dir.toString());
    }
  }

  @Test
  @Order(3)
  void the_units_pass_systemd_analyze_verify() throws Exception {
    Result verify = sh("systemd-analyze", "verify", "/lib/systemd/system/bbdiy.service",
        "/lib/systemd/system/bbdiy.timer");
    assertThat(verify.code()).as(verify.output()).isZero();
    assertThat(verify.output()).as("no warning about the units").doesNotContain("bbdiy.service:", "bbdiy.timer:");
    Result security = ok("systemd-analyze", "security", "--offline=true", "--no-pager",
        "/lib/systemd/system/bbdiy.service");
    java.util.regex.Matcher exposure = java.util.regex.Pattern.compile("Overall exposure level for bbdiy.service:"
        + " ([0-9.]+)").matcher(security.output());
    assertThat(exposure.find()).as(security.output()).isTrue();
    assertThat(Double.parseDouble(exposure.group(1))).as("systemd's exposure score (3.3 when written)")
        .isLessThan(4.0);
    String unit = Files.readString(Path.of("/lib/systemd/system/bbdiy.service"));
    assertThat(unit).contains("User=bbdiy", "ProtectSystem=strict", "NoNewPrivileges=true", "PrivateTmp=true",
        "StateDirectory=bbdiy");
  }

  @Test
  @Order(4)
  void the_services_command_line_backs_up_as_the_bbdiy_user() throws Exception {
    String unit = Files.readString(Path.of("/lib/systemd/system/bbdiy.service"));
    String execStart = unit.lines().filter(l -> l.startsWith("ExecStart=")).findFirst().orElseThrow()
        .substring("ExecStart=".length());
    Path home = Files.createTempDirectory(Path.of("/var/tmp"), "bbdiy-it-home");
    List<Path> before = archives();
    Path config = Path.of("/etc/bbdiy/bbdiy.properties");
    byte[] shipped = Files.readAllBytes(config);
    Path password = Path.of("/etc/bbdiy/it-bitbucket.password");
    try (FakeBitbucketServer bitbucket = FakeBitbucketServer.builder().drainTime(Duration.ofMillis(50)).start()) {
      BitbucketHomes.generate(home.resolve("home"), BitbucketHomes.spec().repositories(1).useGit(false));
      ok("chmod", "-R", "a+rX", home.toString());
      Files.writeString(password, bitbucket.adminPassword() + "\n");
      ok("chown", "bbdiy:bbdiy", password.toString());
      Files.setPosixFilePermissions(password, PosixFilePermissions.fromString("rw-------"));
      Files.write(config, (new String(shipped, StandardCharsets.UTF_8) + String.join("\n",
          "bitbucket.url=" + bitbucket.url(),
          "bitbucket.user=" + bitbucket.adminUser(),
          "bitbucket.password.file=" + password,
          "instance.home=" + home.resolve("home"),
          "work.dir=/var/lib/bbdiy/work",
          "database.type=none",
          "tar.dir=/var/backups/bbdiy",
          "")).getBytes(StandardCharsets.UTF_8));

      // As systemd would: the service's user, its state directory in the environment, its command line.
      List<String> cmd = new ArrayList<>(List.of("runuser", "-u", "bbdiy", "--", "env",
          "STATE_DIRECTORY=/var/lib/bbdiy"));
      cmd.addAll(List.of(execStart.split(" ")));
      Result backup = sh(Duration.ofMinutes(5), cmd.toArray(new String[0]));

      assertThat(backup.code()).as(backup.output()).isZero();
      assertThat(backup.output()).contains("complete and verified").doesNotContain(bitbucket.adminPassword() + "\n");
      assertThat(bitbucket.isLocked()).isFalse();
      List<Path> made = new ArrayList<>(archives());
      made.removeAll(before);
      assertThat(made).isNotEmpty();
      for (Path p : made) {
        assertThat(ok("stat", "-c", "%U", p.toString()).output().trim()).isEqualTo("bbdiy");
      }
      for (Path p : made) {
        Files.deleteIfExists(p);
      }
    } finally {
      Files.write(config, shipped);
      Files.deleteIfExists(password);
      sh("rm", "-rf", home.toString(), "/var/lib/bbdiy/work");
    }
  }

  private static List<Path> archives() throws IOException {
    try (Stream<Path> s = Files.list(Path.of("/var/backups/bbdiy"))) {
      return s.collect(Collectors.toList());
    }
  }

  @Test
  @Order(5)
  void remove_keeps_the_configuration_and_purge_removes_it() throws Exception {
    ok("dpkg", "-r", "bbdiy");
    assertThat(Path.of("/usr/bin/bbdiy")).doesNotExist();
    assertThat(Path.of("/usr/share/bbdiy/bbdiy.jar")).doesNotExist();
    assertThat(Path.of("/etc/bbdiy/bbdiy.properties")).as("a conffile stays until purge").exists();

    ok("dpkg", "--purge", "bbdiy");
    installed = false;
    assertThat(Path.of("/etc/bbdiy/bbdiy.properties")).doesNotExist();
    assertThat(Path.of("/var/lib/bbdiy")).doesNotExist();
    assertThat(Path.of("/var/backups/bbdiy")).as("the backups stay").exists();
  }
}
