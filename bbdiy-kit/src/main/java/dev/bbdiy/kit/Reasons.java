package dev.bbdiy.kit;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;

/**
 * Says why an I/O operation failed. The JDK's file exceptions often carry only the path as their message
 * ("/proc/nope"), which is the least useful part: the reason (permission denied, no such file, no space left on
 * device) is the point.
 */
public final class Reasons {
  private Reasons() {}

  /** Returns the reason of {@code e}: "permission denied", "no such file or directory", the OS's text. */
  public static String of(IOException e) {
    if (e instanceof AccessDeniedException) {
      return "permission denied";
    }
    if (e instanceof NoSuchFileException) {
      return "no such file or directory";
    }
    if (e instanceof java.nio.file.FileAlreadyExistsException) {
      return "it already exists";
    }
    if (e instanceof java.nio.file.NotDirectoryException) {
      return "not a directory";
    }
    if (e instanceof FileSystemException) {
      FileSystemException f = (FileSystemException) e;
      return f.getReason() == null ? e.getClass().getSimpleName() : f.getReason();
    }
    return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
  }
}
