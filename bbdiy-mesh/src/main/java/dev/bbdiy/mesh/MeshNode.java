package dev.bbdiy.mesh;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.HomeSnapshotterProvider;
import dev.bbdiy.mesh.internal.Frames;
import dev.bbdiy.mesh.internal.NodeServer;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.function.Function;

/**
 * The node's side of the mesh protocol, what {@code bbdiy node} runs: it reads requests from the coordinator on
 * its standard input and answers on its standard output (see {@code docs/mesh-protocol.md}), running the node's
 * own home provider. When its input ends (the coordinator or its ssh session died) it aborts what it took and
 * returns.
 */
public final class MeshNode {
  private final Function<String, HomeSnapshotterProvider> providers;
  private final String toolVersion;

  /**
   * Creates a node server.
   *
   * @param providers finds a home provider by name, throwing {@link BbdiyException} with {@link
   *     ErrorCode#CONFIGURATION} when none has it
   * @param toolVersion the bbdiy version, reported in {@code hello}
   */
  public MeshNode(Function<String, HomeSnapshotterProvider> providers, String toolVersion) {
    this.providers = providers;
    this.toolVersion = toolVersion;
  }

  /**
   * Serves one coordinator until {@code bye} or the end of {@code in}.
   *
   * @return 0 after {@code bye}, 3 when the input ended before it (the run was aborted)
   */
  public int serve(InputStream in, OutputStream out) {
    return new NodeServer(providers, toolVersion, new Frames.In(in), new Frames.Out(out)).serve();
  }
}
