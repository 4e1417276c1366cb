package dev.bbdiy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bbdiy.api.spi.Provider;
import dev.bbdiy.api.spi.Setting;
import dev.bbdiy.api.spi.SettingType;
import dev.bbdiy.core.ProviderRegistry;
import dev.bbdiy.core.internal.JsonObject;
import dev.bbdiy.simulator.BitbucketHomes;
import dev.bbdiy.testkit.FakeBitbucketExtension;
import dev.bbdiy.simulator.FakeBitbucketServer.Endpoint;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

/** What the command line refuses, warns about and prints, before anything is locked. */
class CommandLineTest {
  @RegisterExtension
  final FakeBitbucketExtension bitbucket = FakeBitbucketExtension.create(b -> b.drainTime(Duration.ofMillis(50)));

  @TempDir Path temp;
  final Map<String, String> env = new HashMap<>();
  Path config;
  Path password;

  record Run(int code, String out, String err) {
    String all() {
      return out + err;
    }
  }

  Run run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = Main.run(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8), env, false, args);
    return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  Run bbdiy(String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.add("--config");
    all.add(config.toString());
    return run(all.toArray(new String[0]));
  }

  @BeforeEach
  void configure() throws Exception {
    BitbucketHomes.generate(temp.resolve("home"), BitbucketHomes.spec().repositories(1).useGit(false));
    password = temp.resolve("password");
    Files.writeString(password, "admin\n");
    Files.setPosixFilePermissions(password, PosixFilePermissions.fromString("rw-------"));
    config = temp.resolve("bbdiy.properties");
    Files.writeString(config, String.join("\n",
        "bitbucket.url=" + bitbucket.url(),
        "bitbucket.user=admin",
        "bitbucket.password.file=" + password,
        "instance.home=" + temp.resolve("home"),
        "work.dir=" + temp.resolve("work"),
        "tar.dir=" + temp.resolve("archives"),
        ""));
    Files.setPosixFilePermissions(config, PosixFilePermissions.fromString("rw-------"));
  }

  /** Asserts a configuration error: exit 2, one line naming the key, no stack trace, Bitbucket never locked. */
  void assertRefusedBeforeLocking(Run r, String key) {
    assertThat(r.code()).as(r.all()).isEqualTo(2);
    assertThat(r.err().strip().lines().toList()).as(r.all()).hasSize(1);
    assertThat(r.err()).contains("ERROR: ", key).doesNotContain("Unexpected", "\tat ", "Exception");
    assertThat(bitbucket.server().calls(Endpoint.LOCK)).isZero();
  }

  @ParameterizedTest(name = "backup --set {0}={1}")
  @CsvSource(delimiter = '|', value = {
      "bitbucket.max-lock-window|1000000000000d",
      "bitbucket.max-lock-window|0",
      "bitbucket.max-lock-window|-1h",
      "bitbucket.drain-timeout|0s",
      "bitbucket.drain-timeout|99999999999999999999",
      "bitbucket.timeout|PT-5S",
      "bitbucket.unlock-retry|0",
      "retention.keep|-1",
      "retention.within|PT-1H",
      "instance.name|a/b",
      "instance.name|-leading-dash",
      "instance.type|jira",
      "postgresql.port|70000",
      "postgresql.port|0",
      "postgresql.jobs|-1",
      "tar.threads|-4",
      "tar.level|99",
      "copy.threads|-1",
      "notify.on|sometimes",
      "notify.webhook|ftp://hooks.example.com/x",
      "bitbucket.url|ftp://bitbucket.example.com",
  })
  void a_bad_value_is_refused_before_anything_is_locked(String key, String value) {
    assertRefusedBeforeLocking(bbdiy("backup", "--set", key + "=" + value), key);
  }

  @Test
  void a_malformed_escape_in_the_properties_file_names_the_line_and_the_key() throws Exception {
    Files.writeString(config, Files.readString(config) + "instance.name=bit\\u12bucket\n");

    Run r = bbdiy("backup");

    assertRefusedBeforeLocking(r, "instance.name");
    assertThat(r.err()).contains(config.toString(), "line 7");
  }

  @Test
  void credentials_in_the_url_are_refused_and_never_printed() {
    String url = bitbucket.url().replace("://", "://admin:Url-Secret-1@");

    Run r = bbdiy("backup", "--json", "--set", "bitbucket.url=" + url);

    assertRefusedBeforeLocking(r, "bitbucket.url");
    assertThat(r.all()).doesNotContain("Url-Secret-1");
    assertThat(JsonObject.parse(r.out(), "error").object("error").string("code")).isEqualTo("CONFIGURATION");
  }

  @Test
  void output_never_shows_user_info_of_a_url() {
    assertThat(Redaction.urls("[https://admin:s3cr@t@bitbucket.example.com/ctx] ERROR: x http://u@h:7990/ ok"))
        .isEqualTo("[https://bitbucket.example.com/ctx] ERROR: x http://h:7990/ ok");
    assertThat(Redaction.urls("https://bitbucket.example.com/a@b")).isEqualTo("https://bitbucket.example.com/a@b");
  }

  @Test
  void an_empty_password_is_refused() throws Exception {
    Files.writeString(config, Files.readString(config).replaceAll("(?m)^bitbucket.password.file=.*\n", "")
        + "bitbucket.password=\n");
    Run r = bbdiy("backup");
    assertRefusedBeforeLocking(r, "bitbucket.password");
    for (Endpoint e : Endpoint.values()) {
      assertThat(bitbucket.server().calls(e)).as("no call with an empty password: %s", e).isZero();
    }
  }

  @Test
  void a_busy_simulator_port_is_a_usage_error() throws Exception {
    try (ServerSocket busy = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Run r = run("simulate", "--port", Integer.toString(busy.getLocalPort()), "--run-for", "100");
      assertThat(r.code()).as(r.all()).isEqualTo(2);
      assertThat(r.err()).contains("--port", Integer.toString(busy.getLocalPort()), "in use")
          .doesNotContain("\tat ");
    }
    for (String[] args : List.of(new String[] {"--port", "70000"}, new String[] {"--port", "-1"},
        new String[] {"--drain", "soon"})) {
      List<String> all = new ArrayList<>(List.of("simulate", "--run-for", "100"));
      all.addAll(List.of(args));
      Run r = run(all.toArray(new String[0]));
      assertThat(r.code()).as(r.all()).isEqualTo(2);
      assertThat(r.err()).contains(args[0]).doesNotContain("\tat ");
    }
  }

  @Test
  void every_numeric_setting_declares_its_range() {
    Map<String, List<Setting>> all = new LinkedHashMap<>(CoreKeys.GROUPS);
    for (Provider p : Config.providers(ProviderRegistry.load()).values()) {
      all.putIfAbsent(p.name(), p.settings());
    }
    List<String> missing = new ArrayList<>();
    all.forEach((prefix, settings) -> settings.stream()
        .filter(s -> s.type() == SettingType.INTEGER || s.type() == SettingType.DURATION)
        .filter(s -> s.min() == null)
        .forEach(s -> missing.add(prefix + "." + s.key())));
    assertThat(missing).isEmpty();
    assertThat(run("providers").out()).contains("postgresql.port (integer, default 5432, 1 to 65535)");
  }

  @Test
  void every_command_takes_help() {
    CommandLine cl = new CommandLine(new Main(System.out, System.err, Map.of(), false));
    assertThat(cl.getSubcommands()).containsKeys("backup", "simulate", "demo", "restore");
    for (String name : cl.getSubcommands().keySet()) {
      for (String option : List.of("--help", "-h")) {
        Run r = run(name, option);
        assertThat(r.code()).as("%s %s: %s", name, option, r.all()).isZero();
        assertThat(r.out()).as("%s %s", name, option).contains("Usage: bbdiy " + name);
      }
    }
  }

  @Nested
  class Warnings {
    @Test
    void a_readable_password_file_is_warned_about_with_the_fix() throws Exception {
      Files.setPosixFilePermissions(password, PosixFilePermissions.fromString("rw-r--r--"));

      Run r = bbdiy("check");

      assertThat(r.code()).as(r.all()).isZero();
      assertThat(r.out()).contains("WARN: ", password.toString(), "bitbucket.password.file", "chmod 600 " + password);
    }

    @Test
    void a_private_password_file_is_not() {
      Run r = bbdiy("check");
      assertThat(r.code()).as(r.all()).isZero();
      assertThat(r.out()).doesNotContain("WARN");
    }
  }

  @Test
  void quiet_prints_the_result_line_only() {
    Run r = bbdiy("backup", "--quiet");

    assertThat(r.code()).as(r.all()).isZero();
    assertThat(r.out().lines().toList()).hasSize(1);
    assertThat(r.out()).contains("complete and verified");
    assertThat(r.err()).isEmpty();

    Run verify = bbdiy("verify", "latest", "-q");
    assertThat(verify.out().lines().toList()).hasSize(1);
    assertThat(verify.out()).contains("intact");
  }
}
