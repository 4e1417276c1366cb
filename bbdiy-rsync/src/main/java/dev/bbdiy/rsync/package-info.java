/**
 * The {@code rsync} home snapshotter: Atlassian's rsync strategy, with the right exclude list for each kind of
 * home, a live pass before the lock and a delta pass while Bitbucket is locked.
 */
@NullMarked
package dev.bbdiy.rsync;

import org.jspecify.annotations.NullMarked;
