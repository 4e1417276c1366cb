import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.spi.Archiver;
import dev.bbdiy.api.spi.ArchiverProvider;
import dev.bbdiy.api.spi.BackupContent;
import dev.bbdiy.api.spi.ExtractionPlan;
import dev.bbdiy.testkit.TestContexts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.ServiceLoader;
import java.util.stream.Stream;

/**
 * The measurements of {@code bench/restic.sh} on a generated home in {@code <dir>/work}: backup 1 with the tar and
 * the restic archiver and with restic alone, then about 1 % of the files changed, backup 2 with each, then a
 * restore of backup 2 with each archiver. Prints one RESULT line per figure.
 */
public class ResticBench {
  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    Path work = dir.resolve("work");
    Path password = dir.resolve("password");
    Files.writeString(password, "bench\n");
    Map<String, String> resticConfig = Map.of("restic.repository", dir.resolve("repo").toString(),
        "restic.password-file", password.toString(), "restic.init", "true");
    Archiver tar = archiver("tar", Map.of("tar.dir", dir.resolve("tar").toString()), work);
    if ("encryption".equals(System.getenv("BENCH_ONLY"))) {
      encryption(tar, dir, work, args[1]);
      return;
    }
    Archiver restic = archiver("restic", resticConfig, work);
    Path raw = dir.resolve("raw-repo");
    run(raw, password, work, "init");

    long homeBytes = size(work.resolve(BackupLayout.HOME));
    double tar1 = store(tar, work, "20260101-000000");
    double restic1 = store(restic, work, "20260101-000000");
    double raw1 = raw(raw, password, work);
    long repoAfter1 = size(dir.resolve("repo"));
    result("backup1.tar.seconds", tar1);
    result("backup1.restic.seconds", restic1);
    result("backup1.restic-alone.seconds", raw1);

    long changed = change(work.resolve(BackupLayout.HOME), 0.01);
    result("home.bytes", homeBytes);
    result("changed.bytes", changed);

    double tar2 = store(tar, work, "20260102-000000");
    double restic2 = store(restic, work, "20260102-000000");
    double publish2 = lastPublish;
    double raw2 = raw(raw, password, work);
    long added = size(dir.resolve("repo")) - repoAfter1;
    result("backup2.tar.seconds", tar2);
    result("backup2.restic.seconds", restic2);
    result("backup2.restic-alone.seconds", raw2);
    result("backup2.restic.added-bytes", added);
    result("ratio.added-of-home", (double) added / homeBytes);
    result("ratio.backup2.restic-over-tar", restic2 / tar2);
    result("ratio.backup2.restic-over-restic-alone", restic2 / raw2);
    result("backup2.restic.publish.seconds", publish2);
    result("ratio.backup2.restic-with-publish-over-restic-alone", (restic2 + publish2) / raw2);

    BackupId id = new BackupId("bitbucket-20260102-000000");
    double tarRestore = extract(tar, id, dir.resolve("x-tar"), work);
    double resticRestore = extract(restic, id, dir.resolve("x-restic"), work);
    result("restore.tar.seconds", tarRestore);
    result("restore.restic.seconds", resticRestore);
    result("ratio.restore.restic-over-tar", resticRestore / tarRestore);
    double verify = verify(restic, id, work);
    result("verify.restic.seconds", verify);

