package dev.bbdiy.cli;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.Setting;
import dev.bbdiy.core.ProviderRegistry;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;

/**
 * Reads Atlassian's {@code bitbucket.diy-backup.vars.sh} the way their scripts do: it is bash, so bash sources it
 * (its {@code case} and {@code if} blocks, arrays and command substitutions included) with {@code set -e}, as
 * their scripts do, and hands back every variable it set. {@link VarsMapping} turns them into configuration keys;
 * those bbdiy has no use for are reported, not ignored.
 *
 * <p>The file runs without standard input and for at most {@link #TIME_LIMIT}; whatever it started is killed when
 * it ends. What it prints is shown (as the error when it fails, as a warning otherwise) with every secret it
 * defines hidden: the values of variables that map to secret settings and of every {@code *PASS*}, {@code
 * *SECRET*}, {@code *TOKEN*}... variable.
 */
final class VarsFile {
  /** How long sourcing may take. */
  static final Duration TIME_LIMIT = Duration.ofMinutes(1);
  /** The environment variables the file sees; nothing else of bbdiy's environment (BBDIY_* secrets) reaches it. */
  static final Set<String> PASSED = Set.of("PATH", "HOME", "USER", "LANG", "LC_ALL", "TZ");
  /** Lines of the file's output shown at most. */
  private static final int SHOWN_LINES = 30;
  /** Bytes of the file's output kept at most (the end of it). */
  private static final int KEPT_BYTES = 64 * 1024;

  /** Prints, NUL-separated, the variables the file set: S name value, or A name count item..., then E. */
  private static final String DUMP = String.join("\n",
      "__bbdiy_before=\" $(compgen -v | tr '\\n' ' ') \"",
      "set -e",
      "source \"$1\" 1>&2",
      "{ set +xv; } 2>/dev/null",
      "set +euo pipefail",
      "trap - DEBUG ERR RETURN EXIT",
      "for __bbdiy_v in $(compgen -v); do",
      "  case \"$__bbdiy_before\" in *\" $__bbdiy_v \"*) continue;; esac",
      "  case \"$__bbdiy_v\" in __bbdiy_*|PIPESTATUS|BASH_*|COMP_*|_) continue;; esac",
      "  if [[ \"$(declare -p \"$__bbdiy_v\" 2>/dev/null)\" == 'declare -a'* ]]; then",
      "    eval \"__bbdiy_n=\\${#${__bbdiy_v}[@]}\"",
      "    builtin printf 'A\\0%s\\0%s\\0' \"$__bbdiy_v\" \"$__bbdiy_n\" >> \"$2\"",
      "    eval 'for __bbdiy_e in \"${'\"$__bbdiy_v\"'[@]}\"; do builtin printf \"%s\\0\" \"$__bbdiy_e\" >> \"$2\"; done'",
      "  elif [[ \"$(declare -p \"$__bbdiy_v\" 2>/dev/null)\" != 'declare -A'* ]]; then",
      "    builtin printf 'S\\0%s\\0%s\\0' \"$__bbdiy_v\" \"${!__bbdiy_v}\" >> \"$2\"",
      "  fi",
      "done",
      "builtin printf 'E\\0' >> \"$2\"",
      "");

  /**
   * What the variables became.
   *
   * @param configuration configuration keys and their values
   * @param warnings what the user should know: unsupported variables, what the file printed (secrets hidden)
   * @param origins for each configuration key, the variable it came from
   */
  record Mapped(Map<String, String> configuration, List<String> warnings, Map<String, String> origins) {}

  /**
   * What sourcing the file left.
   *
   * @param variables every variable the file set, arrays as lists (what was read before it failed, if it did)
   * @param output what the file printed, standard output and error together (the end of it)
   * @param exitCode bash's exit code, or -1 if it was stopped
   * @param timedOut whether it ran out of time and was stopped
   * @param complete whether every variable was read (the file did not end bash early)
   */
  record Sourced(Map<String, List<String>> variables, String output, int exitCode, boolean timedOut,
      boolean complete) {}

