package dev.bbdiy.core;

import org.jspecify.annotations.Nullable;

/**
 * The outcome of {@link MaintenanceClient#checkCredentials()}: the credentials were accepted, and what global
 * permission Bitbucket lists for the user.
 *
 * @param user the user name
 * @param permission the highest global permission granted directly to the user ({@code SYS_ADMIN}, {@code
 *     ADMIN}...), or {@code null} if none is listed (it may come from a group)
 */
public record CredentialCheck(String user, @Nullable String permission) {
  /** Returns whether the user is known to hold SYS_ADMIN, the permission the lock needs. */
  public boolean sysAdmin() {
    return "SYS_ADMIN".equals(permission);
  }
}
