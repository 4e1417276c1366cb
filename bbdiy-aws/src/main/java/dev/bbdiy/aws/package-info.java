/**
 * AWS providers: {@code amazon-ebs} and {@code amazon-rds} snapshots (started while Bitbucket is locked, waited for
 * after), and the {@code s3} archiver. Every client uses the SDK's default credential chain, an explicit region,
 * the JDK's HTTP client and the SDK's standard retry policy with a bounded total time.
 */
@NullMarked
package dev.bbdiy.aws;

import org.jspecify.annotations.NullMarked;
