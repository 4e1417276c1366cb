package dev.bbdiy.rsync;

import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.InstanceType;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.spi.CaptureHandle;
import dev.bbdiy.api.spi.HomeSnapshotter;
import dev.bbdiy.testkit.TestContexts;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Runs the rsync provider in a JVM started without any locale (as cron, systemd and {@code env -i} start it):
 * {@code sun.jnu.encoding} is then ASCII. Arguments: home, data store, work directory.
 */
public final class NoLocaleBackup {
  private NoLocaleBackup() {}

  public static void main(String[] args) {
    Path home = Path.of(args[0]);
    Path store = Path.of(args[1]);
    Path work = Path.of(args[2]);
    RsyncProvider p = new RsyncProvider();
    HomeSnapshotter s = p.create(TestContexts.providerContext(p, Map.of(),
        new BitbucketInstance("bitbucket", InstanceType.BITBUCKET, home, List.of(store), List.of(), -1, -1), work));
    TestContexts.TestRunContext ctx = TestContexts.run(work, Phase.PREFLIGHT);
    s.preflight(ctx);
    s.prepare(ctx.in(Phase.PREPARE));
    OddNames.changeBetweenPasses(home.resolve("shared/data"));
    OddNames.changeBetweenPasses(store);
    CaptureHandle h = s.capture(ctx.in(Phase.CAPTURE));
    s.complete(ctx.in(Phase.COMPLETE), h);
    h.close();
    System.out.println("jnu=" + System.getProperty("sun.jnu.encoding") + " warnings=" + ctx.progress().warnings());
  }
}
