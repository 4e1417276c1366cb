package dev.bbdiy.mesh.internal;

import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.spi.CancellationSignal;
import dev.bbdiy.api.spi.ProgressReporter;
import dev.bbdiy.api.spi.ProviderContext;
import dev.bbdiy.api.spi.RunContext;
import dev.bbdiy.api.spi.Settings;
import dev.bbdiy.kit.PrivateFiles;
import dev.bbdiy.kit.Reasons;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/** The contexts the node's home provider runs with, and the node's cancellation (its input ending). */
final class NodeContexts {
  private NodeContexts() {}

  /** Progress reported as protocol lines, read by the coordinator as its own progress. */
  static ProgressReporter reporter(Frames.Out out) {
    return new ProgressReporter() {
      @Override
      public void message(String message) {
        write("progress", message);
      }

      @Override
      public void progress(String message, long done, long total, String unit) {
        write("progress", message + (done >= 0 ? " " + done + (total >= 0 ? "/" + total : "") + " " + unit : ""));
      }

      @Override
      public void warning(String message) {
        write("warning", message);
      }

      private void write(String kind, String message) {
        try {
          out.writeObject(Map.of(kind, message));
        } catch (IOException ignored) {
          // the session is gone; the input's end cancels the run
        }
      }
    };
  }

  /** The node provider's context. */
  record Provider(Settings settings, BitbucketInstance instance, Path workDir, String name, String toolVersion)
      implements ProviderContext {
    @Override
    public Path stateDirectory() {
      Path dir = workDir.resolve(".bbdiy").resolve("providers").resolve(name);
      try {
        return PrivateFiles.createPrivateDirectories(dir);
      } catch (IOException e) {
        throw BbdiyException.provider("mesh", "cannot create " + dir + ": " + Reasons.of(e), e);
      }
    }

    RunContext run(Phase phase, BackupId id, CancellationSignal cancellation, Frames.Out out) {
      ProgressReporter progress = reporter(out);
      Path work = workDir;
      return new RunContext() {
        @Override
        public BackupId backupId() {
          return id;
        }

        @Override
        public Phase phase() {
          return phase;
        }

        @Override
        public Path workDir() {
          return work;
        }

        @Override
        public ProgressReporter progress() {
          return progress;
        }

        @Override
        public CancellationSignal cancellation() {
          return cancellation;
        }

        @Override
        public boolean archiveCompresses() {
          return true;
        }
      };
    }
  }
}