    if (args.length > 1) {
      encryption(tar, dir, work, args[1]);
    }
  }

  /**
   * The tar archiver with and without OpenPGP encryption, on the same content, alternating, best of {@code
   * BENCH_ROUNDS} (default 2).
   */
  static void encryption(Archiver tar, Path dir, Path work, String publicKey) {
    Archiver encrypted = archiver("tar", Map.of("tar.dir", dir.resolve("tar-gpg").toString(),
        "tar.encrypt-to", publicKey), work);
    int rounds = Integer.parseInt(System.getenv().getOrDefault("BENCH_ROUNDS", "2"));
    double plain = Double.MAX_VALUE;
    double gpg = Double.MAX_VALUE;
    double plainCpu = Double.MAX_VALUE;
    double gpgCpu = Double.MAX_VALUE;
    for (int i = 0; i < rounds; i++) {
      String day = String.format(Locale.ROOT, "202602%02d-000000", i + 1);
      double cpu = cpuSeconds();
      plain = Math.min(plain, store(tar, work, day));
      plainCpu = Math.min(plainCpu, cpuSeconds() - cpu);
      cpu = cpuSeconds();
      gpg = Math.min(gpg, store(encrypted, work, day));
      gpgCpu = Math.min(gpgCpu, cpuSeconds() - cpu);
    }
    result("tar.plain.seconds", plain);
    result("tar.encrypted.seconds", gpg);
    result("ratio.tar.encrypted-over-plain", gpg / plain);
    // CPU time of the whole JVM (every thread): what the wall time becomes on a machine whose cores are all busy.
    result("tar.plain.cpu-seconds", plainCpu);
    result("tar.encrypted.cpu-seconds", gpgCpu);
    result("ratio.tar.encrypted-over-plain.cpu", gpgCpu / plainCpu);
  }

  static double cpuSeconds() {
    return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
        .getOperatingSystemMXBean()).getProcessCpuTime() / 1e9;
  }

  static Archiver archiver(String name, Map<String, String> config, Path work) {
    for (ArchiverProvider p : ServiceLoader.load(ArchiverProvider.class)) {
      if (p.name().equals(name)) {
        return p.create(TestContexts.providerContext(p, config, BitbucketInstance.of("bitbucket", work), work));
      }
    }
    throw new IllegalStateException("no archiver " + name);
  }

  /** The seconds the last {@link #store}'s publication ({@code commit}) took. */
  static double lastPublish;

  /**
   * Stores and publishes a backup of the home; returns the seconds the archive phase took (store only), and leaves
   * those of the publication in {@link #lastPublish}.
   */
  static double store(Archiver archiver, Path work, String timestamp) {
    BackupId id = new BackupId("bitbucket-" + timestamp);
    long t = System.nanoTime();
    archiver.store(new BackupContent(work, List.of(BackupLayout.HOME), TestContexts.summary(id)),
        TestContexts.run(work, Phase.ARCHIVE));
    double s = (System.nanoTime() - t) / 1e9;
    long p = System.nanoTime();
    archiver.commit(id);
    lastPublish = (System.nanoTime() - p) / 1e9;
    return s;
  }

  static double extract(Archiver archiver, BackupId id, Path target, Path work) {
    long t = System.nanoTime();
    archiver.extract(id, ExtractionPlan.builder().map(BackupLayout.HOME, target).build(),
        TestContexts.run(work, Phase.EXTRACT));
    return (System.nanoTime() - t) / 1e9;
  }

  static double verify(Archiver archiver, BackupId id, Path work) {
    long t = System.nanoTime();
    if (!archiver.verify(id, TestContexts.run(work, Phase.VERIFY)).ok()) {
      throw new IllegalStateException("verification failed");
    }
    return (System.nanoTime() - t) / 1e9;
  }

  /** restic backup of the same tree, run directly, as an administrator would. */
  static double raw(Path repo, Path password, Path work) throws Exception {
    long t = System.nanoTime();
    run(repo, password, work, "backup", "--json", BackupLayout.HOME);
    return (System.nanoTime() - t) / 1e9;
  }

  static void run(Path repo, Path password, Path work, String... args) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(Stream.concat(Stream.of("restic"), Stream.of(args)).toList())
        .directory(work.toFile()).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
    pb.environment().put("RESTIC_REPOSITORY", repo.toString());
    pb.environment().put("RESTIC_PASSWORD_FILE", password.toString());
    if (pb.start().waitFor() != 0) {
      throw new IllegalStateException("restic " + String.join(" ", args) + " failed");
    }
  }

  /**
   * Changes about {@code fraction} of the files: small ones rewritten, large ones (packs, logs) appended to, and
   * as many new small files added as a tenth of the changed ones. Returns the bytes written.
   */
  static long change(Path home, double fraction) throws IOException {
    List<Path> files;
    try (Stream<Path> s = Files.walk(home)) {
      files = s.filter(Files::isRegularFile).sorted().toList();
    }
    Random random = new Random(42);
    int n = (int) Math.max(1, files.size() * fraction);
    long written = 0;
    for (int i = 0; i < n; i++) {
      Path f = files.get(random.nextInt(files.size()));
      long size = Files.size(f);
      if (size < 256 * 1024) {
        byte[] b = new byte[(int) Math.max(64, size)];
        random.nextBytes(b);
        Files.write(f, b);
        written += b.length;
      } else {
        byte[] b = new byte[4096];
        random.nextBytes(b);
        Files.write(f, b, StandardOpenOption.APPEND);
        written += b.length;
      }
      if (i % 10 == 0) {
        byte[] b = new byte[16 * 1024];
        random.nextBytes(b);
        Files.write(f.resolveSibling(String.format(Locale.ROOT, "new-%05d.bin", i)), b);
        written += b.length;
      }
    }
    System.out.println("changed " + n + " of " + files.size() + " files");
    return written;
  }

  static long size(Path root) throws IOException {
    try (Stream<Path> s = Files.walk(root)) {
      return s.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
    }
  }

  static void result(String name, double value) {
    System.out.println("RESULT " + name + "=" + (value == Math.rint(value) && Math.abs(value) > 100
        ? String.format(Locale.ROOT, "%d", (long) value) : String.format(Locale.ROOT, "%.3f", value)));
  }
}