  private VarsFile() {}

  /**
   * Sources {@code file} with bash, within {@link #TIME_LIMIT}, and maps what it sets.
   *
   * @param registry the installed providers: their settings declare the variables they take
   * @param later the keys the configuration file, the environment and {@code --set} give, which override the
   *     file's (they decide which providers are selected)
   * @param environment bbdiy's environment: the file sees its {@link #PASSED}
   */
  static Mapped load(Path file, ProviderRegistry registry, Map<String, String> later,
      Map<String, String> environment) {
    return load(file, TIME_LIMIT, registry, later, environment, key -> false);
  }

  /** Sources {@code file} within {@code limit} and maps it for the providers on the class path. */
  static Mapped load(Path file, Duration limit, Predicate<String> secretKey) {
    return load(file, limit, ProviderRegistry.load(), Map.of(), Map.of(), secretKey);
  }

  private static Mapped load(Path file, Duration limit, ProviderRegistry registry, Map<String, String> later,
      Map<String, String> environment, Predicate<String> alsoSecret) {
    Set<String> secretKeys = Config.secretKeys(registry);
    Predicate<String> secretKey = key -> secretKeys.contains(key) || alsoSecret.test(key);
    Sourced sourced = source(file, limit, environment);
    VarsMapping.Result mapped = null;
    BbdiyException mappingFailure = null;
    try {
      mapped = VarsMapping.map(sourced.variables(), registry, later);
    } catch (BbdiyException e) {
      mappingFailure = e;
    }
    Set<String> secretVariables = new LinkedHashSet<>(secretVariables(registry));
    secretVariables.retainAll(sourced.variables().keySet());
    for (String name : sourced.variables().keySet()) {
      if (Redaction.secretName(name)) {
        secretVariables.add(name);
      }
    }
    if (mapped != null) {
      mapped.origins().forEach((key, variable) -> {
        if (secretKey.test(key)) {
          secretVariables.add(variable);
        }
      });
    }
    List<String> secretValues = new ArrayList<>();
    for (String name : secretVariables) {
      secretValues.addAll(sourced.variables().getOrDefault(name, List.of()));
    }
    Redaction redaction = Redaction.of(secretVariables, secretValues);
    String shown = shown(" Its output (secrets hidden)", redaction.redact(sourced.output()));
    if (sourced.timedOut()) {
      throw BbdiyException.configuration("Sourcing the vars file " + file + " with bash did not finish within "
          + human(limit) + ", so bbdiy stopped it and everything it started. A vars file only sets variables;"
          + " it runs without standard input, so it cannot ask for anything." + shown);
    }
    if (sourced.exitCode() != 0 || !sourced.complete() || sourced.output().contains("syntax error")
        || sourced.output().contains("unexpected end of file")) {
      String why = sourced.exitCode() != 0 ? "it exited with " + sourced.exitCode() + " (bbdiy sources it with"
          + " set -e, as Atlassian's scripts do, and without standard input: a command that fails or reads input"
          + " stops it)" : !sourced.complete() ? "it ended bash (exit) before its variables could be read"
          : "it has a syntax error";
      throw BbdiyException.configuration("bash could not source the vars file " + file + ": " + why + "." + shown);
    }
    if (mappingFailure != null) {
      throw BbdiyException.configuration(mappingFailure.getMessage() + " (vars file " + file + ")");
    }
    VarsMapping.Result m = Objects.requireNonNull(mapped);
    for (Map.Entry<String, String> empty : m.emptySecrets().entrySet()) {
      throw BbdiyException.configuration(empty.getKey() + " is empty in the vars file " + file + " ("
          + empty.getValue() + "): set it, or remove it and set " + empty.getValue() + ".file=<path> in the"
          + " configuration file; bbdiy never tries an empty password.");
    }
    List<String> warnings = new ArrayList<>(m.warnings());
    if (!sourced.output().isBlank()) {
      warnings.add(shown("the vars file " + file + " printed (secrets hidden)", redaction.redact(sourced.output()))
          .strip());
    }
    checkPrivate(file, secretValues, warnings);
    return new Mapped(m.configuration(), warnings, m.origins());
  }

