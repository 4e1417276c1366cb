package dev.bbdiy.cli;

import dev.bbdiy.api.BbdiyException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * Reads Atlassian's {@code bitbucket.diy-backup.vars.sh} the way their scripts do: it is bash, so bash sources it
 * (its {@code case} and {@code if} blocks, arrays and command substitutions included) and hands back every
 * variable it set. Those bbdiy supports become configuration keys; the others are reported, not ignored.
 */
final class VarsFile {
  /** Prints, NUL-separated, the variables the file set: S name value, or A name count item... */
  private static final String DUMP = String.join("\n",
      "__bbdiy_before=\" $(compgen -v | tr '\\n' ' ') \"",
      "source \"$1\" 1>&2",
      "for __bbdiy_v in $(compgen -v); do",
      "  case \"$__bbdiy_before\" in *\" $__bbdiy_v \"*) continue;; esac",
      "  case \"$__bbdiy_v\" in __bbdiy_*|PIPESTATUS|BASH_*|COMP_*|_) continue;; esac",
      "  if [[ \"$(declare -p \"$__bbdiy_v\" 2>/dev/null)\" == 'declare -a'* ]]; then",
      "    eval \"__bbdiy_n=\\${#${__bbdiy_v}[@]}\"",
      "    printf 'A\\0%s\\0%s\\0' \"$__bbdiy_v\" \"$__bbdiy_n\" >> \"$2\"",
      "    eval 'for __bbdiy_e in \"${'\"$__bbdiy_v\"'[@]}\"; do printf \"%s\\0\" \"$__bbdiy_e\" >> \"$2\"; done'",
      "  elif [[ \"$(declare -p \"$__bbdiy_v\" 2>/dev/null)\" != 'declare -A'* ]]; then",
      "    printf 'S\\0%s\\0%s\\0' \"$__bbdiy_v\" \"${!__bbdiy_v}\" >> \"$2\"",
      "  fi",
      "done", "");

  /** What the variables became. */
  record Mapped(Map<String, String> configuration, List<String> warnings) {}

  private VarsFile() {}

  /** Sources {@code file} with bash and maps what it sets. */
  static Mapped load(Path file) {
    return map(source(file));
  }

  /** Returns every variable {@code file} sets, arrays as lists. */
  static Map<String, List<String>> source(Path file) {
    if (!Files.isRegularFile(file)) {
      throw BbdiyException.configuration("The vars file " + file + " does not exist");
    }
    Path out = null;
    try {
      out = Files.createTempFile("bbdiy-vars-", ".bin");
      ProcessBuilder pb = new ProcessBuilder("bash", "-c", DUMP, "bbdiy-vars", file.toAbsolutePath().toString(),
          out.toString()).redirectErrorStream(true);
      pb.environment().keySet().removeIf(k -> !Set.of("PATH", "HOME", "USER", "LANG", "LC_ALL", "TZ").contains(k));
      Process p = pb.start();
      String noise = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw BbdiyException.configuration("Sourcing " + file + " with bash did not finish within a minute");
      }
      if (p.exitValue() != 0 || noise.contains("syntax error") || noise.contains("unexpected end of file")) {
        throw BbdiyException.configuration("bash could not source " + file + " (exit " + p.exitValue() + "): "
            + noise.trim());
      }
      return parse(Files.readAllBytes(out));
    } catch (IOException e) {
      throw BbdiyException.configuration("Cannot read the vars file " + file + " with bash (is bash installed?): "
          + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw BbdiyException.configuration("Interrupted while reading " + file);
    } finally {
      if (out != null) {
        try {
          Files.deleteIfExists(out);
        } catch (IOException ignored) {
          // a temp file holding what the user's own file holds
        }
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
    return vars;
  }

  /** Maps Atlassian's variables onto bbdiy's keys. */
  static Mapped map(Map<String, List<String>> vars) {
    Map<String, String> c = new LinkedHashMap<>();
    List<String> warnings = new ArrayList<>();
    List<String> unsupported = new ArrayList<>();
    for (Map.Entry<String, List<String>> e : vars.entrySet()) {
      String name = e.getKey();
      String value = e.getValue().isEmpty() ? "" : e.getValue().get(0);
      String list = String.join(",", e.getValue());
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
          } else if (!value.isEmpty() || e.getValue().size() > 1) {
            unsupported.add(name);
          }
      }
    }
    if (!unsupported.isEmpty()) {
      warnings.add("variables of the vars file bbdiy does not support, not used: " + String.join(", ", unsupported));
    }
    if ("tar".equals(c.get("archive.type")) && !c.containsKey("tar.dir") && c.containsKey("work.dir")) {
      warnings.add("BITBUCKET_BACKUP_ARCHIVE_ROOT is not set: archives go to " + c.get("work.dir") + "/archives");
      c.put("tar.dir", c.get("work.dir").replaceAll("/+$", "") + "/archives");
    }
    return new Mapped(c, warnings);
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
