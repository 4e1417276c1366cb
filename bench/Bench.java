import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BackupResult;
import dev.bbdiy.api.BackupSummary;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.InstanceType;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.spi.BackupContent;
import dev.bbdiy.api.spi.CaptureHandle;
import dev.bbdiy.api.spi.ExtractionPlan;
import dev.bbdiy.api.spi.HomeSnapshotter;
import dev.bbdiy.api.spi.HomeSnapshotterProvider;
import dev.bbdiy.api.spi.Secret;
import dev.bbdiy.core.BackupEngine;
import dev.bbdiy.core.MaintenanceClient;
import dev.bbdiy.core.ProviderRegistry;
import dev.bbdiy.archive.Compression;
import dev.bbdiy.archive.TarFormat;
import dev.bbdiy.simulator.BitbucketHomes;
import dev.bbdiy.simulator.FakeBitbucketServer;
import dev.bbdiy.testkit.TestContexts;
import dev.bbdiy.simulator.Trees;
import java.io.BufferedInputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

/**
 * bbdiy's benchmarks, run from the shell scripts next to this file with the shaded jar on the class path:
 * {@code java -cp bbdiy-cli/target/bbdiy-cli.jar bench/Bench.java <command> ...}. Each prints one line of
 * {@code key=value} pairs the scripts turn into ratios against the baselines they measure in the same run.
 */
public final class Bench {
  public static void main(String[] args) throws Exception {
    switch (args[0]) {
      case "generate-git-home" -> generateGitHome(Path.of(args[1]), Integer.parseInt(args[2]));
      case "generate-many-files" -> generateManyFiles(Path.of(args[1]), Integer.parseInt(args[2]),
          Integer.parseInt(args[3]));
      case "generate-objects" -> generateObjects(Path.of(args[1]), Integer.parseInt(args[2]));
      case "change-objects" -> System.out.println("changed=" + changeObjects(Path.of(args[1]),
          Double.parseDouble(args[2])));
      case "archive" -> archive(Path.of(args[1]), Path.of(args[2]), Compression.parse(args[3]),
          Integer.parseInt(args[4]));
      case "extract" -> extract(Path.of(args[1]), Path.of(args[2]), Path.of(args[3]));
      case "verify" -> verify(Path.of(args[1]), Path.of(args[2]));
      case "home" -> home(args[1], Path.of(args[2]), Path.of(args[3]), Double.parseDouble(args[4]),
          settings(java.util.Arrays.copyOfRange(args, 5, args.length)));
      case "pg" -> pg(args[1], args[2], Path.of(args[3]));
      case "mysql" -> mysql(args[1], args[2], Path.of(args[3]));
      case "restore-pg" -> restorePg(args[1], Path.of(args[2]), Path.of(args[3]), args[4]);
      case "lock-window" -> lockWindow(args[1], Path.of(args[2]), Path.of(args[3]), Double.parseDouble(args[4]));
      default -> throw new IllegalArgumentException("unknown command " + args[0]);
    }
  }

  /** A home of about {@code megabytes} MB: real git repositories (packs and loose objects), attachments, plugins. */
  static void generateGitHome(Path home, int megabytes) throws Exception {
    int repos = Math.max(4, megabytes / 25);
    int blob = 64 * 1024;
    int filesPerCommit = 20;
    int commits = Math.max(2, (int) ((megabytes * 0.8 * 1024 * 1024) / repos / filesPerCommit / blob));
    BitbucketHomes.generate(home, BitbucketHomes.spec().repositories(repos).commitsPerRepository(commits)
        .filesPerCommit(filesPerCommit).blobSize(blob).attachments(200, (int) (megabytes * 0.15 * 1024 * 1024 / 200))
        .plugins(20, (int) (megabytes * 0.05 * 1024 * 1024 / 20)).useGit(true));
    System.out.println("bytes=" + Trees.size(home) + " files=" + countFiles(home));
  }

  /** A home with many files: git repositories plus {@code files} attachments of random sizes averaging {@code kb}. */
  static void generateManyFiles(Path home, int files, int kb) throws Exception {
    BitbucketHomes.generate(home, BitbucketHomes.spec().repositories(10).commitsPerRepository(3).filesPerCommit(20)
        .blobSize(32 * 1024).attachments(0, 0).plugins(5, 1 << 20).useGit(true));
    Random random = new Random(7);
    byte[] buf = new byte[kb * 2048];
    for (int i = 0; i < files; i++) {
      Path f = home.resolve(String.format(Locale.ROOT, "shared/data/attachments/%03d/%06d.bin", i % 500, i));
      Files.createDirectories(f.getParent());
      random.nextBytes(buf);
      int size = random.nextInt(buf.length);
      try (OutputStream out = Files.newOutputStream(f)) {
        out.write(buf, 0, size);
      }
    }
    System.out.println("bytes=" + Trees.size(home) + " files=" + countFiles(home));
  }

