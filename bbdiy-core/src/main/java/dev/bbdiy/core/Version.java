package dev.bbdiy.core;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** The version of bbdiy, from the build. */
public final class Version {
  private static final String VERSION = load();

  private Version() {}

  /** Returns the version, e.g. {@code 0.1.0}, or {@code dev} when run from an IDE without a build. */
  public static String current() {
    return VERSION;
  }

  private static String load() {
    try (InputStream in = Version.class.getResourceAsStream("version.properties")) {
      if (in == null) {
        return "dev";
      }
      Properties p = new Properties();
      p.load(in);
      return p.getProperty("version", "dev");
    } catch (IOException e) {
      return "dev";
    }
  }
}
