package dev.bbdiy.core;

/**
 * What {@code GET /rest/api/1.0/application-properties} reports.
 *
 * @param version e.g. {@code 8.19.1}
 * @param buildNumber e.g. {@code 8019001}
 * @param displayName {@code Bitbucket}
 */
public record ApplicationProperties(String version, String buildNumber, String displayName) {

  /** Returns whether the version is at least {@code major.minor}; unparseable versions are not. */
  public boolean isAtLeast(int major, int minor) {
    String[] parts = version.split("[.-]");
    try {
      int ma = Integer.parseInt(parts[0]);
      int mi = parts.length > 1 ? Integer.parseInt(parts[1]) : 0;
      return ma > major || (ma == major && mi >= minor);
    } catch (NumberFormatException e) {
      return false;
    }
  }
}
