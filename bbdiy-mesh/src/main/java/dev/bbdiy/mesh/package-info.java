/**
 * The {@code mesh} home provider: backs up a Bitbucket Data Center instance's shared home and every Bitbucket
 * Mesh node's home in one lock window, talking to {@code bbdiy node} on each node over OpenSSH. {@link
 * MeshNode} is the node's side of the protocol.
 */
@NullMarked
package dev.bbdiy.mesh;

import org.jspecify.annotations.NullMarked;
