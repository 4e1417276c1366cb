/**
 * A stateful simulator of Bitbucket's maintenance REST API, and generators of Bitbucket-like homes with real git
 * repositories: what {@code bbdiy simulate} and {@code bbdiy demo} run, and what tests run against.
 */
@NullMarked
package dev.bbdiy.simulator;

import org.jspecify.annotations.NullMarked;
