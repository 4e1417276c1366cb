package dev.bbdiy.api;

import java.util.Locale;

/** What kind of Bitbucket node the home directory belongs to. */
public enum InstanceType {
  /** Bitbucket Server or Data Center: a database, a home, optional data stores. */
  BITBUCKET,
  /** A Bitbucket Mesh node: a home only; the Data Center instance it serves is the one locked. */
  MESH;

  /**
   * Parses the value of Atlassian's {@code INSTANCE_TYPE}: {@code bitbucket-mesh} is {@link #MESH}; {@code
   * bitbucket-dc}, {@code bitbucket}, {@code bitbucket-server} and blank are {@link #BITBUCKET}.
   */
  public static InstanceType parse(String value) {
    switch (value.trim().toLowerCase(Locale.ROOT)) {
      case "":
      case "bitbucket":
      case "bitbucket-dc":
      case "bitbucket-server":
      case "bitbucket-datacenter":
        return BITBUCKET;
      case "bitbucket-mesh":
      case "mesh":
        return MESH;
      default:
        throw BbdiyException.configuration(
            "Unknown instance type '" + value + "': use bitbucket-dc or bitbucket-mesh");
    }
  }
}
