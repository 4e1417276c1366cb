/** Implementation of bbdiy-core. No compatibility guarantees: do not depend on anything here. */
@NullMarked
package dev.bbdiy.core.internal;

import org.jspecify.annotations.NullMarked;
