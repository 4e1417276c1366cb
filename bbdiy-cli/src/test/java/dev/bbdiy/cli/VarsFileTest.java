package dev.bbdiy.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.core.ProviderRegistry;
import dev.bbdiy.core.internal.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Atlassian's vars file is bash: what it prints, how long it runs, what it starts and which secrets it holds. */
class VarsFileTest {
  /** Secrets the hostile vars files below define, each of which must never be printed. */
  static final List<String> SECRETS = List.of("Pa55-From-Subst", "it's-Pg-Secret", "My-Sql-Secret", "Aws-Secret-Key",
      "Aws-Session-Tok", "Hook-Token-9", "Other-Pw-77", "Postgres-Pw-5");

  @TempDir Path temp;

  record Run(int code, String out, String err) {
    String all() {
      return out + err;
    }
  }

  Run run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = Main.run(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8), Map.of(), false, args);
    return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  Path vars(String... lines) throws Exception {
    Path f = temp.resolve("bitbucket.diy-backup.vars.sh");
    Files.writeString(f, String.join("\n", lines) + "\n");
    Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
    return f;
  }

  static Config load(Path vars) {
    return Config.load(null, vars, Map.of(), Map.of(), ProviderRegistry.load());
  }

  private static final String[] XTRACE = {
      "set -x",
      "P=$(echo Pa55-From-Subst)",
      "BITBUCKET_URL=http://127.0.0.1:1",
      "BITBUCKET_BACKUP_USER=admin",
      "BITBUCKET_BACKUP_PASS=$P",
      "export PGPASSWORD='it'\\''s-Pg-Secret'",
      "POSTGRES_PASSWORD=\"Postgres-Pw-5\"",
      "MYSQL_PASSWORD=My-Sql-Secret",
      "AWS_SECRET_ACCESS_KEY=Aws-Secret-Key",
      "export AWS_SESSION_TOKEN=Aws-Session-Tok",
      "WEBHOOK_TOKEN=Hook-Token-9",
      "declare -x SOME_PASSWORD_VALUE=Other-Pw-77",
      "echo \"connecting with $PGPASSWORD and $BITBUCKET_BACKUP_PASS\"",
      "printf '%s\\n' \"$MYSQL_PASSWORD\" >&2",
  };

  @Test
  void a_syntax_error_is_reported_without_the_password_on_its_line() throws Exception {
    Path f = vars("BITBUCKET_URL=http://127.0.0.1:1", "BITBUCKET_BACKUP_USER=admin",
        "BITBUCKET_BACKUP_PASS=Pa55-From-Subst)", "if then fi (");

    Run r = run("check", "--vars-file", f.toString(), "--json");

    assertThat(r.code()).as(r.all()).isEqualTo(2);
    assertThat(r.err()).contains("syntax error");
    assertThat(r.all()).doesNotContain("Pa55-From-Subst");
    assertThat(JsonObject.parse(r.out(), "error").object("error").string("message")).contains("syntax error");
  }

  @Test
  void with_xtrace_a_failing_file_shows_its_output_without_any_secret_in_stderr_or_json() throws Exception {
    String[] lines = java.util.Arrays.copyOf(XTRACE, XTRACE.length + 1);
    lines[XTRACE.length] = "false";
    Path f = vars(lines);

    Run r = run("check", "--vars-file", f.toString(), "--json");

    assertThat(r.code()).as(r.all()).isEqualTo(2);
    assertThat(r.err()).contains("+ false", "connecting with ******");
    for (String secret : SECRETS) {
      assertThat(r.all()).as("no %s in %s", secret, r.all()).doesNotContain(secret);
    }
    for (String part : List.of("Pa55", "Pg-Secret", "My-Sql", "Aws-Sec", "Hook-Tok", "Other-Pw", "Postgres-Pw")) {
      assertThat(r.all()).doesNotContain(part);
    }
  }

  @Test
  void with_xtrace_a_good_file_shows_its_output_as_a_warning_without_any_secret() throws Exception {
    Config config = load(vars(XTRACE));

    String warnings = String.join("\n", config.warnings());
    assertThat(warnings).contains("printed", "+ BITBUCKET_BACKUP_PASS=******");
    for (String secret : SECRETS) {
      assertThat(warnings).doesNotContain(secret);
    }
    assertThat(config.values()).containsEntry("bitbucket.user", "admin");
  }

  @Test
  void a_file_that_reads_standard_input_fails_at_once() throws Exception {
    Path f = vars("BITBUCKET_URL=http://127.0.0.1:1", "read -r answer");
    long start = System.nanoTime();

    Run r = run("check", "--vars-file", f.toString());

    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(20));
    assertThat(r.code()).as(r.all()).isEqualTo(2);
    assertThat(r.err()).contains("standard input");
  }

  @Test
  void a_file_that_runs_too_long_is_stopped_with_everything_it_started() throws Exception {
    Path pids = temp.resolve("pids");
    Path f = vars("BITBUCKET_URL=http://127.0.0.1:1",
        "sleep 300 & echo $! >> " + pids,
        "(sleep 301 & echo $! >> " + pids + ")",
        "sleep 302");
    long start = System.nanoTime();

    assertThatThrownBy(() -> VarsFile.load(f, Duration.ofSeconds(1), key -> false))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION))
        .hasMessageContaining("did not finish within 1s");

    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
    assertGone(pids);
  }

  @Test
  void a_process_the_file_leaves_behind_neither_holds_bbdiy_nor_outlives_it() throws Exception {
    Path pids = temp.resolve("pids");
    Path f = vars("BITBUCKET_URL=http://127.0.0.1:1", "sleep 300 & echo $! >> " + pids);
    long start = System.nanoTime();

    VarsFile.Mapped mapped = VarsFile.load(f, Duration.ofSeconds(30), key -> false);

    assertThat(mapped.configuration()).containsEntry("bitbucket.url", "http://127.0.0.1:1");
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
    assertGone(pids);
  }

  private static void assertGone(Path pids) throws Exception {
    List<String> lines = Files.readAllLines(pids);
    assertThat(lines).isNotEmpty();
    long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
    for (String pid : lines) {
      while (ProcessHandle.of(Long.parseLong(pid.trim())).map(ProcessHandle::isAlive).orElse(false)) {
        assertThat(System.nanoTime()).as("process %s still runs", pid).isLessThan(deadline);
        Thread.sleep(20);
      }
    }
  }

  @Test
  void a_failing_command_substitution_is_an_error_with_what_it_printed() throws Exception {
    Path f = vars("BITBUCKET_URL=http://127.0.0.1:1", "BITBUCKET_BACKUP_USER=admin",
        "BITBUCKET_BACKUP_PASS=$(cat " + temp.resolve("missing-password") + ")");

    Run r = run("check", "--vars-file", f.toString());

    assertThat(r.code()).as(r.all()).isEqualTo(2);
    assertThat(r.err()).contains("missing-password: No such file or directory", "exited with 1");
  }

  @Test
  void an_empty_password_is_a_configuration_error_not_an_attempt() throws Exception {
    Path empty = Files.createFile(temp.resolve("empty-password"));
    Path f = vars("BITBUCKET_URL=http://127.0.0.1:1", "BITBUCKET_BACKUP_USER=admin",
        "BITBUCKET_BACKUP_PASS=$(cat " + empty + ")");

    Run r = run("check", "--vars-file", f.toString());

    assertThat(r.code()).as(r.all()).isEqualTo(2);
    assertThat(r.err()).contains("BITBUCKET_BACKUP_PASS", "empty");
  }

  @Test
  void a_file_that_exits_before_its_end_is_an_error() throws Exception {
    Path f = vars("BITBUCKET_URL=http://127.0.0.1:1", "exit 0", "BITBUCKET_BACKUP_USER=admin");

    Run r = run("check", "--vars-file", f.toString());

    assertThat(r.code()).as(r.all()).isEqualTo(2);
    assertThat(r.err()).contains("exit");
  }

  @Test
  void a_readable_vars_file_that_holds_a_password_is_warned_about() throws Exception {
    Path f = vars("BITBUCKET_URL=http://127.0.0.1:1", "BITBUCKET_BACKUP_USER=admin",
        "BITBUCKET_BACKUP_PASS='Pa55-From-Subst'");
    assertThat(load(f).warnings()).noneSatisfy(w -> assertThat(w).contains("chmod"));

    Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
    assertThat(load(f).warnings()).anySatisfy(w -> assertThat(w).contains(f.toString(), "chmod 600")
        .doesNotContain("Pa55-From-Subst"));

    Path secret = temp.resolve("password");
    Files.writeString(secret, "Pa55-From-Subst\n");
    Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
    Files.writeString(f, "BITBUCKET_URL=http://127.0.0.1:1\nBITBUCKET_BACKUP_USER=admin\n"
        + "BITBUCKET_BACKUP_PASS=$(cat " + secret + ")\n");
    assertThat(load(f).warnings()).as("the password is not in the vars file").noneSatisfy(w ->
        assertThat(w).contains("chmod"));
  }
}
