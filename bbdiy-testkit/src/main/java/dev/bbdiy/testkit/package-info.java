/**
 * Test support for bbdiy and for authors of providers: {@link dev.bbdiy.simulator.FakeBitbucketServer}, a stateful
 * simulator of Bitbucket's maintenance API; {@link dev.bbdiy.testkit.StallingProxy}, which makes any of its calls
 * hang; {@link dev.bbdiy.simulator.BitbucketHomes}, generators of homes that look like Bitbucket's; in-memory
 * providers; and abstract contract tests every provider should pass.
 *
 * <p>JUnit Jupiter and AssertJ are optional dependencies of this module: the contract tests and the JUnit
 * extension need them on the test class path, the simulator and the generators do not.
 */
@NullMarked
package dev.bbdiy.testkit;

import org.jspecify.annotations.NullMarked;
