package dev.bbdiy.mesh.internal;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.spi.HomeSnapshotter;
import dev.bbdiy.api.spi.RestoreContext;
import dev.bbdiy.api.spi.RestoreOutcome;

/** Restores a mesh backup: the shared home through its provider; the nodes' parts are not restored yet. */
final class MeshRestore {
  private MeshRestore() {}

  static RestoreOutcome restore(RestoreContext ctx, MeshConfig config, HomeSnapshotter inner) {
    if (!ctx.artifact().provider().equals("mesh")) {
      throw BbdiyException.configuration("not a mesh artifact");
    }
    return inner.restore(ctx);
  }
}