  /**
   * A home of {@code files} small files laid out as loose git objects ({@code repositories/<r>/objects/<xx>/<38
   * hex>}, about 10,000 per repository, 540 bytes on average, incompressible like zlib data): the shape that makes
   * millions of files in a Bitbucket home.
   */
  static void generateObjects(Path home, int files) throws Exception {
    Random random = new Random(3);
    byte[] buf = new byte[1080];
    int repos = Math.max(1, files / 10_000);
    java.util.HexFormat hex = java.util.HexFormat.of();
    byte[] name = new byte[19];
    java.util.Set<Path> dirs = new java.util.HashSet<>();
    for (int i = 0; i < files; i++) {
      random.nextBytes(name);
      String h = hex.formatHex(name);
      Path dir = home.resolve("shared/data/repositories/" + (i % repos) + "/objects/" + h.substring(0, 2));
      if (dirs.add(dir)) {
        Files.createDirectories(dir);
      }
      random.nextBytes(buf);
      int size = 16 + random.nextInt(buf.length - 16);
      try (var ch = java.nio.channels.FileChannel.open(dir.resolve(h.substring(2) + "00"),
          StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        ch.write(java.nio.ByteBuffer.wrap(buf, 0, size));
      }
    }
    System.out.println("files=" + files + " repositories=" + repos + " directories=" + dirs.size());
  }

  /** Rewrites {@code fraction} of the objects in place, adds as many new ones and deletes a tenth as many. */
  static int changeObjects(Path home, double fraction) throws Exception {
    List<Path> files;
    try (Stream<Path> s = Files.walk(home.resolve("shared/data/repositories"))) {
      files = s.filter(Files::isRegularFile).toList();
    }
    Random random = new Random(13);
    int n = (int) Math.max(1, files.size() * fraction);
    byte[] buf = new byte[1080];
    for (int i = 0; i < n; i++) {
      Path f = files.get(random.nextInt(files.size()));
      random.nextBytes(buf);
      if (i % 10 == 0) {
        Files.deleteIfExists(f);
      } else if (i % 2 == 0) {
        Files.write(f.resolveSibling(f.getFileName() + "-new" + i), java.util.Arrays.copyOf(buf, 100 + i % 900));
      } else if (Files.exists(f)) {
        Files.write(f, java.util.Arrays.copyOf(buf, 100 + i % 900));
      }
    }
    return n;
  }

  static long countFiles(Path root) throws Exception {
    try (Stream<Path> s = Files.walk(root)) {
      return s.filter(Files::isRegularFile).count();
    }
  }

  /** Archives {@code work} (which holds bitbucket-home) the way the tar archiver does. */
  static void archive(Path work, Path out, Compression compression, int level) throws Exception {
    BackupId id = new BackupId("bench-20000101-000000"); // the id that extract and verify expect
    BackupSummary summary = new BackupSummary(1, id, "bench", "bench", InstanceType.BITBUCKET, null, null,
        Instant.now(), Instant.now(), false, List.of(new Artifact("copy", Artifact.Kind.HOME,
        List.of(BackupLayout.HOME), Map.of())), Map.of(), Map.of(), null, null, 0, 0);
    long start = System.nanoTime();
    Files.deleteIfExists(out);
    TarFormat.Written w = new TarFormat(compression, level, 0).write(
        Files.newOutputStream(out, StandardOpenOption.CREATE_NEW), new BackupContent(work,
            List.of(BackupLayout.HOME), summary), work.resolve(".bbdiy/tmp"),
        TestContexts.run(work, Phase.ARCHIVE));
    double secs = (System.nanoTime() - start) / 1e9;
    System.out.printf(Locale.ROOT, "seconds=%.3f size=%d content=%d heap_max_mb=%d%n", secs, w.size(),
        w.summary().bytes(), Runtime.getRuntime().maxMemory() >> 20);
  }

  /** Extracts and verifies an archive into {@code target}. */
  static void extract(Path archive, Path target, Path work) throws Exception {
    long start = System.nanoTime();
    var result = TarFormat.extract(new BackupId("bench-20000101-000000"),
        new BufferedInputStream(Files.newInputStream(archive), 1 << 20),
        ExtractionPlan.builder().map(BackupLayout.HOME, target).build(), work.resolve(".bbdiy/tmp"),
        TestContexts.run(work, Phase.EXTRACT));
    double secs = (System.nanoTime() - start) / 1e9;
    System.out.printf(Locale.ROOT, "seconds=%.3f files=%d verified=%s%n", secs, result.files(), result.verified());
  }

  /** Verifies an archive against its manifest (what {@code bbdiy verify} does for a tar archive). */
  static void verify(Path archive, Path work) throws Exception {
    long start = System.nanoTime();
    var result = TarFormat.verify(new BackupId("bench-20000101-000000"),
        new BufferedInputStream(Files.newInputStream(archive), 1 << 20), work.resolve(".bbdiy/tmp"),
        TestContexts.run(work, Phase.VERIFY));
    double secs = (System.nanoTime() - start) / 1e9;
    System.out.printf(Locale.ROOT, "seconds=%.3f files=%d ok=%s problems=%s%n", secs, result.entries(), result.ok(),
        result.problems());
  }

  /** Parses {@code key=value} arguments into a provider's configuration. */
  static Map<String, String> settings(String[] args) {
    Map<String, String> out = new java.util.HashMap<>();
    for (String a : args) {
      int eq = a.indexOf('=');
      out.put(a.substring(0, eq), a.substring(eq + 1));
    }
    return out;
  }

  /**
   * A home provider's live pass, then about {@code changeFraction} of the files changed (the attachments, or the
   * loose objects of a home made by generate-objects), then the pass while Bitbucket would be locked; prints both
   * durations and the differences left between the home and the copy.
   */
  static void home(String provider, Path home, Path work, double changeFraction, Map<String, String> settings)
      throws Exception {
    HomeSnapshotterProvider p = ProviderRegistry.load().home(provider);
    BitbucketInstance instance = BitbucketInstance.of("bench", home);
    HomeSnapshotter s = p.create(TestContexts.providerContext(p, settings, instance, work));
    var ctx = TestContexts.run(work, Phase.PREFLIGHT);
    s.preflight(ctx);
    long t0 = System.nanoTime();
    s.prepare(ctx.in(Phase.PREPARE));
    double prepare = (System.nanoTime() - t0) / 1e9;
    boolean objects = !Files.isDirectory(home.resolve("shared/data/attachments"));
    int changed = objects ? changeObjects(home, changeFraction) : change(home, changeFraction);
    long t1 = System.nanoTime();
    CaptureHandle h = s.capture(ctx.in(Phase.CAPTURE));
    double capture = (System.nanoTime() - t1) / 1e9;
    s.complete(ctx.in(Phase.COMPLETE), h);
    // A home of loose objects has nothing excluded; its million paths are compared by diff, not in this heap
    // (capped to show bbdiy's memory stays constant; Trees indexes both trees in memory).
    int diffs = objects ? diffLines(home, work.resolve(BackupLayout.HOME))
        : Trees.differences(home, work.resolve(BackupLayout.HOME), rel -> rel.startsWith("caches")
        || rel.startsWith("log") || rel.startsWith("tmp") || rel.equals(".lock") || rel.startsWith("data/db.")
        || rel.startsWith("shared/data/db.") || rel.startsWith("search/data") || rel.startsWith("shared/search/data")
        || rel.startsWith("export") || rel.startsWith("shared/export") || rel.startsWith("plugins/.")
        || rel.equals("shared/.lock")).size();
    System.out.printf(Locale.ROOT, "prepare=%.3f capture=%.3f changed=%d differences=%d%n", prepare, capture, changed,
        diffs);
  }

  /** The lines {@code diff -rq --no-dereference} prints for two trees: 0 when they are the same. */
  static int diffLines(Path a, Path b) throws Exception {
    Process p = new ProcessBuilder("diff", "-rq", "--no-dereference", a.toString(), b.toString())
        .redirectErrorStream(true).start();
    int lines = 0;
    try (var r = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(),
        java.nio.charset.StandardCharsets.UTF_8))) {
      while (r.readLine() != null) {
        lines++;
      }
    }
    p.waitFor();
    return lines;
  }

  /** Rewrites, adds and deletes about {@code fraction} of the attachments, deterministically. */
  static int change(Path home, double fraction) throws Exception {
    List<Path> files;
    try (Stream<Path> s = Files.walk(home.resolve("shared/data/attachments"))) {
      files = s.filter(Files::isRegularFile).sorted().toList();
    }
    Random random = new Random(11);
    int n = (int) Math.max(1, files.size() * fraction);
    byte[] buf = new byte[8192];
    List<Path> touched = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Path f = files.get(random.nextInt(files.size()));
      if (touched.contains(f)) {
        continue;
      }
      touched.add(f);
      switch (i % 10) {
        case 0 -> Files.delete(f);
        case 1 -> {
          random.nextBytes(buf);
          Files.write(f.resolveSibling(f.getFileName() + ".new"), buf);
        }
        default -> {
          random.nextBytes(buf);
          Files.write(f, buf);
        }
      }
    }
    return touched.size();
  }

  /**
   * A backup of {@code home} and {@code database} (copy, postgresql, tar) against the simulator, then its restore
   * into an empty directory and the new database {@code target}; prints the restore's time and phases.
   */
  static void restorePg(String database, Path home, Path base, String target) throws Exception {
    try (FakeBitbucketServer bitbucket = FakeBitbucketServer.builder().drainTime(Duration.ofMillis(100)).start()) {
      ProviderRegistry registry = ProviderRegistry.load();
      java.util.function.Supplier<BackupEngine> engine = () -> BackupEngine.builder()
          .instance(BitbucketInstance.of("bench", home))
          .workDir(base.resolve("work"))
          .bitbucket(MaintenanceClient.builder(bitbucket.url()).credentials("admin", Secret.of("admin"))
              .pollInterval(Duration.ofMillis(20)).build())
          .home(registry.home("copy"))
          .database(registry.database("postgresql"))
          .archiver(registry.archiver("tar"))
          .configuration(Map.of("postgresql.host", "127.0.0.1", "postgresql.user", "postgres",
              "postgresql.database", database, "tar.dir", base.resolve("archives").toString()))
          .build();
      BackupResult b = engine.get().backup();
      long start = System.nanoTime();
      dev.bbdiy.api.RestoreResult r = engine.get().restore(dev.bbdiy.core.RestoreRequest.builder(b.id())
          .targetHome(base.resolve("restored")).targetDatabase(target).build());
      double secs = (System.nanoTime() - start) / 1e9;
      System.out.printf(Locale.ROOT, "restore=%.3f extract=%.3f restore_database=%.3f restore_home=%.3f files=%d"
          + " archive=%s%n", secs, seconds(r.phases().get(Phase.EXTRACT)), seconds(r.phases().get(
          Phase.RESTORE_DATABASE)), seconds(r.phases().get(Phase.RESTORE_HOME)), r.files(),
          base.resolve("archives").resolve(b.id() + ".tar.zst"));
    }
  }

  static double seconds(@org.jspecify.annotations.Nullable Duration d) {
    return d == null ? 0 : d.toNanos() / 1e9;
  }

  /** A full backup against the simulator; prints the lock window as the simulator measured it. */
  static void pg(String database, String mode, Path base) throws Exception {
    Path home = base.resolve("home");
    if (!Files.exists(home)) {
      BitbucketHomes.generate(home, BitbucketHomes.spec().repositories(2).useGit(false));
    }
    try (FakeBitbucketServer bitbucket = FakeBitbucketServer.builder().drainTime(Duration.ofMillis(100)).start()) {
      ProviderRegistry registry = ProviderRegistry.load();
      BackupEngine engine = BackupEngine.builder()
          .instance(BitbucketInstance.of("bench", home))
          .workDir(base.resolve("work-" + mode))
          .bitbucket(MaintenanceClient.builder(bitbucket.url()).credentials("admin", Secret.of("admin"))
              .pollInterval(Duration.ofMillis(20)).build())
          .home(registry.home("copy"))
          .database(registry.database("postgresql"))
          .archiver(registry.archiver("tar"))
          .configuration(Map.of("postgresql.host", "127.0.0.1", "postgresql.user", "postgres",
              "postgresql.database", database, "postgresql.mode", mode, "postgresql.count-rows", "false",
              "tar.dir", base.resolve("archives-" + mode).toString()))
          .build();
      BackupResult r = engine.backup();
      System.out.printf(Locale.ROOT, "lock_phase=%.3f capture=%.3f unlock=%.3f ", r.phases().get(Phase.LOCK).toNanos() / 1e9, r.phases().get(Phase.CAPTURE).toNanos() / 1e9, r.phases().get(Phase.UNLOCK).toNanos() / 1e9);
      System.out.printf(Locale.ROOT, "lock_window=%.3f server_lock_window=%.3f drained=%.3f complete=%.3f%n",
          r.lockWindow().toNanos() / 1e9, bitbucket.lastLockWindow().orElseThrow().toNanos() / 1e9,
          r.drainedWindow().toNanos() / 1e9, r.phases().get(Phase.COMPLETE).toNanos() / 1e9);
    }
  }

  /** A backup through the mysql provider of the machine's MariaDB (root on 127.0.0.1) in {@code mode}. */
  static void mysql(String database, String mode, Path base) throws Exception {
    Path home = base.resolve("home");
    if (!Files.exists(home)) {
      BitbucketHomes.generate(home, BitbucketHomes.spec().repositories(2).useGit(false));
    }
    try (FakeBitbucketServer bitbucket = FakeBitbucketServer.builder().drainTime(Duration.ofMillis(100)).start()) {
      ProviderRegistry registry = ProviderRegistry.load();
      BackupEngine engine = BackupEngine.builder()
          .instance(BitbucketInstance.of("bench", home))
          .workDir(base.resolve("work-" + mode))
          .bitbucket(MaintenanceClient.builder(bitbucket.url()).credentials("admin", Secret.of("admin"))
              .pollInterval(Duration.ofMillis(20)).build())
          .home(registry.home("copy"))
          .database(registry.database("mysql"))
          .archiver(registry.archiver("tar"))
          .configuration(Map.of("mysql.host", "127.0.0.1", "mysql.user", "root", "mysql.database", database,
              "mysql.mode", mode, "tar.dir", base.resolve("archives-" + mode).toString()))
          .build();
      BackupResult r = engine.backup();
      System.out.printf(Locale.ROOT, "lock_window=%.3f server_lock_window=%.3f capture=%.3f complete=%.3f%n",
          r.lockWindow().toNanos() / 1e9, bitbucket.lastLockWindow().orElseThrow().toNanos() / 1e9,
          r.phases().get(Phase.CAPTURE).toNanos() / 1e9, r.phases().get(Phase.COMPLETE).toNanos() / 1e9);
    }
  }

  /**
   * A whole home-only backup with {@code provider} (tar archiver, zstd level 1) against the simulator, with about
   * {@code changeFraction} of the attachments changed after the live pass, just before the lock; prints the lock
   * window the simulator measured (lock granted to unlock), the part of it after the drain, and the wall time.
   */
  static void lockWindow(String provider, Path home, Path base, double changeFraction) throws Exception {
    try (FakeBitbucketServer bitbucket = FakeBitbucketServer.builder().drainTime(Duration.ofMillis(100)).start()) {
      ProviderRegistry registry = ProviderRegistry.load();
      int[] changed = {0};
      BackupEngine engine = BackupEngine.builder()
          .instance(BitbucketInstance.of("bench", home))
          .workDir(base.resolve("work-" + provider))
          .bitbucket(MaintenanceClient.builder(bitbucket.url()).credentials("admin", Secret.of("admin"))
              .pollInterval(Duration.ofMillis(20)).build())
          .home(registry.home(provider))
          .database(null)
          .archiver(registry.archiver("tar"))
          .configuration(Map.of("tar.dir", base.resolve("archives-" + provider).toString(), "tar.level", "1"))
          .listener(e -> {
            if (e instanceof dev.bbdiy.api.BackupEvent.PhaseStarted p && p.phase() == Phase.LOCK) {
              try {
                changed[0] = change(home, changeFraction);
              } catch (Exception ex) {
                throw new IllegalStateException(ex);
              }
            }
          })
          .build();
      long start = System.nanoTime();
      BackupResult r = engine.backup();
      double wall = (System.nanoTime() - start) / 1e9;
      Instant drained = bitbucket.events(FakeBitbucketServer.EventType.DRAINED).get(0).at();
      Instant unlocked = bitbucket.events(FakeBitbucketServer.EventType.UNLOCKED).get(0).at();
      System.out.printf(Locale.ROOT, "server_lock_window=%.4f after_drain=%.4f capture=%.4f wall=%.3f complete=%.3f"
          + " archive=%.3f changed=%d files=%d%n", bitbucket.lastLockWindow().orElseThrow().toNanos() / 1e9,
          Duration.between(drained, unlocked).toNanos() / 1e9, r.phases().get(Phase.CAPTURE).toNanos() / 1e9, wall,
          seconds(r.phases().get(Phase.COMPLETE)), seconds(r.phases().get(Phase.ARCHIVE)), changed[0],
          r.summary().files());
    }
  }
}
