package dev.bbdiy.cli;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.core.ProviderRegistry;
import dev.bbdiy.core.Version;
import dev.bbdiy.mesh.MeshNode;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

/**
 * {@code bbdiy node}: the Mesh node's side of a {@code mesh} backup, started by the coordinator over ssh. It
 * speaks the mesh protocol on its standard input and output (docs/mesh-protocol.md), not for humans.
 */
@Command(name = "node", mixinStandardHelpOptions = true, description = {"Serves a mesh backup's coordinator on standard input and output (started"
    + " by the mesh home provider over ssh; not for interactive use).",
    "Ends, aborting what it took, when its input ends."})
final class NodeCommand implements Callable<Integer> {
  @ParentCommand Main main;

  @Override
  public Integer call() {
    ProviderRegistry registry = ProviderRegistry.load();
    MeshNode node = new MeshNode(name -> {
      try {
        return registry.home(name);
      } catch (BbdiyException e) {
        throw e;
      } catch (RuntimeException e) {
        throw new BbdiyException(ErrorCode.CONFIGURATION, "home provider '" + name + "' on this node: "
            + e.getMessage());
      }
    }, Version.current());
    // The protocol owns the process's real standard streams; humans' output would corrupt it.
    return node.serve(new FileInputStream(FileDescriptor.in), new FileOutputStream(FileDescriptor.out));
  }
}