  /** Returns every variable a secret setting declares, bbdiy's and every installed provider's. */
  private static Set<String> secretVariables(ProviderRegistry registry) {
    Set<String> out = new LinkedHashSet<>();
    CoreKeys.GROUPS.values().forEach(list -> list.stream().filter(Setting::secret)
        .forEach(s -> out.addAll(s.varsFile())));
    for (ProviderRegistry.Entry e : registry.entries()) {
      e.provider().settings().stream().filter(Setting::secret).forEach(s -> out.addAll(s.varsFile()));
    }
    return out;
  }

  /** Warns when others can read a vars file that holds a secret itself (not one it reads from elsewhere). */
  private static void checkPrivate(Path file, List<String> secretValues, List<String> warnings) {
    if (secretValues.isEmpty() || !Config.readableByOthers(file)) {
      return;
    }
    try {
      String text = Files.readString(file, StandardCharsets.ISO_8859_1);
      for (String v : secretValues) {
        String raw = new String(v.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
        // Assigned as it is, not read from elsewhere ($(cat file)): =value, ='value' or ="value".
        if (!v.isEmpty() && (text.contains("=" + raw) || text.contains("='" + raw + "'")
            || text.contains("=\"" + raw + "\""))) {
          warnings.add("the vars file " + file + " holds a password and other users can read it: run 'chmod 600 "
              + file + "'");
          return;
        }
      }
    } catch (IOException ignored) {
      // it was readable a moment ago; nothing to warn about
    }
  }

  /** Returns {@code intro}, then the last lines of {@code output}, indented; nothing if there is no output. */
  private static String shown(String intro, String output) {
    List<String> lines = output.strip().lines().toList();
    if (lines.isEmpty()) {
      return "";
    }
    int hidden = Math.max(0, lines.size() - SHOWN_LINES);
    return intro + (hidden > 0 ? ", its last " + SHOWN_LINES + " lines" : "") + ":\n  "
        + String.join("\n  ", lines.subList(hidden, lines.size()));
  }

  private static String human(Duration d) {
    return d.toMillis() % 60_000 == 0 ? d.toMinutes() == 1 ? "a minute" : d.toMinutes() + " minutes"
        : d.toMillis() % 1000 == 0 ? d.toSeconds() + "s" : d.toMillis() + "ms";
  }

  /**
   * Returns every variable {@code file} sets, arrays as lists, and what it printed.
   *
   * @param environment the variables among {@link #PASSED} to give the file instead of this process's own
   */
  static Sourced source(Path file, Duration limit, Map<String, String> environment) {
    if (!Files.isRegularFile(file)) {
      throw BbdiyException.configuration("The vars file " + file + " does not exist");
    }
    Path out = null;
    try {
      out = Files.createTempFile("bbdiy-vars-", ".bin");
      List<String> cmd = new ArrayList<>();
      String setsid = setsid();
      if (setsid != null) {
        cmd.addAll(List.of(setsid, "--wait")); // its own process group: everything it starts can be killed
      }
      cmd.addAll(List.of("bash", "-c", DUMP, "bbdiy-vars", file.toAbsolutePath().toString(), out.toString()));
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
          .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
      pb.environment().keySet().removeIf(k -> !PASSED.contains(k));
      for (String k : PASSED) {
        if (environment.containsKey(k)) {
          pb.environment().put(k, environment.get(k));
        }
      }
      Process p = pb.start();
      Tail tail = new Tail(p.getInputStream());
      Thread reader = new Thread(tail, "bbdiy-vars-output");
      reader.setDaemon(true);
      reader.start();
      boolean exited;
      try {
        exited = p.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS);
      } finally {
        killAll(p, setsid != null);
      }
      if (!exited) {
        p.waitFor(10, TimeUnit.SECONDS);
      }
      reader.join(2000);
      String output = tail.text();
      if (!exited) {
        return new Sourced(Map.of(), output, -1, true, false);
      }
      byte[] bytes = Files.readAllBytes(out);
      boolean complete = bytes.length >= 2 && bytes[bytes.length - 2] == 'E' && bytes[bytes.length - 1] == 0
          && (bytes.length == 2 || bytes[bytes.length - 3] == 0);
      return new Sourced(parse(complete ? java.util.Arrays.copyOf(bytes, bytes.length - 2) : bytes), output,
          p.exitValue(), false, complete);
    } catch (IOException e) {
      throw BbdiyException.configuration("Cannot read the vars file " + file + " with bash (is bash installed?): "
          + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BbdiyException(ErrorCode.INTERRUPTED, "Stopped sourcing the vars file " + file + " (and what it"
          + " started): bbdiy was interrupted");
    } finally {
      if (out != null) {
        try {
          Files.deleteIfExists(out);
        } catch (IOException ignored) {
          // a 0600 temp file holding what the user's own file holds
        }
      }
    }
  }

  private static @Nullable String setsid() {
    for (String dir : List.of("/usr/bin", "/bin")) {
      Path p = Path.of(dir, "setsid");
      if (Files.isExecutable(p)) {
        return p.toString();
      }
    }
    return null;
  }

  /** Kills whatever the file started that is still running: its process group, and its descendants. */
  private static void killAll(Process p, boolean ownGroup) throws InterruptedException {
    List<ProcessHandle> all = new ArrayList<>();
    p.descendants().forEach(all::add);
    if (p.isAlive()) {
      all.add(p.toHandle());
    }
    all.forEach(ProcessHandle::destroyForcibly);
    if (ownGroup) {
      // Background processes whose parent ended are no longer descendants; they are still in the group.
      try {
        Process kill = new ProcessBuilder("kill", "-KILL", "--", "-" + p.pid())
            .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (!kill.waitFor(5, TimeUnit.SECONDS)) {
          kill.destroyForcibly();
        }
      } catch (IOException noKill) {
        // the descendants were killed above
      }
    }
  }

  /** Keeps the end of a stream. */
  private static final class Tail implements Runnable {
    private final InputStream in;
    private final ByteArrayOutputStream kept = new ByteArrayOutputStream();

    Tail(InputStream in) {
      this.in = in;
    }

    @Override
    public void run() {
      byte[] buf = new byte[8192];
      try (in) {
        int n;
        while ((n = in.read(buf)) >= 0) {
          synchronized (kept) {
            kept.write(buf, 0, n);
            if (kept.size() > 2 * KEPT_BYTES) {
              byte[] all = kept.toByteArray();
              kept.reset();
              kept.write(all, all.length - KEPT_BYTES, KEPT_BYTES);
            }
          }
        }
      } catch (IOException ignored) {
        // the process ended
      }
    }

    String text() {
      synchronized (kept) {
        return kept.toString(StandardCharsets.UTF_8);
      }
    }
  }

  private static Map<String, List<String>> parse(byte[] bytes) {
    List<String> fields = new ArrayList<>();
    int start = 0;
    for (int i = 0; i < bytes.length; i++) {
      if (bytes[i] == 0) {
        fields.add(new String(bytes, start, i - start, StandardCharsets.UTF_8));
        start = i + 1;
      }
    }
    Map<String, List<String>> vars = new TreeMap<>();
    try {
      readFields(fields, vars);
    } catch (RuntimeException incomplete) {
      // cut off mid-record (the file was stopped): what was read before stays
    }
    return vars;
  }

  private static void readFields(List<String> fields, Map<String, List<String>> vars) {
    for (int i = 0; i < fields.size(); ) {
      String kind = fields.get(i);
      String name = fields.get(i + 1);
      if (kind.equals("S")) {
        vars.put(name, List.of(fields.get(i + 2)));
        i += 3;
      } else {
        int n = Integer.parseInt(fields.get(i + 2));
        vars.put(name, List.copyOf(fields.subList(i + 3, i + 3 + n)));
        i += 3 + n;
      }
    }
  }
}
