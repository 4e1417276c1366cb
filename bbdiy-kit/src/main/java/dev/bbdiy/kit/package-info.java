/**
 * The provider kit: what every provider needs besides the SPI, with no dependency but JSpecify and the
 * API. See {@code bbdiy-kit}'s README section "Writing a provider".
 */
@NullMarked
package dev.bbdiy.kit;

import org.jspecify.annotations.NullMarked;
