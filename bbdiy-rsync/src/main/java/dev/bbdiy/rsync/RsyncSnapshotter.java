package dev.bbdiy.rsync;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.spi.CaptureHandle;
import dev.bbdiy.api.spi.HomeSnapshotter;
import dev.bbdiy.api.spi.RestoreContext;
import dev.bbdiy.api.spi.RestoreOutcome;
import dev.bbdiy.api.spi.RunContext;
import dev.bbdiy.kit.ChildProcess;
import dev.bbdiy.kit.HomeTree;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/** One run of the {@code rsync} provider. */
final class RsyncSnapshotter implements HomeSnapshotter {
  private static final Pattern VERSION = Pattern.compile("version\\s+(\\d+)\\.(\\d+)\\.(\\d+)");
  private static final Pattern PERCENT = Pattern.compile("\\s(\\d{1,3})%\\s");
  private static final int VANISHED = 24;

  private final BitbucketInstance instance;
  private final Path workDir;
  /** The provider's private directory: exclude lists, the racily written files to re-check. */
  private final java.util.function.Supplier<Path> stateDirectory;
  private final String binary;
  private final List<String> options;
  private static final long RACY_MAX_SIZE = 1 << 20;
  private static final Duration RACY_WINDOW = Duration.ofSeconds(2);

  private final Map<String, String> stats = new TreeMap<>();
  private boolean progress2;
  private boolean nanoseconds;
  private @Nullable Instant prepareStart;

  RsyncSnapshotter(BitbucketInstance instance, Path workDir, java.util.function.Supplier<Path> stateDirectory,
      String binary, List<String> options) {
    this.instance = instance;
    this.workDir = workDir;
    this.stateDirectory = stateDirectory;
    this.binary = binary;
    this.options = options;
  }

  @Override
  public void preflight(RunContext ctx) {
    ChildProcess.Result version = ChildProcess.builder(binary, "--version").cancellation(ctx.cancellation())
        .name("rsync").build().run();
    String first = version.stdoutTail().isEmpty() ? "" : version.stdoutTail().get(0);
    for (String line : version.stdoutTail()) {
      if (line.contains("version")) {
        first = line;
        break;
      }
    }
    Matcher m = VERSION.matcher(first);
    if (!version.succeeded() || !m.find()) {
      throw BbdiyException.configuration("Cannot run '" + binary + " --version' (" + first + "): install rsync"
          + " (apt-get install rsync) or set rsync.binary");
    }
    int major = Integer.parseInt(m.group(1));
    int minor = Integer.parseInt(m.group(2));
    if (major < 3) {
      throw BbdiyException.configuration("rsync " + m.group() + " is too old: bbdiy needs rsync 3.0 or later");
    }
    int patch = Integer.parseInt(m.group(3));
    progress2 = major > 3 || minor >= 1;
    nanoseconds = major > 3 || minor > 1 || minor == 1 && patch >= 3;
    if (!nanoseconds) {
      ctx.progress().warning("rsync " + m.group() + " compares times to the second only (3.1.3 adds nanoseconds):"
          + " a file rewritten with the same size within a second of being copied may be missed; upgrade rsync");
    }
    HomeTree.checkCopyInto(instance, workDir, ctx.progress());
  }

  @Override
  public void prepare(RunContext ctx) {
    prepareStart = Instant.now();
    for (HomeTree job : HomeTree.of(instance)) {
      sync(job, ctx, "prepare");
      writeRacyList(job, prepareStart);
    }
  }

  @Override
  public CaptureHandle capture(RunContext ctx) {
    for (HomeTree job : HomeTree.of(instance)) {
      sync(job, ctx, "capture");
      if (prepareStart != null) {
        recheckRacy(job, ctx);
      }
    }
    return CaptureHandle.NONE;
  }

