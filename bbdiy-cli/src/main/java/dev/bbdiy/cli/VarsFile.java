package dev.bbdiy.cli;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
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
 * their scripts do, and hands back every variable it set. Those bbdiy supports become configuration keys; the
 * others are reported, not ignored.
 *
 * <p>The file runs without standard input and for at most {@link #TIME_LIMIT}; whatever it started is killed when
 * it ends. What it prints is shown (as the error when it fails, as a warning otherwise) with every secret it
 * defines hidden: the values of variables that map to secret settings and of every {@code *PASS*}, {@code
 * *SECRET*}, {@code *TOKEN*}... variable.
 */
final class VarsFile {
  /** How long sourcing may take. */
  static final Duration TIME_LIMIT = Duration.ofMinutes(1);
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
   * @param secretKey whether a configuration key is a secret setting (its value is then hidden in what is shown)
   */
  static Mapped load(Path file, Predicate<String> secretKey) {
    return load(file, TIME_LIMIT, secretKey);
  }

  static Mapped load(Path file, Duration limit, Predicate<String> secretKey) {
    Sourced sourced = source(file, limit);
    Mapped mapped = null;
    BbdiyException mappingFailure = null;
    try {
      mapped = map(sourced.variables());
    } catch (BbdiyException e) {
      mappingFailure = e;
    }
    Set<String> secretVariables = new LinkedHashSet<>();
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
      throw mappingFailure;
    }
    Mapped m = Objects.requireNonNull(mapped);
    for (Map.Entry<String, String> e : m.configuration().entrySet()) {
      if (secretKey.test(e.getKey()) && e.getValue().isEmpty()) {
        String variable = m.origins().getOrDefault(e.getKey(), e.getKey());
        throw BbdiyException.configuration(variable + " is empty in the vars file " + file + " (" + e.getKey()
            + "): set it, or remove it and set " + e.getKey() + ".file=<path> in the configuration file; bbdiy"
            + " never tries an empty password.");
      }
    }
    List<String> warnings = new ArrayList<>(m.warnings());
    if (!sourced.output().isBlank()) {
      warnings.add(shown("the vars file " + file + " printed (secrets hidden)", redaction.redact(sourced.output()))
          .strip());
    }
    checkPrivate(file, secretValues, warnings);
    return new Mapped(m.configuration(), warnings, m.origins());
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

  /** Returns every variable {@code file} sets, arrays as lists, and what it printed. */
  static Sourced source(Path file, Duration limit) {
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
      pb.environment().keySet().removeIf(k -> !Set.of("PATH", "HOME", "USER", "LANG", "LC_ALL", "TZ").contains(k));
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

  /** Maps Atlassian's variables onto bbdiy's keys. */
  static Mapped map(Map<String, List<String>> vars) {
    Map<String, String> c = new LinkedHashMap<>();
    List<String> warnings = new ArrayList<>();
    List<String> unsupported = new ArrayList<>();
    Map<String, String> origins = new LinkedHashMap<>();
    for (Map.Entry<String, List<String>> e : vars.entrySet()) {
      String name = e.getKey();
      String value = e.getValue().isEmpty() ? "" : e.getValue().get(0);
      String list = String.join(",", e.getValue());
      Map<String, String> before = new HashMap<>(c);
      mapOne(vars, name, value, list, e.getValue().size(), c, warnings, unsupported);
      c.forEach((key, v) -> {
        if (!v.equals(before.get(key))) {
          origins.put(key, name);
        }
      });
    }
    if (!unsupported.isEmpty()) {
      warnings.add("variables of the vars file bbdiy does not support, not used: " + String.join(", ", unsupported));
    }
    if ("tar".equals(c.get("archive.type")) && !c.containsKey("tar.dir") && c.containsKey("work.dir")) {
      warnings.add("BITBUCKET_BACKUP_ARCHIVE_ROOT is not set: archives go to " + c.get("work.dir") + "/archives");
      c.put("tar.dir", c.get("work.dir").replaceAll("/+$", "") + "/archives");
    }
    return new Mapped(c, warnings, origins);
  }

  private static void mapOne(Map<String, List<String>> vars, String name, String value, String list, int items,
      Map<String, String> c, List<String> warnings, List<String> unsupported) {
    switch (name) {
      case "BITBUCKET_URL":
        c.put("bitbucket.url", value);
        break;
      case "BITBUCKET_BACKUP_USER":
        c.put("bitbucket.user", value);
        break;
      case "BITBUCKET_BACKUP_PASS":
        c.put("bitbucket.password", value);
        break;
      case "INSTANCE_NAME":
        c.put("instance.name", value);
        break;
      case "INSTANCE_TYPE":
        c.put("instance.type", value);
        break;
      case "BITBUCKET_HOME":
        c.put("instance.home", value);
        break;
      case "BITBUCKET_DATA_STORES":
        putIfNotEmpty(c, "instance.data-stores", list);
        break;
      case "BITBUCKET_BACKUP_EXCLUDE_REPOS":
        putIfNotEmpty(c, "instance.exclude-repositories", list);
        break;
      case "BITBUCKET_UID":
        putIfNotEmpty(c, "instance.owner-user", value);
        break;
      case "BITBUCKET_GID":
        putIfNotEmpty(c, "instance.owner-group", value);
        break;
      case "BACKUP_DISK_TYPE":
        c.put("home.type", strategy(name, value, Map.of("rsync", "rsync", "amazon-ebs", "amazon-ebs", "none", "none",
            "", "none")));
        break;
      case "BACKUP_DATABASE_TYPE":
        c.put("database.type", strategy(name, value, Map.of("postgresql", "postgresql", "amazon-rds", "amazon-rds",
            "none", "none", "", "none")));
        break;
      case "BACKUP_ARCHIVE_TYPE":
        archive(value, c, warnings);
        break;
      case "BACKUP_ZERO_DOWNTIME":
        c.put("bitbucket.zero-downtime", value.isEmpty() ? "false" : value);
        break;
      case "BITBUCKET_DB":
        c.put("postgresql.database", value);
        break;
      case "POSTGRES_HOST":
        c.put("postgresql.host", value);
        break;
      case "POSTGRES_PORT":
        c.put("postgresql.port", value);
        break;
      case "POSTGRES_USERNAME":
        c.put("postgresql.user", value);
        break;
      case "POSTGRES_PASSWORD":
        putIfNotEmpty(c, "postgresql.password", value);
        break;
      case "PGPASSWORD":
        if (!vars.containsKey("POSTGRES_PASSWORD") || vars.get("POSTGRES_PASSWORD").get(0).isEmpty()) {
          putIfNotEmpty(c, "postgresql.password", value);
        }
        break;
      case "BITBUCKET_BACKUP_ROOT":
        c.put("work.dir", value);
        break;
      case "BITBUCKET_BACKUP_ARCHIVE_ROOT":
        c.put("tar.dir", value);
        break;
      case "KEEP_BACKUPS":
        c.put("retention.keep", value.isEmpty() ? "0" : value);
        break;
      case "BITBUCKET_VERBOSE_BACKUP":
        c.put("output.verbose", value.isEmpty() ? "false" : value);
        break;
      case "BITBUCKET_RESTORE_ROOT":
        warnings.add("BITBUCKET_RESTORE_ROOT is not needed: bbdiy extracts straight into the restore targets");
        break;
      case "CURL_OPTIONS":
        warnings.add("CURL_OPTIONS is ignored: bbdiy does not run curl; for a private CA set"
            + " bitbucket.ca-certificates (certificate checks cannot be turned off)");
        break;
      case "BACKUP_ELASTICSEARCH_TYPE":
        if (!value.isEmpty()) {
          warnings.add("BACKUP_ELASTICSEARCH_TYPE=" + value + " is not supported: bbdiy does not back up the"
              + " search index; Bitbucket rebuilds it after a restore");
        }
        break;
      // AWS, for the bbdiy-aws providers
      case "EBS_VOLUME_MOUNT_POINT_AND_DEVICE_NAMES":
        putIfNotEmpty(c, "amazon-ebs.volumes", list);
        break;
      case "AWS_REGION":
        putIfNotEmpty(c, "amazon-ebs.region", value);
        putIfNotEmpty(c, "amazon-rds.region", value);
        break;
      case "RDS_INSTANCE_ID":
        putIfNotEmpty(c, "amazon-rds.instance-id", value);
        break;
      case "IS_AURORA":
        putIfNotEmpty(c, "amazon-rds.aurora", value);
        break;
      case "BACKUP_DEST_REGION":
        putIfNotEmpty(c, "amazon-ebs.copy-region", value);
        putIfNotEmpty(c, "amazon-rds.copy-region", value);
        break;
      case "BACKUP_DEST_AWS_ACCOUNT_ID":
        putIfNotEmpty(c, "amazon-ebs.copy-account", value);
        putIfNotEmpty(c, "amazon-rds.copy-account", value);
        break;
      case "BACKUP_DEST_AWS_ROLE":
        putIfNotEmpty(c, "amazon-ebs.copy-role", value);
        putIfNotEmpty(c, "amazon-rds.copy-role", value);
        break;
      case "AWS_ADDITIONAL_TAGS":
        putIfNotEmpty(c, "amazon-ebs.tags", list);
        putIfNotEmpty(c, "amazon-rds.tags", list);
        break;
      case "RESTORE_RDS_INSTANCE_CLASS":
        putIfNotEmpty(c, "amazon-rds.restore-instance-class", value);
        break;
      case "RESTORE_RDS_SUBNET_GROUP_NAME":
        putIfNotEmpty(c, "amazon-rds.restore-subnet-group", value);
        break;
      case "RESTORE_RDS_SECURITY_GROUP":
        putIfNotEmpty(c, "amazon-rds.restore-security-groups", list);
        break;
      case "RESTORE_DISK_VOLUME_TYPE":
        putIfNotEmpty(c, "amazon-ebs.restore-volume-type", value);
        break;
      case "RESTORE_DISK_IOPS":
        putIfNotEmpty(c, "amazon-ebs.restore-iops", value);
        break;
      default:
        if (name.startsWith("HIPCHAT_")) {
          if (!value.isEmpty()) {
            warnings.add(name + " is not supported: HipChat no longer exists; set notify.webhook (Slack incoming"
                + " webhooks work)");
          }
        } else if (!value.isEmpty() || items > 1) {
          unsupported.add(name);
        }
    }
  }

  private static String strategy(String var, String value, Map<String, String> supported) {
    String v = value.trim().toLowerCase(Locale.ROOT);
    String mapped = supported.get(v);
    if (mapped == null) {
      throw BbdiyException.configuration(var + "=" + value + " is not supported by bbdiy. Supported: "
          + String.join(", ", new java.util.TreeSet<>(supported.keySet())).replaceFirst("^, ", "")
          + ". The built-in copy provider (home.type=copy) needs no external tool.");
    }
    return mapped;
  }

  private static void archive(String value, Map<String, String> c, List<String> warnings) {
    switch (value.trim().toLowerCase(Locale.ROOT)) {
      case "tar":
        c.put("archive.type", "tar");
        c.put("tar.compression", "gzip"); // what Atlassian's restore script reads
        break;
      case "aws-snapshots":
        c.put("archive.type", "tar");
        warnings.add("BACKUP_ARCHIVE_TYPE=aws-snapshots: snapshots are copied with the amazon-ebs/amazon-rds"
            + " copy-* settings; the manifest of each backup is kept as a small tar.zst");
        break;
      case "":
        c.put("archive.type", "tar");
        warnings.add("BACKUP_ARCHIVE_TYPE is empty: Atlassian's scripts then keep only the working copy; bbdiy"
            + " always stores a verified archive (tar.zst)");
        break;
      default:
        throw BbdiyException.configuration("BACKUP_ARCHIVE_TYPE=" + value + " is not supported by bbdiy: use tar"
            + " (or leave it empty). gpg-zip: encrypt the archive directory at rest instead.");
    }
  }

  private static void putIfNotEmpty(Map<String, String> c, String key, String value) {
    if (!value.isBlank()) {
      c.put(key, value);
    }
  }
}
