package dev.bbdiy.testkit;

import org.jspecify.annotations.Nullable;
import dev.bbdiy.simulator.FakeBitbucketServer;

import java.util.function.UnaryOperator;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Starts a {@link FakeBitbucketServer} before each test and fails the test if it ends with Bitbucket locked or a
 * backup task still running.
 *
 * <pre>{@code
 * @RegisterExtension
 * final FakeBitbucketExtension bitbucket = FakeBitbucketExtension.create();
 *
 * @Test
 * void backs_up() {
 *   var client = MaintenanceClient.builder(bitbucket.url())...
 * }
 * }</pre>
 */
public final class FakeBitbucketExtension implements BeforeEachCallback, AfterEachCallback {
  private final UnaryOperator<FakeBitbucketServer.Builder> configure;
  private @Nullable FakeBitbucketServer server;
  private boolean allowLocked;

  private FakeBitbucketExtension(UnaryOperator<FakeBitbucketServer.Builder> configure) {
    this.configure = configure;
  }

  /** Returns an extension whose simulator has the defaults. */
  public static FakeBitbucketExtension create() {
    return new FakeBitbucketExtension(b -> b);
  }

  /** Returns an extension whose simulator {@code configure} sets up. */
  public static FakeBitbucketExtension create(UnaryOperator<FakeBitbucketServer.Builder> configure) {
    return new FakeBitbucketExtension(configure);
  }

  /** Returns the running simulator. */
  public FakeBitbucketServer server() {
    if (server == null) {
      throw new IllegalStateException("The simulator runs only during a test");
    }
    return server;
  }

  /** Returns the simulator's base URL. */
  public String url() {
    return server().url();
  }

  /**
   * Lets the current test end with Bitbucket locked, for tests that prove a lock is left when it must be (a
   * killed process before recovery). The simulator is still stopped.
   */
  public void allowLockedAtEnd() {
    this.allowLocked = true;
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    allowLocked = false;
    server = configure.apply(FakeBitbucketServer.builder()).start();
  }

  @Override
  public void afterEach(ExtensionContext context) {
    FakeBitbucketServer started = server;
    if (started == null) {
      return;
    }
    try {
      if (!allowLocked && context.getExecutionException().isEmpty()) {
        started.assertNotLocked();
      }
    } finally {
      started.close();
      server = null;
    }
  }
}