  /**
   * Lists the small files the live pass copied that were written shortly before or while it ran. rsync skips
   * files whose size and time match; a file rewritten within one timestamp tick of being copied (git refs are
   * always 41 bytes) looks unchanged, so the locked pass compares these few by content. Runs before the lock.
   */
  private void writeRacyList(HomeTree job, Instant since) {
    Path target = workDir.resolve(job.layoutPath());
    long threshold = since.minus(RACY_WINDOW).toEpochMilli();
    Path list = racyList(job);
    try {
      Files.createDirectories(list.getParent());
    } catch (IOException e) {
      throw BbdiyException.provider("rsync", "cannot create " + list.getParent() + ": " + e.getMessage(), e);
    }
    Path base = target.toAbsolutePath().normalize();
    byte[] prefix = rawName(base);
    try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(list))) {
      Files.walkFileTree(base, new SimpleFileVisitor<>() {
        @Override
        public FileVisitResult visitFile(Path file, BasicFileAttributes a) throws IOException {
          if (a.isRegularFile() && a.size() <= RACY_MAX_SIZE && a.lastModifiedTime().toMillis() >= threshold) {
            // The name's bytes as the file system holds them: a String would merge x-\xff and x-\xfe.
            byte[] name = rawName(file);
            out.write(name, prefix.length + 1, name.length - prefix.length - 1);
            out.write(0);
          }
          return FileVisitResult.CONTINUE;
        }
      });
    } catch (IOException e) {
      throw BbdiyException.provider("rsync", "cannot list recently written files of " + target + ": "
          + e.getMessage(), e);
    }
  }

  /**
   * Returns the bytes of an absolute path as the file system holds them. {@link Path#toString()} decodes them with
   * the JVM's file-name charset and replaces what does not decode (every non-ASCII byte when the JVM runs without a
   * locale); a {@code file:} URI escapes each raw byte instead.
   */
  static byte[] rawName(Path absolute) {
    String uri = absolute.toUri().getRawPath();
    ByteArrayOutputStream out = new ByteArrayOutputStream(uri.length());
    for (int i = 0; i < uri.length(); i++) {
      char c = uri.charAt(i);
      if (c == '%') {
        out.write(HexFormat.fromHexDigits(uri, i + 1, i + 3));
        i += 2;
      } else {
        out.write(c);
      }
    }
    byte[] bytes = out.toByteArray();
    int end = bytes.length;
    while (end > 1 && bytes[end - 1] == '/') {
      end--; // toUri() marks directories with a trailing slash
    }
    return end == bytes.length ? bytes : Arrays.copyOf(bytes, end);
  }

  /**
   * Returns {@code path} as a command-line argument, after checking that the argument reaches rsync as the path's
   * own bytes. The JVM encodes arguments with its locale's charset: a path it cannot express (a name that is not
   * valid in the locale) would make rsync copy from, or into, another directory than the one meant.
   */
  static String argument(Path path) {
    Path absolute = path.toAbsolutePath().normalize();
    String s = absolute.toString();
    byte[] raw = rawName(absolute);
    for (Charset cs : argumentCharsets()) {
      if (!Arrays.equals(raw, s.getBytes(cs))) {
        throw BbdiyException.configuration("The path " + s + " cannot be passed to rsync as it is named in the file"
            + " system: the JVM's locale (" + cs + ") cannot express it. Run bbdiy with a UTF-8 locale"
            + " (LANG=C.UTF-8) or use a path with ASCII names");
      }
    }
    return s;
  }

  /** The charsets a JDK may encode process arguments with: the default one (up to 18) or the file-name one. */
  private static List<Charset> argumentCharsets() {
    List<Charset> out = new ArrayList<>(List.of(Charset.defaultCharset()));
    String jnu = System.getProperty("sun.jnu.encoding");
    if (jnu != null && Charset.isSupported(jnu)) {
      out.add(Charset.forName(jnu));
    }
    return out;
  }

  private Path racyList(HomeTree job) {
    return stateDirectory.get().resolve("recent-" + job.layoutPath().replace('/', '_') + ".lst");
  }

  private void recheckRacy(HomeTree job, RunContext ctx) {
    Path list = racyList(job);
    try {
      if (!Files.exists(list) || Files.size(list) == 0) {
        return;
      }
      List<String> cmd = new ArrayList<>(List.of(binary, "-a", "--checksum", "--ignore-missing-args", "--from0",
          "--files-from=" + argument(list)));
      cmd.add(withSlash(argument(job.source())));
      cmd.add(withSlash(argument(workDir.resolve(job.layoutPath()))));
      ChildProcess.Result r = ChildProcess.builder(cmd).name("rsync").cancellation(ctx.cancellation()).build().run();
      if (r.exitCode() != VANISHED) {
        r.orThrow("rsync", "content check of the " + job.label() + "'s recently written files");
      }
    } catch (IOException e) {
      throw BbdiyException.provider("rsync", "cannot read " + list + ": " + e.getMessage(), e);
    } finally {
      try {
        Files.deleteIfExists(list);
      } catch (IOException ignored) {
        // harmless
      }
    }
  }

  private void sync(HomeTree job, RunContext ctx, String phase) {
    Path target = workDir.resolve(job.layoutPath());
    Path excludeFile = null;
    try {
      Files.createDirectories(target);
      Path stateDir = stateDirectory.get();
      excludeFile = Files.createTempFile(stateDir, "rsync-excludes-", ".txt");
      Files.write(excludeFile, job.excludes(), StandardCharsets.UTF_8);
      List<String> cmd = new ArrayList<>(List.of(binary, "-a", "--delete", "--delete-excluded", "--stats",
          "--exclude-from=" + argument(excludeFile)));
      if (progress2) {
        cmd.add("--info=progress2");
        cmd.add("--no-inc-recursive");
      }
      if (nanoseconds) {
        cmd.add("--modify-window=-1");
      }
      cmd.addAll(options);
      // A trailing slash copies the directory's contents, which anchored excludes need: normalise it here.
      cmd.add(withSlash(argument(job.source())));
      cmd.add(withSlash(argument(target)));
      Instant start = Instant.now();
      List<String> output = new ArrayList<>();
      ChildProcess.Result r = ChildProcess.builder(cmd).name("rsync").cancellation(ctx.cancellation())
          .stdout(line -> {
            Matcher pct = PERCENT.matcher(" " + line + " ");
            if (line.contains("xfr#") || line.contains("to-chk") || line.contains("ir-chk")) {
              if (pct.find()) {
                ctx.progress().progress("rsync " + job.label(), Long.parseLong(pct.group(1)), 100, "percent");
              }
            } else {
              synchronized (output) {
                output.add(line);
              }
            }
          })
          .build().run();
      if (r.exitCode() == VANISHED) {
        ctx.progress().warning("files of the " + job.label() + " vanished while rsync copied them (exit 24);"
            + (phase.equals("capture") ? " something still writes while Bitbucket is locked" : " expected while"
                + " Bitbucket is live, the locked pass copies the final state"));
      } else {
        r.orThrow("rsync", phase + " of the " + job.label() + " (" + job.source() + ")");
      }
      Duration took = Duration.between(start, Instant.now());
      Map<String, String> parsed = parseStats(output);
      String key = phase + (job.layoutPath().equals(BackupLayout.HOME) ? "" : "." + job.layoutPath());
      parsed.forEach((k, v) -> stats.put(key + "." + k, v));
      stats.put(key + ".millis", Long.toString(took.toMillis()));
      ctx.progress().message(phase + " " + job.label() + ": " + parsed.getOrDefault("files", "?") + " entries, "
          + parsed.getOrDefault("transferred-files", "?") + " files ("
          + parsed.getOrDefault("transferred-bytes", "?") + " bytes) copied in " + took.toMillis() + " ms");
    } catch (IOException e) {
      throw BbdiyException.provider("rsync", "cannot prepare the " + job.label() + " copy into " + target + ": "
          + e.getMessage(), e);
    } finally {
      if (excludeFile != null) {
        try {
          Files.deleteIfExists(excludeFile);
        } catch (IOException ignored) {
          // a stale exclude list is harmless
        }
      }
    }
  }

  private static String withSlash(String s) {
    return s.endsWith("/") ? s : s + "/";
  }

  /** Reads the numbers of rsync's {@code --stats} summary. */
  static Map<String, String> parseStats(List<String> lines) {
    Map<String, String> out = new LinkedHashMap<>();
    for (String line : lines) {
      String l = line.trim();
      put(out, l, "Number of files:", "files");
      put(out, l, "Number of created files:", "created-files");
      put(out, l, "Number of deleted files:", "deleted-files");
      put(out, l, "Number of regular files transferred:", "transferred-files");
      put(out, l, "Total file size:", "total-bytes");
      put(out, l, "Total transferred file size:", "transferred-bytes");
    }
    return out;
  }

  private static void put(Map<String, String> out, String line, String label, String key) {
    if (line.startsWith(label)) {
      Matcher m = Pattern.compile("([\\d,.]+)").matcher(line.substring(label.length()));
      if (m.find()) {
        out.put(key, m.group(1).replace(",", "").replace(".", ""));
      }
    }
  }

  @Override
  public Artifact complete(RunContext ctx, CaptureHandle capture) {
    List<String> paths = new ArrayList<>();
    for (HomeTree job : HomeTree.of(instance)) {
      paths.add(job.layoutPath());
    }
    return new Artifact("rsync", Artifact.Kind.HOME, paths, stats);
  }

  @Override
  public RestoreOutcome restore(RestoreContext ctx) {
    // The engine extracts the files into the empty targets; nothing is left to do.
    return RestoreOutcome.home(String.valueOf(ctx.targetHome()));
  }
}
