/** Implementation of the mesh provider and its protocol. No compatibility guarantees. */
@NullMarked
package dev.bbdiy.mesh.internal;

import org.jspecify.annotations.NullMarked;
